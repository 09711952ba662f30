//! A Llama-family decoder on the device (candle-transformers' shape: a few small structs with
//! `load` and `forward`), driven by the `const` configs the compile-time plan chose.
//!
//! Weights come by their Hugging Face names. Two conventions differ between Hugging Face and
//! TT-NN and are reconciled at load, once:
//! * TT-NN's `rotary_embedding_llama` rotates *adjacent* pairs `(x[2i], x[2i+1])` (it computes
//!   `x·cos + (x·T)·sin` with a 32×32 pair-swap matrix `T`), while Hugging Face's Llama rotates
//!   `(x[i], x[i + d/2])` ("rotate_half"). We permute the rows of `q_proj` and `k_proj` per head
//!   so that HF dimension `i` lands at `2i` and `i + d/2` at `2i + 1`; the attention scores
//!   `q·k` do not change under a permutation applied to both (the same reconciliation
//!   tt-transformers does when it loads Meta/HF checkpoints).
//! * `linear` multiplies by `[in, out]`; Hugging Face stores `[out, in]`: we transpose.
//!
//! A model runs prefill plans (one per prompt-length bucket, single user) and a decode plan
//! (one token for each of up to 32 users per step, KV cache of `max_seq_len` positions). Each
//! weight is uploaded once per distinct (dtype, memory config) the plans ask for. Prefill buckets
//! planned with [`plan_llama_prefill_for`](tttv2_core::plan::llama::plan_llama_prefill_for) read
//! the decode plan's weights (DRAM-sharded, same dtypes, same LM head split), so such a model
//! holds one copy, as tt-transformers does; independently planned prefill plans keep their own.

use tttv2_core::op::LinearConfig;
use tttv2_core::op::llama::{DecoderLayerConfig, LlamaPrefillConfig, NormConfig};
use tttv2_core::op::llama_decode::{DecodeLayerConfig, LlamaDecodeConfig};
use tttv2_core::ttnn::{DataType, Layout, MemoryConfig, UnaryOpType};

use super::{Weight, WeightSource};
use crate::{Device, Error, Result, Tensor, ops};

fn expect_shape(name: &str, w: &Weight<'_>, shape: &[usize]) -> Result<()> {
    if w.shape != shape {
        return Err(Error::Weight { name: name.to_owned(), message: format!("expected shape {shape:?} but found {:?}", w.shape) });
    }
    Ok(())
}

/// Reorders the rows of a `[heads · d, in]` projection from rotate-half to adjacent-pair order.
fn interleave_rope_rows(data: &[f32], heads: usize, d: usize, inp: usize) -> Vec<f32> {
    let mut out = vec![0.0f32; data.len()];
    for h in 0..heads {
        for i in 0..d / 2 {
            let (src_a, src_b) = (h * d + i, h * d + i + d / 2);
            let (dst_a, dst_b) = (h * d + 2 * i, h * d + 2 * i + 1);
            out[dst_a * inp..(dst_a + 1) * inp].copy_from_slice(&data[src_a * inp..(src_a + 1) * inp]);
            out[dst_b * inp..(dst_b + 1) * inp].copy_from_slice(&data[src_b * inp..(src_b + 1) * inp]);
        }
    }
    out
}

/// One matmul weight (`[k, n]`, row-major), uploaded in every (dtype, memory config) the model's
/// plans ask for. Generated code never looks a layout up at run time by name: each config
/// carries its weight's dtype and memory config, and the matching upload is found by equality.
struct LinearWeight {
    name: String,
    /// Output columns.
    n: usize,
    variants: Vec<(DataType, MemoryConfig, Tensor)>,
}

impl LinearWeight {
    fn upload(device: &Device, name: String, data: &[f32], k: u32, n: u32, cfgs: &[&LinearConfig]) -> Result<LinearWeight> {
        let mut variants: Vec<(DataType, MemoryConfig, Tensor)> = Vec::new();
        for c in cfgs {
            if (c.k, c.n) != (k, n) {
                return Err(Error::Weight { name, message: format!("the plan multiplies by [{}, {}] but the weight is [{k}, {n}]", c.k, c.n) });
            }
            if !variants.iter().any(|(d, m, _)| *d == c.weight_dtype && *m == c.weight_memory_config) {
                let t = Tensor::from_f32(device, data, &[k, n], c.weight_dtype, Layout::Tile, &c.weight_memory_config)?;
                variants.push((c.weight_dtype, c.weight_memory_config, t));
            }
        }
        Ok(LinearWeight { name, n: n as usize, variants })
    }

    fn get(&self, cfg: &LinearConfig) -> Result<&Tensor> {
        self.variants.iter().find(|(d, m, _)| *d == cfg.weight_dtype && *m == cfg.weight_memory_config).map(|(_, _, t)| t).ok_or_else(|| {
            Error::Weight { name: self.name.clone(), message: "no upload matches this config's weight dtype and memory config".into() }
        })
    }

    /// `linear(x, self)`, moving `x` to the memory config the plan chose for the input first when
    /// the producer left it elsewhere (the decode plan's GEMVs each pick their input sharding).
    fn linear(&self, x: &Tensor, cfg: &LinearConfig) -> Result<Tensor> {
        let w = self.get(cfg)?;
        if x.memory_config() == cfg.input_memory_config {
            ops::linear(x, w, None, cfg)
        } else {
            ops::linear(&ops::to_memory_config(x, &cfg.input_memory_config)?, w, None, cfg)
        }
    }
}

fn load_norm(device: &Device, weights: &impl WeightSource, name: &str, hidden: u32, cfgs: &[&NormConfig]) -> Result<Tensor> {
    let w = weights.weight(name)?;
    expect_shape(name, &w, &[hidden as usize])?;
    let c = cfgs[0];
    if let Some(other) = cfgs.iter().find(|o| (o.weight_dtype, o.weight_memory_config) != (c.weight_dtype, c.weight_memory_config)) {
        return Err(Error::Weight {
            name: name.to_owned(),
            message: format!("prefill and decode plans disagree on the norm weight ({:?} vs {:?})", c.weight_dtype, other.weight_dtype),
        });
    }
    // TT-NN takes norm weights as ROW_MAJOR [1, 1, hidden / 32, 32] (tt-transformers' RMSNorm).
    Tensor::from_f32(device, &w.data, &[1, 1, hidden / 32, 32], c.weight_dtype, Layout::RowMajor, &c.weight_memory_config)
}

fn rms_norm(x: &Tensor, w: &Tensor, c: &NormConfig) -> Result<Tensor> {
    ops::rms_norm(x, c.epsilon, w, &c.memory_config, &c.compute_kernel_config)
}

/// RoPE tables over positions, computed at load from the inverse frequencies the plan folded at
/// build time, in TT-NN's adjacent-pair layout: `cos[p][2i] = cos[p][2i+1] = cos(p·θ_i)` and
/// likewise `sin`.
struct RopeTables {
    d: usize,
    cos: Vec<f32>,
    sin: Vec<f32>,
}

impl RopeTables {
    fn new(inv_freq: &[f32], positions: usize) -> RopeTables {
        let d = inv_freq.len() * 2;
        let (mut cos, mut sin) = (vec![0.0f32; positions * d], vec![0.0f32; positions * d]);
        for p in 0..positions {
            for (i, &f) in inv_freq.iter().enumerate() {
                let a = p as f64 * f as f64;
                let (s, c) = a.sin_cos();
                cos[p * d + 2 * i] = c as f32;
                cos[p * d + 2 * i + 1] = c as f32;
                sin[p * d + 2 * i] = s as f32;
                sin[p * d + 2 * i + 1] = s as f32;
            }
        }
        RopeTables { d, cos, sin }
    }

    /// The pair-swap matrix `T`: `(x·T)[2i] = -x[2i+1]`, `(x·T)[2i+1] = x[2i]`, so
    /// `x·cos + (x·T)·sin` rotates each pair; `copies` stacked 32×32 tiles (decode gives each
    /// user's core its own copy, as tt-transformers' `get_rot_transformation_mat` repeat does).
    fn trans_mat(device: &Device, copies: u32, mc: &MemoryConfig) -> Result<Tensor> {
        let mut t = vec![0.0f32; 32 * 32];
        for i in 0..16 {
            t[(2 * i + 1) * 32 + 2 * i] = -1.0;
            t[(2 * i) * 32 + 2 * i + 1] = 1.0;
        }
        let data = t.repeat(copies as usize);
        Tensor::from_f32(device, &data, &[1, 1, 32 * copies, 32], DataType::Bfloat16, Layout::Tile, mc)
    }
}

/// Device-side RoPE operands of one prefill bucket: positions `0..seq_len`.
struct PrefillRope {
    cos: Tensor,
    sin: Tensor,
    trans_mat: Tensor,
}

impl PrefillRope {
    fn new(device: &Device, tables: &RopeTables, seq_len: u32) -> Result<PrefillRope> {
        let (s, d) = (seq_len as usize, tables.d);
        let dram = MemoryConfig::DRAM_INTERLEAVED;
        let shape = [1, 1, seq_len, d as u32];
        Ok(PrefillRope {
            cos: Tensor::from_f32(device, &tables.cos[..s * d], &shape, DataType::Bfloat16, Layout::Tile, &dram)?,
            sin: Tensor::from_f32(device, &tables.sin[..s * d], &shape, DataType::Bfloat16, Layout::Tile, &dram)?,
            trans_mat: RopeTables::trans_mat(device, 1, &dram)?,
        })
    }
}

/// One decoder layer's weights and KV cache.
struct DecoderLayer {
    attention_norm: Tensor,
    wqkv: LinearWeight,
    wo: LinearWeight,
    ffn_norm: Tensor,
    w1: LinearWeight,
    w3: LinearWeight,
    w2: LinearWeight,
    k_cache: Tensor,
    v_cache: Tensor,
}

/// The configs of a model's plans that concern one decoder layer, for loading.
struct LayerCfgs<'a> {
    prefill: Vec<&'a DecoderLayerConfig>,
    decode: Option<&'a DecodeLayerConfig>,
}

impl LayerCfgs<'_> {
    fn linears(&self, p: impl Fn(&DecoderLayerConfig) -> &LinearConfig, d: impl Fn(&DecodeLayerConfig) -> &LinearConfig) -> Vec<&LinearConfig> {
        self.prefill.iter().map(|c| p(c)).chain(self.decode.map(d)).collect()
    }
    fn norms(&self, p: impl Fn(&DecoderLayerConfig) -> &NormConfig, d: impl Fn(&DecodeLayerConfig) -> &NormConfig) -> Vec<&NormConfig> {
        self.prefill.iter().map(|c| p(c)).chain(self.decode.map(d)).collect()
    }
}

/// Shape of one head split: `(hidden, q heads, kv heads, head_dim)`.
type Heads = (usize, usize, usize, usize);

impl DecoderLayer {
    fn load(device: &Device, weights: &impl WeightSource, i: usize, (h, nq, nkv, d): Heads, intermediate: usize, cfgs: &LayerCfgs<'_>, cache: (DataType, MemoryConfig, [u32; 4])) -> Result<DecoderLayer> {
        let p = |s: &str| format!("model.layers.{i}.{s}");
        // Weights are borrowed from the source (memory-mapped or in memory) and transposed
        // straight from it: the 1B-class models move gigabytes here, every copy counts.
        let get = |name: &str, shape: &[usize]| -> Result<Weight<'_>> {
            let w = weights.weight(name)?;
            expect_shape(name, &w, shape)?;
            Ok(w)
        };
        let lin = |name: String, rows: &[f32], out: usize, inp: usize, cfgs: Vec<&LinearConfig>| {
            LinearWeight::upload(device, name, &transpose(rows, out, inp), inp as u32, out as u32, &cfgs)
        };
        // Fused QKV: q heads, then k heads, then v heads along the output (nlp_create_qkv_heads).
        let mut qkv_rows = interleave_rope_rows(&get(&p("self_attn.q_proj.weight"), &[nq * d, h])?.data, nq, d, h);
        qkv_rows.extend_from_slice(&interleave_rope_rows(&get(&p("self_attn.k_proj.weight"), &[nkv * d, h])?.data, nkv, d, h));
        qkv_rows.extend_from_slice(&get(&p("self_attn.v_proj.weight"), &[nkv * d, h])?.data);
        let (dtype, mc, shape) = cache;
        Ok(DecoderLayer {
            attention_norm: load_norm(device, weights, &p("input_layernorm.weight"), h as u32, &cfgs.norms(|c| &c.attention_norm, |c| &c.attention_norm))?,
            wqkv: lin(p("self_attn.qkv"), &qkv_rows, (nq + 2 * nkv) * d, h, cfgs.linears(|c| &c.attention.wqkv, |c| &c.attention.wqkv))?,
            wo: lin(p("self_attn.o_proj.weight"), &get(&p("self_attn.o_proj.weight"), &[h, nq * d])?.data, h, nq * d, cfgs.linears(|c| &c.attention.wo, |c| &c.attention.wo))?,
            ffn_norm: load_norm(device, weights, &p("post_attention_layernorm.weight"), h as u32, &cfgs.norms(|c| &c.ffn_norm, |c| &c.ffn_norm))?,
            w1: lin(p("mlp.gate_proj.weight"), &get(&p("mlp.gate_proj.weight"), &[intermediate, h])?.data, intermediate, h, cfgs.linears(|c| &c.mlp.w1, |c| &c.mlp.w1))?,
            w3: lin(p("mlp.up_proj.weight"), &get(&p("mlp.up_proj.weight"), &[intermediate, h])?.data, intermediate, h, cfgs.linears(|c| &c.mlp.w3, |c| &c.mlp.w3))?,
            w2: lin(p("mlp.down_proj.weight"), &get(&p("mlp.down_proj.weight"), &[h, intermediate])?.data, h, intermediate, cfgs.linears(|c| &c.mlp.w2, |c| &c.mlp.w2))?,
            k_cache: Tensor::zeros(device, &shape, dtype, Layout::Tile, &mc)?,
            v_cache: Tensor::zeros(device, &shape, dtype, Layout::Tile, &mc)?,
        })
    }

    /// One layer of prefill for user `user`: `h` is `[1, 1, seq_len, hidden]`; writes the
    /// prompt's K/V to the user's rows of the cache.
    fn prefill(&mut self, h: Tensor, rope: &PrefillRope, cfg: &DecoderLayerConfig, user: u32) -> Result<Tensor> {
        let a = &cfg.attention;
        let x = rms_norm(&h, &self.attention_norm, &cfg.attention_norm)?;
        let qkv = self.wqkv.linear(&x, &a.wqkv)?;
        let (q, k, v) = ops::nlp_create_qkv_heads(&qkv, a.heads, a.kv_heads, false, &a.heads_memory_config)?;
        let rot = |t: &Tensor| {
            ops::rotary_embedding_llama(t, &rope.cos, &rope.sin, &rope.trans_mat, false, &a.heads_memory_config, &a.rotary_compute_kernel_config)
        };
        let (q, k) = (rot(&q)?, rot(&k)?);
        // fill_cache needs the cache's dtype: cast first, as tt-transformers does
        // (`ttnn.typecast(k, dtype=ttnn.bfloat8_b)` before `ttnn.fill_cache`).
        let cache_dtype = self.k_cache.dtype();
        for (cache, t) in [(&mut self.k_cache, &k), (&mut self.v_cache, &v)] {
            if t.dtype() == cache_dtype {
                ops::fill_cache(cache, t, user, 0)?;
            } else {
                ops::fill_cache(cache, &ops::typecast(t, cache_dtype, &a.kv_cache_memory_config)?, user, 0)?;
            }
        }
        let attn = ops::sdpa(&q, &k, &v, None, true, Some(a.sdpa_scale), &a.sdpa, &a.sdpa_memory_config, &a.sdpa_compute_kernel_config)?;
        let o = ops::nlp_concat_heads(&attn, &a.concat_memory_config)?;
        let o = self.wo.linear(&o, &a.wo)?;
        let h = ops::add(&h, &o, &cfg.residual_memory_config, DataType::Bfloat16)?;
        let x = rms_norm(&h, &self.ffn_norm, &cfg.ffn_norm)?;
        self.mlp(h, &x, &cfg.mlp, &cfg.residual_memory_config)
    }

    /// SiLU(x·w1) × (x·w3), then ·w2, added to the residual `h`.
    fn mlp(&self, h: Tensor, x: &Tensor, m: &tttv2_core::op::llama::MlpConfig, residual: &MemoryConfig) -> Result<Tensor> {
        let gate = self.w1.linear(x, &m.w1)?;
        let up = self.w3.linear(x, &m.w3)?;
        let act = ops::multiply(&gate, &up, &m.multiply_memory_config, DataType::Bfloat16, Some(UnaryOpType::Silu))?;
        let down = self.w2.linear(&act, &m.w2)?;
        ops::add(&h, &down, residual, DataType::Bfloat16)
    }

    /// One layer of a decode step: `h` is `[1, 1, batch, hidden]` (WIDTH_SHARDED); user `u`'s new
    /// token sits at `positions[u]`.
    fn decode(&mut self, h: Tensor, rope: &DecodeRope<'_>, cfg: &DecodeLayerConfig, positions: &[u32]) -> Result<Tensor> {
        let a = &cfg.attention;
        let x = rms_norm(&h, &self.attention_norm, &cfg.attention_norm)?;
        let qkv = self.wqkv.linear(&x, &a.wqkv)?;
        let (q, k, v) = ops::nlp_create_qkv_heads_decode(&qkv, a.heads, a.kv_heads)?;
        // The plan's `rotary_embedding_llama_fused_qk` rotates q and k in one launch; the
        // backends run the unfused op on each (same numerics: the kernel is per row).
        let rot = |t: &Tensor| {
            ops::rotary_embedding_llama(t, &rope.cos, &rope.sin, rope.trans_mat, true, &a.heads_memory_config, &a.rotary_compute_kernel_config)
        };
        let (q, k) = (rot(&q)?, rot(&k)?);
        // Likewise `paged_fused_update_cache` is two per-user updates.
        ops::update_cache_per_user(&mut self.k_cache, &k, positions)?;
        ops::update_cache_per_user(&mut self.v_cache, &v, positions)?;
        let attn = ops::sdpa_decode(&q, &self.k_cache, &self.v_cache, positions, Some(a.sdpa_scale), &a.sdpa, &a.sdpa_memory_config, &a.sdpa_compute_kernel_config)?;
        let o = ops::nlp_concat_heads_decode(&attn, a.heads)?;
        let o = self.wo.linear(&o, &a.wo)?;
        let h = ops::add(&h, &o, &cfg.residual_memory_config, DataType::Bfloat16)?;
        let x = rms_norm(&h, &self.ffn_norm, &cfg.ffn_norm)?;
        self.mlp(h, &x, &cfg.mlp, &cfg.residual_memory_config)
    }
}

/// Device-side RoPE operands of one decode step: each user's cos/sin row at its position.
struct DecodeRope<'a> {
    cos: Tensor,
    sin: Tensor,
    trans_mat: &'a Tensor,
}

/// The plans a [`Llama`] runs: prefill plans for prompt-length buckets (single user each) and an
/// optional decode plan.
#[derive(Debug, Clone, Default)]
pub struct LlamaPlans {
    /// Prefill plans, one per prompt-length bucket.
    pub prefill: Vec<LlamaPrefillConfig>,
    /// The decode plan.
    pub decode: Option<LlamaDecodeConfig>,
}

/// A Llama-family model on the device.
pub struct Llama {
    plans: LlamaPlans,
    embed: Tensor,
    layers: Vec<DecoderLayer>,
    norm: Tensor,
    /// The LM head's column pieces of every plan: `(first column, weight)`.
    head: Vec<(usize, LinearWeight)>,
    rope: RopeTables,
    prefill_rope: Vec<PrefillRope>,
    decode_trans_mat: Option<Tensor>,
}

fn plan_error(message: String) -> Error {
    Error::Shape { op: "load", message }
}

impl Llama {
    /// Loads every weight by its Hugging Face name and uploads it as the plans say; computes the
    /// RoPE tables once. The KV cache holds `decode.batch` users of `decode.max_seq_len`
    /// positions (or one user of the longest prefill bucket without a decode plan).
    pub fn load(device: &Device, weights: &impl WeightSource, plans: LlamaPlans) -> Result<Llama> {
        let mut plans = plans;
        plans.prefill.sort_by_key(|p| p.seq_len);
        let (first_e, layers_n, inv_freq, layer0) = match (plans.prefill.first(), &plans.decode) {
            (Some(p), _) => (p.embedding, p.layers, p.rope_inv_freq.clone(), (p.layer.attention.heads, p.layer.attention.kv_heads, p.layer.attention.head_dim, p.layer.mlp.w1.n, p.layer.attention.kv_cache_dtype, p.layer.attention.kv_cache_memory_config)),
            (None, Some(d)) => (d.embedding, d.layers, d.rope_inv_freq.clone(), (d.layer.attention.heads, d.layer.attention.kv_heads, d.layer.attention.head_dim, d.layer.mlp.w1.n, d.layer.attention.kv_cache_dtype, d.layer.attention.kv_cache_memory_config)),
            (None, None) => return Err(plan_error("a Llama needs at least one prefill or decode plan".into())),
        };
        let (nq, nkv, d, intermediate, mut kv_dtype, mut kv_mc) = layer0;
        let max_prefill = plans.prefill.last().map_or(0, |p| p.seq_len);
        let cache_shape = match &plans.decode {
            Some(dec) => {
                if max_prefill > dec.max_seq_len {
                    return Err(plan_error(format!("a prefill bucket of {max_prefill} tokens does not fit the decode plan's KV cache of {} positions", dec.max_seq_len)));
                }
                (kv_dtype, kv_mc) = (dec.layer.attention.kv_cache_dtype, dec.layer.attention.kv_cache_memory_config);
                [dec.batch, nkv, dec.max_seq_len, d]
            }
            None => [1, nkv, max_prefill, d],
        };
        let e = first_e;
        let (v, h) = (e.vocab as usize, e.hidden as usize);
        let ew = weights.weight("model.embed_tokens.weight")?;
        expect_shape("model.embed_tokens.weight", &ew, &[v, h])?;
        let embed = Tensor::from_f32(device, &ew.data, &[e.vocab, e.hidden], e.weight_dtype, Layout::RowMajor, &e.weight_memory_config)?;
        // A tied LM head reuses the embedding table.
        let head_t = match weights.weight("lm_head.weight") {
            Ok(w) => {
                expect_shape("lm_head.weight", &w, &[v, h])?;
                transpose(&w.data, v, h)
            }
            Err(_) => transpose(&ew.data, v, h),
        };
        drop(ew);
        // The LM head's column pieces of every plan, grouped by column range: plans that split
        // the head alike (prefill planned on the decode plan's weights) share one upload.
        let mut ranges: Vec<(usize, usize, Vec<&LinearConfig>)> = Vec::new();
        let plan_heads = plans.prefill.iter().map(|p| &p.lm_head[..]).chain(plans.decode.as_ref().map(|d| &d.lm_head[..]));
        for pieces in plan_heads {
            let mut col = 0usize;
            for piece in pieces {
                let n = piece.n as usize;
                match ranges.iter_mut().find(|(c, w, _)| (*c, *w) == (col, n)) {
                    Some((_, _, cfgs)) => cfgs.push(piece),
                    None => ranges.push((col, n, vec![piece])),
                }
                col += n;
            }
            if col != v {
                return Err(plan_error(format!("the LM head pieces cover {col} of {v} vocabulary columns")));
            }
        }
        let mut head = Vec::new();
        for (col, n, cfgs) in ranges {
            let cols: Vec<f32> = (0..h).flat_map(|r| head_t[r * v + col..r * v + col + n].iter().copied()).collect();
            let name = if n == v { "lm_head.weight".to_string() } else { format!("lm_head.weight[:, {col}..{}]", col + n) };
            head.push((col, LinearWeight::upload(device, name, &cols, e.hidden, n as u32, &cfgs)?));
        }
        drop(head_t);
        let cfgs = LayerCfgs { prefill: plans.prefill.iter().map(|p| &p.layer).collect(), decode: plans.decode.as_ref().map(|d| &d.layer) };
        let layers = (0..layers_n as usize)
            .map(|i| DecoderLayer::load(device, weights, i, (h, nq as usize, nkv as usize, d as usize), intermediate as usize, &cfgs, (kv_dtype, kv_mc, cache_shape)))
            .collect::<Result<Vec<_>>>()?;
        let norms: Vec<&NormConfig> = plans.prefill.iter().map(|p| &p.final_norm).chain(plans.decode.as_ref().map(|d| &d.final_norm)).collect();
        let positions = cache_shape[2].max(max_prefill) as usize;
        if inv_freq.len() * 2 != d as usize {
            return Err(plan_error(format!("the plan folds {} RoPE frequencies for a head_dim of {d}", inv_freq.len())));
        }
        let rope = RopeTables::new(&inv_freq, positions);
        let prefill_rope = plans.prefill.iter().map(|p| PrefillRope::new(device, &rope, p.seq_len)).collect::<Result<Vec<_>>>()?;
        let decode_trans_mat = match &plans.decode {
            Some(dec) => Some(RopeTables::trans_mat(device, dec.batch, &dec.layer.attention.trans_mat_memory_config)?),
            None => None,
        };
        Ok(Llama {
            embed,
            layers,
            norm: load_norm(device, weights, "model.norm.weight", e.hidden, &norms)?,
            head,
            rope,
            prefill_rope,
            decode_trans_mat,
            plans,
        })
    }

    /// Bytes the model's weights occupy on the device, every upload counted once: TILE tensors
    /// in whole tiles of their dtype (before DRAM-bank padding), the row-major embedding table by
    /// element. A model whose prefill buckets share the decode plan's placements counts each
    /// matmul weight once; the KV cache is not included.
    pub fn weight_bytes(&self) -> u64 {
        fn bytes(t: &Tensor) -> u64 {
            let shape = t.shape();
            match t.layout() {
                Layout::Tile => {
                    let (rows, cols) = (shape[..shape.len() - 1].iter().map(|&d| d as u64).product::<u64>(), *shape.last().unwrap_or(&1) as u64);
                    rows.div_ceil(32) * cols.div_ceil(32) * t.dtype().tile_bytes()
                }
                Layout::RowMajor => shape.iter().map(|&d| d as u64).product::<u64>() * t.dtype().tile_bytes() / 1024,
            }
        }
        let lin = |w: &LinearWeight| w.variants.iter().map(|(_, _, t)| bytes(t)).sum::<u64>();
        let layers: u64 = self
            .layers
            .iter()
            .map(|l| bytes(&l.attention_norm) + bytes(&l.ffn_norm) + [&l.wqkv, &l.wo, &l.w1, &l.w3, &l.w2].into_iter().map(lin).sum::<u64>())
            .sum();
        bytes(&self.embed) + bytes(&self.norm) + layers + self.head.iter().map(|(_, w)| lin(w)).sum::<u64>()
    }

    /// The plans this model runs.
    pub fn plans(&self) -> &LlamaPlans {
        &self.plans
    }

    /// Users per decode step (1 without a decode plan).
    pub fn batch(&self) -> u32 {
        self.plans.decode.as_ref().map_or(1, |d| d.batch)
    }

    /// Positions the KV cache holds per user.
    pub fn max_seq_len(&self) -> u32 {
        self.layers.first().map_or(0, |l| l.k_cache.shape()[2])
    }

    /// The longest prompt one prefill call takes (the largest bucket; 0 without prefill plans).
    pub fn max_prefill_len(&self) -> u32 {
        self.plans.prefill.last().map_or(0, |p| p.seq_len)
    }

    /// Runs user `user`'s prompt through the smallest prefill bucket that holds it (padded to
    /// the bucket; causal attention keeps the padding out of the real positions), writes its K/V
    /// to the user's cache rows from position 0, and returns the logits of its last token.
    pub fn prefill(&mut self, device: &Device, user: u32, tokens: &[u32]) -> Result<Vec<f32>> {
        let Some(b) = self.plans.prefill.iter().position(|p| p.seq_len as usize >= tokens.len()) else {
            return Err(Error::Shape { op: "prefill", message: format!("the plans prefill prompts of 1 to {} tokens, got {}", self.max_prefill_len(), tokens.len()) });
        };
        if tokens.is_empty() {
            return Err(Error::Shape { op: "prefill", message: "the prompt is empty".into() });
        }
        if user >= self.batch() {
            return Err(Error::Shape { op: "prefill", message: format!("user {user} is outside the plan's batch of {}", self.batch()) });
        }
        let cfg = &self.plans.prefill[b];
        let s = cfg.seq_len as usize;
        let mut padded = tokens.to_vec();
        padded.resize(s, 0);
        let e = &cfg.embedding;
        let ids = Tensor::from_u32(device, &padded, &[1, 1, 1, cfg.seq_len], Layout::RowMajor, &e.input_memory_config)?;
        let h = ops::embedding(&ids, &self.embed, &e.memory_config, e.dtype, Layout::Tile)?;
        let mut h = ops::reshape(&h, &[1, 1, cfg.seq_len, e.hidden], &e.memory_config)?;
        for layer in &mut self.layers {
            h = layer.prefill(h, &self.prefill_rope[b], &cfg.layer, user)?;
        }
        let h = rms_norm(&h, &self.norm, &cfg.final_norm)?;
        let last = tokens.len() as u32 - 1;
        let x = ops::slice(&h, &[0, 0, last, 0], &[1, 1, last + 1, e.hidden], &cfg.last_token_memory_config)?;
        let mut logits = Vec::with_capacity(e.vocab as usize);
        self.lm_head(&x, &cfg.lm_head, |out, _| logits.extend_from_slice(out))?;
        Ok(logits)
    }

    /// Runs the LM head pieces `pieces` on `x` and hands each piece's output (row-major
    /// `[rows, piece columns]`) with its column count to `sink`, in vocabulary order.
    fn lm_head(&self, x: &Tensor, pieces: &[LinearConfig], mut sink: impl FnMut(&[f32], usize)) -> Result<()> {
        let mut col = 0usize;
        for piece in pieces {
            let n = piece.n as usize;
            let (_, w) = self.head.iter().find(|(c, w)| *c == col && w.n == n).ok_or_else(|| plan_error(format!("no LM head upload holds columns {col}..{}", col + n)))?;
            sink(&w.linear(x, piece)?.to_f32()?, n);
            col += n;
        }
        Ok(())
    }

    /// One decode step: user `u` feeds `tokens[u]` at position `positions[u]` (its K/V is
    /// written there and it attends to positions `0..=positions[u]`). At most the plan's batch of
    /// users; missing users are padded (token 0 at position 0 of their own cache rows). Returns
    /// each given user's logits.
    pub fn decode(&mut self, device: &Device, tokens: &[u32], positions: &[u32]) -> Result<Vec<Vec<f32>>> {
        let Some(cfg) = self.plans.decode.as_ref() else {
            return Err(Error::Shape { op: "decode", message: "the model was compiled without a decode plan (declare it with mode = \"decode\")".into() });
        };
        let b = cfg.batch as usize;
        if tokens.is_empty() || tokens.len() > b || tokens.len() != positions.len() {
            return Err(Error::Shape { op: "decode", message: format!("1 to {b} users per step with one position each, got {} tokens and {} positions", tokens.len(), positions.len()) });
        }
        if let Some(p) = positions.iter().find(|&&p| p >= cfg.max_seq_len) {
            return Err(Error::Shape { op: "decode", message: format!("position {p} is beyond the KV cache of {} positions", cfg.max_seq_len) });
        }
        let (mut toks, mut pos) = (tokens.to_vec(), positions.to_vec());
        toks.resize(b, 0);
        pos.resize(b, 0);
        let e = &cfg.embedding;
        let ids = Tensor::from_u32(device, &toks, &[1, 1, 1, cfg.batch], Layout::RowMajor, &e.input_memory_config)?;
        let h = ops::embedding(&ids, &self.embed, &e.memory_config, e.dtype, Layout::Tile)?;
        let h = ops::reshape(&h, &[1, 1, cfg.batch, e.hidden], &e.memory_config)?;
        let mut h = if cfg.hidden_memory_config == e.memory_config { h } else { ops::to_memory_config(&h, &cfg.hidden_memory_config)? };
        // Each user's cos/sin row, repeated over the 32 head rows of its shard.
        let d = self.rope.d;
        let (mut cos, mut sin) = (Vec::with_capacity(b * 32 * d), Vec::with_capacity(b * 32 * d));
        for &p in &pos {
            let p = p as usize;
            for _ in 0..32 {
                cos.extend_from_slice(&self.rope.cos[p * d..(p + 1) * d]);
                sin.extend_from_slice(&self.rope.sin[p * d..(p + 1) * d]);
            }
        }
        let a = &cfg.layer.attention;
        let shape = [1, cfg.batch, 32, d as u32];
        let trans_mat = self.decode_trans_mat.as_ref().ok_or_else(|| plan_error("no decode RoPE matrix".into()))?;
        let rope = DecodeRope {
            cos: Tensor::from_f32(device, &cos, &shape, DataType::Bfloat16, Layout::Tile, &a.rope_memory_config)?,
            sin: Tensor::from_f32(device, &sin, &shape, DataType::Bfloat16, Layout::Tile, &a.rope_memory_config)?,
            trans_mat,
        };
        for layer in &mut self.layers {
            h = layer.decode(h, &rope, &cfg.layer, &pos)?;
        }
        let h = rms_norm(&h, &self.norm, &cfg.final_norm)?;
        let vocab = e.vocab as usize;
        let mut logits = vec![Vec::with_capacity(vocab); tokens.len()];
        self.lm_head(&h, &cfg.lm_head, |out, n| {
            for (u, l) in logits.iter_mut().enumerate() {
                l.extend_from_slice(&out[u * n..(u + 1) * n]);
            }
        })?;
        Ok(logits)
    }
}

/// `[out, in]` rows → `[in, out]`, in cache-sized blocks.
fn transpose(data: &[f32], out: usize, inp: usize) -> Vec<f32> {
    const B: usize = 64;
    let mut t = vec![0.0f32; out * inp];
    for o0 in (0..out).step_by(B) {
        for i0 in (0..inp).step_by(B) {
            for o in o0..(o0 + B).min(out) {
                for i in i0..(i0 + B).min(inp) {
                    t[i * out + o] = data[o * inp + i];
                }
            }
        }
    }
    t
}
