//! The ops generated code calls. Each takes the `const` configs the optimizer chose and passes
//! them straight to the backend: no lookup, no dispatch on config.

use tttv2_core::op::LinearConfig;
use tttv2_core::ttnn::{
    BufferType, ComputeKernelConfig, DataType, LayerNormProgramConfig, Layout, MatmulProgramConfig, MemoryConfig,
    SDPAProgramConfig, TILE_HEIGHT, TILE_WIDTH, UnaryOpType,
};

use crate::bridge::ffi;
use crate::convert;
use crate::error::{Error, Result, backend};
use crate::tensor::Tensor;
use crate::trace::record;

/// `ttnn::linear(x, weight, bias)` with the planned configs. Checks that `x` has the `[.., m, k]`
/// shape the configs were chosen for before calling the backend.
pub fn linear(x: &Tensor, weight: &Tensor, bias: Option<&Tensor>, cfg: &LinearConfig) -> Result<Tensor> {
    let shape = x.shape();
    let rows: u64 = shape[..shape.len().saturating_sub(1)].iter().map(|&d| d as u64).product();
    if shape.len() < 2 || shape[shape.len() - 1] != cfg.k || rows != cfg.m as u64 {
        return Err(Error::Shape {
            op: "linear",
            message: format!("the plan was made for x of [{}, {}] but x is {:?}", cfg.m, cfg.k, shape),
        });
    }
    if bias.is_some() != cfg.bias {
        return Err(Error::Shape {
            op: "linear",
            message: format!("the plan {} a bias", if cfg.bias { "expects" } else { "has no" }),
        });
    }
    match bias {
        Some(b) => record("linear", cfg, &[x, weight, b]),
        None => record("linear", cfg, &[x, weight]),
    }
    let mem = convert::memory_config(&cfg.memory_config);
    let pc = convert::matmul_config(&cfg.program_config);
    let ckc = convert::compute_config(&cfg.compute_kernel_config);
    let dt = convert::data_type(cfg.dtype);
    let out = match bias {
        Some(b) => ffi::linear(&x.inner, &weight.inner, &b.inner, &mem, dt, &pc, &ckc),
        None => ffi::matmul(&x.inner, &weight.inner, &mem, dt, &pc, &ckc),
    }
    .map_err(backend("linear"))?;
    Ok(Tensor { inner: out })
}

/// `ttnn::matmul(a, b)` with explicit configs, for callers outside generated code.
pub fn matmul(
    a: &Tensor,
    b: &Tensor,
    program_config: &MatmulProgramConfig,
    compute_kernel_config: &ComputeKernelConfig,
    memory_config: &MemoryConfig,
    dtype: DataType,
) -> Result<Tensor> {
    let out = ffi::matmul(
        &a.inner,
        &b.inner,
        &convert::memory_config(memory_config),
        convert::data_type(dtype),
        &convert::matmul_config(program_config),
        &convert::compute_config(compute_kernel_config),
    )
    .map_err(backend("matmul"))?;
    Ok(Tensor { inner: out })
}

/// `ttnn::add(a, b)`.
pub fn add(a: &Tensor, b: &Tensor, memory_config: &MemoryConfig, dtype: DataType) -> Result<Tensor> {
    record("add", (memory_config, dtype), &[a, b]);
    let out = ffi::add(&a.inner, &b.inner, &convert::memory_config(memory_config), convert::data_type(dtype))
        .map_err(backend("add"))?;
    Ok(Tensor { inner: out })
}

/// `ttnn::silu(a)`.
pub fn silu(a: &Tensor, memory_config: &MemoryConfig) -> Result<Tensor> {
    let out = ffi::silu(&a.inner, &convert::memory_config(memory_config)).map_err(backend("silu"))?;
    Ok(Tensor { inner: out })
}

/// `ttnn::rms_norm(x, epsilon, weight, program_config, memory_config, compute_kernel_config)`.
/// The program config is checked against `x` as TT-NN checks it (`layernorm_device_operation.cpp`
/// @ 13adda80): a sharded config needs a sharded `x` with `block_w` = K tiles per core and
/// `block_h` = M tiles, the default config an interleaved `x`. The host computes the same
/// normalisation either way; the legacy kernels and Welford's variance are not modelled and are
/// refused rather than ignored.
pub fn rms_norm(
    x: &Tensor,
    epsilon: f32,
    weight: &Tensor,
    program_config: &LayerNormProgramConfig,
    memory_config: &MemoryConfig,
    compute_kernel_config: &ComputeKernelConfig,
) -> Result<Tensor> {
    record("rms_norm", (epsilon, program_config, memory_config, compute_kernel_config), &[x, weight]);
    check_norm_program_config(x, program_config)?;
    let out = ffi::rms_norm(
        &x.inner,
        epsilon,
        &weight.inner,
        &convert::norm_config(program_config),
        &convert::memory_config(memory_config),
        &convert::compute_config(compute_kernel_config),
    )
    .map_err(backend("rms_norm"))?;
    Ok(Tensor { inner: out })
}

fn check_norm_program_config(x: &Tensor, pc: &LayerNormProgramConfig) -> Result<()> {
    let err = |message: String| Err(Error::Shape { op: "rms_norm", message });
    let mc = x.memory_config();
    let shape = x.shape();
    let (rows, width) = (shape[..shape.len() - 1].iter().product::<u32>(), shape[shape.len() - 1]);
    let (mt, kt) = (rows.div_ceil(TILE_HEIGHT), width.div_ceil(TILE_WIDTH));
    let (legacy_reduction, legacy_rsqrt, use_welford) = match pc {
        LayerNormProgramConfig::Default(d) => {
            if mc.is_sharded() {
                return err("a sharded input needs LayerNormShardedMultiCoreProgramConfig".into());
            }
            (d.legacy_reduction, d.legacy_rsqrt, d.use_welford)
        }
        LayerNormProgramConfig::Sharded(s) => {
            let Some(spec) = mc.shard_spec.filter(|_| mc.is_sharded() && mc.buffer_type == BufferType::L1) else {
                return err("LayerNormShardedMultiCoreProgramConfig needs an L1-sharded input".into());
            };
            let cores = spec.grid.num_cores;
            if s.block_h != mt || s.block_w * cores != kt || s.block_w % s.subblock_w.max(1) != 0 {
                return err(format!(
                    "block_h ({}) must equal Mt ({mt}) and block_w ({}) times the {cores} shard cores must equal Kt ({kt}), block_w divisible by subblock_w ({})",
                    s.block_h, s.block_w, s.subblock_w
                ));
            }
            if s.inplace {
                return err("inplace is not supported by tttv2's backends".into());
            }
            (s.legacy_reduction, s.legacy_rsqrt, s.use_welford)
        }
    };
    if legacy_reduction || legacy_rsqrt || use_welford {
        return err(
            "the legacy reduction, legacy rsqrt and Welford variants are not implemented by the host backend".into()
        );
    }
    Ok(())
}

fn wrap(r: std::result::Result<cxx::UniquePtr<ffi::Tensor>, cxx::Exception>, op: &'static str) -> Result<Tensor> {
    r.map(|inner| Tensor { inner }).map_err(backend(op))
}

fn opt_ptr(t: Option<&Tensor>) -> *const ffi::Tensor {
    t.map_or(std::ptr::null(), |t| t.inner.as_ref().map_or(std::ptr::null(), |r| r as *const ffi::Tensor))
}

/// `ttnn::multiply(a, b)` with an optional activation fused on the left operand:
/// `multiply(gate, up, .., Some(UnaryOpType::Silu))` is the SwiGLU gate
/// (`ttnn.mul(w1, w3, input_tensor_a_activations=[SILU])`). `b` broadcasts onto `a`.
pub fn multiply(
    a: &Tensor,
    b: &Tensor,
    memory_config: &MemoryConfig,
    dtype: DataType,
    lhs_activation: Option<UnaryOpType>,
) -> Result<Tensor> {
    record("multiply", (memory_config, dtype, lhs_activation), &[a, b]);
    wrap(
        ffi::multiply(
            &a.inner,
            &b.inner,
            &convert::memory_config(memory_config),
            convert::data_type(dtype),
            convert::unary_op(lhs_activation),
        ),
        "multiply",
    )
}

/// `ttnn::gelu(a, fast_and_approximate_mode)` (erf form, or the tanh form when approximate).
pub fn gelu(a: &Tensor, fast_and_approximate: bool, memory_config: &MemoryConfig) -> Result<Tensor> {
    wrap(ffi::gelu(&a.inner, fast_and_approximate, &convert::memory_config(memory_config)), "gelu")
}

/// `ttnn::layer_norm(x, epsilon, weight, bias)` over the last dim.
pub fn layer_norm(
    x: &Tensor,
    epsilon: f32,
    weight: Option<&Tensor>,
    bias: Option<&Tensor>,
    memory_config: &MemoryConfig,
    compute_kernel_config: &ComputeKernelConfig,
) -> Result<Tensor> {
    // SAFETY: the pointers are null or point to tensors borrowed for the whole call.
    let r = unsafe {
        ffi::layer_norm(
            &x.inner,
            epsilon,
            opt_ptr(weight),
            opt_ptr(bias),
            &convert::memory_config(memory_config),
            &convert::compute_config(compute_kernel_config),
        )
    };
    wrap(r, "layer_norm")
}

/// `ttnn::scale_mask_softmax(x, scale, mask, .., is_causal_mask)` over the last dim:
/// `softmax(scale * x + mask)`. Without a mask, `causal` hides key `j` from query `i` when
/// `j > i + (width - height)`.
pub fn softmax(
    x: &Tensor,
    scale: f32,
    mask: Option<&Tensor>,
    causal: bool,
    memory_config: &MemoryConfig,
    compute_kernel_config: &ComputeKernelConfig,
) -> Result<Tensor> {
    // SAFETY: the mask pointer is null or points to a tensor borrowed for the whole call.
    let r = unsafe {
        ffi::softmax(
            &x.inner,
            scale,
            opt_ptr(mask),
            causal,
            &convert::memory_config(memory_config),
            &convert::compute_config(compute_kernel_config),
        )
    };
    wrap(r, "softmax")
}

/// `ttnn::embedding(ids, weight)`: ids `[batch, seq]` (or `[seq]`, or `[batch, 1, 1, seq]`)
/// UINT32 or BFLOAT16, weight `[vocab, dim]` BFLOAT16; output `[batch, seq, dim]`.
pub fn embedding(
    ids: &Tensor,
    weight: &Tensor,
    memory_config: &MemoryConfig,
    dtype: DataType,
    layout: Layout,
) -> Result<Tensor> {
    record("embedding", (memory_config, dtype), &[ids, weight]);
    wrap(
        ffi::embedding(
            &ids.inner,
            &weight.inner,
            &convert::memory_config(memory_config),
            convert::data_type(dtype),
            convert::layout(layout),
        ),
        "embedding",
    )
}

/// `ttnn::experimental::rotary_embedding_llama(x, cos, sin, trans_mat, is_decode_mode)`:
/// `x * cos + (x @ trans_mat) * sin`, with `trans_mat` applied to each 32-wide tile of head_dim.
/// Prefill: x `[batch, heads, seq, head_dim]`, cos/sin `[1, 1, seq, head_dim]`. Decode: x
/// `[1, batch, heads, head_dim]`, cos/sin `[1, batch, 32, head_dim]`, all HEIGHT_SHARDED.
pub fn rotary_embedding_llama(
    x: &Tensor,
    cos: &Tensor,
    sin: &Tensor,
    trans_mat: &Tensor,
    is_decode: bool,
    memory_config: &MemoryConfig,
    compute_kernel_config: &ComputeKernelConfig,
) -> Result<Tensor> {
    record("rotary_embedding_llama", (is_decode, memory_config, compute_kernel_config), &[x, cos, sin, trans_mat]);
    wrap(
        ffi::rotary_embedding_llama(
            &x.inner,
            &cos.inner,
            &sin.inner,
            &trans_mat.inner,
            is_decode,
            &convert::memory_config(memory_config),
            &convert::compute_config(compute_kernel_config),
        ),
        "rotary_embedding_llama",
    )
}

/// `ttnn::transformer::scaled_dot_product_attention(q, k, v, mask, is_causal, scale)`:
/// q `[b, nq, s, d]`, k/v `[b, nkv, s, d]` with `nq % nkv == 0` (GQA). `scale` defaults to
/// `1/sqrt(d)`.
#[allow(clippy::too_many_arguments)]
pub fn scaled_dot_product_attention(
    q: &Tensor,
    k: &Tensor,
    v: &Tensor,
    mask: Option<&Tensor>,
    is_causal: bool,
    scale: Option<f32>,
    program_config: &SDPAProgramConfig,
    memory_config: &MemoryConfig,
    compute_kernel_config: &ComputeKernelConfig,
) -> Result<Tensor> {
    match mask {
        Some(m) => record(
            "scaled_dot_product_attention",
            (is_causal, scale, program_config, memory_config, compute_kernel_config),
            &[q, k, v, m],
        ),
        None => record(
            "scaled_dot_product_attention",
            (is_causal, scale, program_config, memory_config, compute_kernel_config),
            &[q, k, v],
        ),
    }
    // SAFETY: the mask pointer is null or points to a tensor borrowed for the whole call.
    let r = unsafe {
        ffi::sdpa(
            &q.inner,
            &k.inner,
            &v.inner,
            opt_ptr(mask),
            is_causal,
            scale.is_some(),
            scale.unwrap_or(0.0),
            &convert::sdpa_config(program_config),
            &convert::memory_config(memory_config),
            &convert::compute_config(compute_kernel_config),
        )
    };
    wrap(r, "sdpa")
}

/// `ttnn::transformer::scaled_dot_product_attention_decode(q, k, v, is_causal, .., cur_pos)`:
/// q `[1, b, nq, d]`, caches `[b, nkv, max_seq, d]`; user `u` attends positions `0..=cur_pos[u]`.
#[allow(clippy::too_many_arguments)]
pub fn scaled_dot_product_attention_decode(
    q: &Tensor,
    k: &Tensor,
    v: &Tensor,
    cur_pos: &[u32],
    scale: Option<f32>,
    program_config: &SDPAProgramConfig,
    memory_config: &MemoryConfig,
    compute_kernel_config: &ComputeKernelConfig,
) -> Result<Tensor> {
    record(
        "scaled_dot_product_attention_decode",
        (scale, program_config, memory_config, compute_kernel_config),
        &[q, k, v],
    );
    wrap(
        ffi::sdpa_decode(
            &q.inner,
            &k.inner,
            &v.inner,
            cur_pos,
            scale.is_some(),
            scale.unwrap_or(0.0),
            &convert::sdpa_config(program_config),
            &convert::memory_config(memory_config),
            &convert::compute_config(compute_kernel_config),
        ),
        "sdpa_decode",
    )
}

/// `ttnn::update_cache(cache, input, update_idx, batch_offset)`: writes input
/// `[1, heads, batch, d]` to `cache[batch_offset + b, h, update_idx, :]`, in place.
pub fn update_cache(cache: &mut Tensor, input: &Tensor, update_idx: u32, batch_offset: u32) -> Result<()> {
    ffi::update_cache(cache.inner.pin_mut(), &input.inner, update_idx, batch_offset).map_err(backend("update_cache"))
}

/// `ttnn::fill_cache(cache, input, batch_idx, update_idx)`: writes input `[1, heads, s, d]` to
/// `cache[batch_idx, :, update_idx..update_idx + s, :]`, in place.
pub fn fill_cache(cache: &mut Tensor, input: &Tensor, batch_idx: u32, update_idx: u32) -> Result<()> {
    record("fill_cache", (), &[cache, input]);
    ffi::fill_cache(cache.inner.pin_mut(), &input.inner, batch_idx, update_idx).map_err(backend("fill_cache"))
}

/// `ttnn::experimental::paged_update_cache(cache, input, update_idxs)` without a page table:
/// writes input `[1, batch, heads, d]` (HEIGHT_SHARDED) to `cache[b, h, update_idxs[b], :]`.
pub fn paged_update_cache(cache: &mut Tensor, input: &Tensor, update_idxs: &[u32]) -> Result<()> {
    record("paged_update_cache", (), &[cache, input]);
    ffi::update_cache_per_user(cache.inner.pin_mut(), &input.inner, update_idxs).map_err(backend("paged_update_cache"))
}

fn heads(r: std::result::Result<ffi::QkvHeads, cxx::Exception>, op: &'static str) -> Result<(Tensor, Tensor, Tensor)> {
    let h = r.map_err(backend(op))?;
    Ok((Tensor { inner: h.q }, Tensor { inner: h.k }, Tensor { inner: h.v }))
}

/// `ttnn::experimental::nlp_create_qkv_heads(x, num_q_heads, num_kv_heads, transpose_k)`:
/// fused `[b, 1, s, (nq + 2 nkv) d]` -> q `[b, nq, s, d]`, k `[b, nkv, s, d]` (or `[b, nkv, d, s]`),
/// v `[b, nkv, s, d]`.
pub fn nlp_create_qkv_heads(
    x: &Tensor,
    num_q_heads: u32,
    num_kv_heads: u32,
    transpose_k: bool,
    memory_config: &MemoryConfig,
) -> Result<(Tensor, Tensor, Tensor)> {
    record("nlp_create_qkv_heads", (num_q_heads, num_kv_heads, transpose_k, memory_config), &[x]);
    heads(
        ffi::nlp_create_qkv_heads(
            &x.inner,
            num_q_heads,
            num_kv_heads,
            transpose_k,
            &convert::memory_config(memory_config),
        ),
        "nlp_create_qkv_heads",
    )
}

/// `ttnn::experimental::nlp_create_qkv_heads_decode(x, num_q_heads, num_kv_heads)`:
/// `[1, 1, b, (nq + 2 nkv) d]` -> `[1, b, nq, d]`, `[1, b, nkv, d]` x2, HEIGHT_SHARDED in L1 on
/// `b` cores (one `[32, d]` shard per user).
pub fn nlp_create_qkv_heads_decode(
    x: &Tensor,
    num_q_heads: u32,
    num_kv_heads: u32,
) -> Result<(Tensor, Tensor, Tensor)> {
    record("nlp_create_qkv_heads_decode", (num_q_heads, num_kv_heads), &[x]);
    heads(ffi::nlp_create_qkv_heads_decode(&x.inner, num_q_heads, num_kv_heads), "nlp_create_qkv_heads_decode")
}

/// `ttnn::experimental::nlp_concat_heads(x)`: `[b, h, s, d]` -> `[b, 1, s, h d]`.
pub fn nlp_concat_heads(x: &Tensor, memory_config: &MemoryConfig) -> Result<Tensor> {
    record("nlp_concat_heads", (memory_config,), &[x]);
    wrap(ffi::nlp_concat_heads(&x.inner, &convert::memory_config(memory_config)), "nlp_concat_heads")
}

/// `ttnn::experimental::nlp_concat_heads_decode(x, num_heads)`: HEIGHT_SHARDED
/// `[1, b, heads, d]` -> `[1, 1, b, num_heads d]`, WIDTH_SHARDED on `num_heads` cores.
pub fn nlp_concat_heads_decode(x: &Tensor, num_heads: u32) -> Result<Tensor> {
    record("nlp_concat_heads_decode", (num_heads,), &[x]);
    wrap(ffi::nlp_concat_heads_decode(&x.inner, num_heads), "nlp_concat_heads_decode")
}

/// `ttnn::slice(x, begins, ends)` with step 1: the sub-tensor `begins[i]..ends[i]` of each dim.
pub fn slice(x: &Tensor, begins: &[u32], ends: &[u32], memory_config: &MemoryConfig) -> Result<Tensor> {
    // The bounds are run-time values (the last real token); the trace keeps the config only.
    record("slice", (memory_config,), &[x]);
    wrap(ffi::slice(&x.inner, begins, ends, &convert::memory_config(memory_config)), "slice")
}

/// `ttnn::reshape(x, shape)`: the same values under another logical shape of equal volume.
pub fn reshape(x: &Tensor, shape: &[u32], memory_config: &MemoryConfig) -> Result<Tensor> {
    record("reshape", (shape, memory_config), &[x]);
    wrap(ffi::reshape(&x.inner, shape, &convert::memory_config(memory_config)), "reshape")
}

/// `ttnn::typecast(x, dtype)`.
pub fn typecast(x: &Tensor, dtype: DataType, memory_config: &MemoryConfig) -> Result<Tensor> {
    record("typecast", (dtype, memory_config), &[x]);
    wrap(ffi::typecast(&x.inner, convert::data_type(dtype), &convert::memory_config(memory_config)), "typecast")
}

/// `ttnn::to_layout(x, layout, dtype, memory_config)`: tilize / untilize.
pub fn to_layout(x: &Tensor, layout: Layout, dtype: DataType, memory_config: &MemoryConfig) -> Result<Tensor> {
    wrap(
        ffi::to_layout(
            &x.inner,
            convert::layout(layout),
            convert::data_type(dtype),
            &convert::memory_config(memory_config),
        ),
        "to_layout",
    )
}

/// `ttnn::to_memory_config(x, memory_config)`: interleaved <-> height / width / block sharded,
/// L1 <-> DRAM. The shard spec is validated as TT-NN validates it.
pub fn to_memory_config(x: &Tensor, memory_config: &MemoryConfig) -> Result<Tensor> {
    record("to_memory_config", (memory_config,), &[x]);
    wrap(ffi::to_memory_config(&x.inner, &convert::memory_config(memory_config)), "to_memory_config")
}

/// Diagnostics: the numerics and kernels behind the host backend, for tests and benches.
pub mod diag {
    use tttv2_core::ttnn::DataType;

    use crate::bridge::ffi;
    use crate::convert;
    use crate::error::{Result, backend};

    /// Packs row-major `rows x cols` values (multiples of 32) as tt-metal's
    /// `pack_as_bfp{8,4}_tiles(row_major_input=false, is_exp_a=false)` packs their tiles:
    /// per tile 16 exponent words (one exponent byte per 16-value face row) then the mantissas.
    pub fn pack_block_float(data: &[f32], rows: u32, cols: u32, dtype: DataType) -> Result<Vec<u32>> {
        ffi::pack_block_float(data, rows, cols, convert::data_type(dtype)).map_err(backend("pack_block_float"))
    }

    /// The inverse of [`pack_block_float`].
    pub fn unpack_block_float(words: &[u32], rows: u32, cols: u32, dtype: DataType) -> Result<Vec<f32>> {
        ffi::unpack_block_float(words, rows, cols, convert::data_type(dtype)).map_err(backend("unpack_block_float"))
    }

    /// The host backend's sgemm: row-major `c = a * b`, `a` is `m x k`, `b` is `k x n`;
    /// `num_threads == 0` uses every core.
    pub fn host_sgemm(m: u32, n: u32, k: u32, a: &[f32], b: &[f32], c: &mut [f32], num_threads: u32) -> Result<()> {
        ffi::host_sgemm(m, n, k, a, b, c, num_threads).map_err(backend("host_sgemm"))
    }

    /// Which implementation the host backend's matmul uses on the calling thread.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum HostMatmulPath {
        /// The prepared-weight path (`Prepared`) for every M.
        Auto = 0,
        /// Always the general path: every program-config region through the blocked sgemm, with
        /// fidelity-split copies of both operands made per call.
        General = 1,
        /// Always the small-M path (an error when M > 32): the weight's prepared operand is
        /// cached on the tensor, only logical rows are computed.
        SmallM = 2,
        /// The prepared-weight path for any M (decode and prefill): the weight's prepared operand
        /// is cached on the tensor, the logical rows are computed in row blocks.
        Prepared = 3,
    }

    /// Selects the host matmul implementation for the calling thread (thread-local, so tests
    /// comparing the paths do not disturb each other). Both paths model the same numerics. The
    /// TT-NN backend accepts only `Auto`.
    pub fn set_host_matmul_path(path: HostMatmulPath) -> Result<()> {
        ffi::host_set_matmul_path(path as u32).map_err(backend("host_set_matmul_path"))
    }

    /// How many times the host backend has gathered a sharded tensor's per-core shards into one
    /// buffer on the calling thread (0 on the TT-NN backend). Lets tests check that a sharded
    /// matmul weight is gathered once (when its prepared operand is built), not per call.
    pub fn host_sharded_gathers() -> u64 {
        ffi::host_sharded_gathers()
    }
}
