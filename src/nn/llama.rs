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

use tttv2_core::op::llama::{DecoderLayerConfig, LlamaPrefillConfig, NormConfig};
use tttv2_core::ttnn::{DataType, Layout, MemoryConfig, UnaryOpType};

use super::{Weight, WeightSource};
use crate::{Device, Error, Result, Tensor, ops};

fn expect_shape(name: &str, w: &Weight<'_>, shape: &[usize]) -> Result<()> {
    if w.shape != shape {
        return Err(Error::Weight { name: name.to_owned(), message: format!("expected shape {shape:?} but found {:?}", w.shape) });
    }
    Ok(())
}

/// `[out, in]` rows → `[in, out]`.
fn transpose(data: &[f32], out: usize, inp: usize) -> Vec<f32> {
    let mut t = vec![0.0f32; out * inp];
    for o in 0..out {
        for i in 0..inp {
            t[i * out + o] = data[o * inp + i];
        }
    }
    t
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

fn upload_linear(device: &Device, data: Vec<f32>, k: u32, n: u32, cfg: &tttv2_core::op::LinearConfig) -> Result<Tensor> {
    Tensor::from_f32(device, &data, &[k, n], cfg.weight_dtype, Layout::Tile, &cfg.weight_memory_config)
}

fn load_norm(device: &Device, weights: &impl WeightSource, name: &str, hidden: u32, cfg: &NormConfig) -> Result<Tensor> {
    let w = weights.weight(name)?;
    expect_shape(name, &w, &[hidden as usize])?;
    // TT-NN takes norm weights as ROW_MAJOR [1, 1, hidden / 32, 32] (tt-transformers' RMSNorm).
    Tensor::from_f32(device, &w.data, &[1, 1, hidden / 32, 32], cfg.weight_dtype, Layout::RowMajor, &cfg.weight_memory_config)
}

/// RoPE tables for positions `0..seq_len`, in TT-NN's adjacent-pair layout: `cos[p][2i] =
/// cos[p][2i+1] = cos(p·θ_i)` and likewise `sin`, with Llama 3's frequency scaling when the
/// model uses it (transformers `_compute_llama3_parameters`), plus the pair-swap matrix.
pub struct Rope {
    cos: Tensor,
    sin: Tensor,
    trans_mat: Tensor,
}

impl Rope {
    fn new(device: &Device, cfg: &LlamaPrefillConfig) -> Result<Rope> {
        let d = cfg.layer.attention.head_dim as usize;
        let s = cfg.seq_len as usize;
        let mut inv_freq: Vec<f64> =
            (0..d / 2).map(|i| (cfg.rope_theta as f64).powf(-(2.0 * i as f64) / d as f64)).collect();
        if let Some((factor, low, high, original)) = cfg.rope_scaling {
            let (factor, low, high, original) = (factor as f64, low as f64, high as f64, original as f64);
            let (low_wavelen, high_wavelen) = (original / low, original / high);
            for f in &mut inv_freq {
                let wavelen = 2.0 * std::f64::consts::PI / *f;
                if wavelen > low_wavelen {
                    *f /= factor;
                } else if wavelen >= high_wavelen {
                    let smooth = (original / wavelen - low) / (high - low);
                    *f = (1.0 - smooth) * *f / factor + smooth * *f;
                }
            }
        }
        let (mut cos, mut sin) = (vec![0.0f32; s * d], vec![0.0f32; s * d]);
        for p in 0..s {
            for (i, f) in inv_freq.iter().enumerate() {
                let a = p as f64 * f;
                cos[p * d + 2 * i] = a.cos() as f32;
                cos[p * d + 2 * i + 1] = a.cos() as f32;
                sin[p * d + 2 * i] = a.sin() as f32;
                sin[p * d + 2 * i + 1] = a.sin() as f32;
            }
        }
        // (x·T)[2i] = -x[2i+1], (x·T)[2i+1] = x[2i]: so x·cos + (x·T)·sin rotates each pair.
        let mut t = vec![0.0f32; 32 * 32];
        for i in 0..16 {
            t[(2 * i + 1) * 32 + 2 * i] = -1.0;
            t[(2 * i) * 32 + 2 * i + 1] = 1.0;
        }
        let dram = MemoryConfig::DRAM_INTERLEAVED;
        let shape = [1, 1, cfg.seq_len, cfg.layer.attention.head_dim];
        Ok(Rope {
            cos: Tensor::from_f32(device, &cos, &shape, DataType::Bfloat16, Layout::Tile, &dram)?,
            sin: Tensor::from_f32(device, &sin, &shape, DataType::Bfloat16, Layout::Tile, &dram)?,
            trans_mat: Tensor::from_f32(device, &t, &[1, 1, 32, 32], DataType::Bfloat16, Layout::Tile, &dram)?,
        })
    }
}

/// One decoder layer's weights and KV cache.
pub struct DecoderLayer {
    attention_norm: Tensor,
    wqkv: Tensor,
    wo: Tensor,
    ffn_norm: Tensor,
    w1: Tensor,
    w3: Tensor,
    w2: Tensor,
    k_cache: Tensor,
    v_cache: Tensor,
}

impl DecoderLayer {
    fn load(device: &Device, weights: &impl WeightSource, i: usize, cfg: &LlamaPrefillConfig) -> Result<DecoderLayer> {
        let l = &cfg.layer;
        let a = &l.attention;
        let (h, nq, nkv, d) = (cfg.embedding.hidden as usize, a.heads as usize, a.kv_heads as usize, a.head_dim as usize);
        let p = |s: &str| format!("model.layers.{i}.{s}");
        let get = |name: String, shape: &[usize]| -> Result<Vec<f32>> {
            let w = weights.weight(&name)?;
            expect_shape(&name, &w, shape)?;
            Ok(w.data.into_owned())
        };
        let q = interleave_rope_rows(&get(p("self_attn.q_proj.weight"), &[nq * d, h])?, nq, d, h);
        let k = interleave_rope_rows(&get(p("self_attn.k_proj.weight"), &[nkv * d, h])?, nkv, d, h);
        let v = get(p("self_attn.v_proj.weight"), &[nkv * d, h])?;
        // Fused QKV: q heads, then k heads, then v heads along the output (nlp_create_qkv_heads).
        let qkv_rows = [q, k, v].concat();
        let n_qkv = (nq + 2 * nkv) * d;
        let intermediate = l.mlp.w1.n as usize;
        let kv_shape = [1, a.kv_heads, cfg.seq_len, a.head_dim];
        let zeros = vec![0.0f32; (a.kv_heads * cfg.seq_len * a.head_dim) as usize];
        let cache = |dt| Tensor::from_f32(device, &zeros, &kv_shape, dt, Layout::Tile, &a.kv_cache_memory_config);
        Ok(DecoderLayer {
            attention_norm: load_norm(device, weights, &p("input_layernorm.weight"), h as u32, &l.attention_norm)?,
            wqkv: upload_linear(device, transpose(&qkv_rows, n_qkv, h), h as u32, n_qkv as u32, &a.wqkv)?,
            wo: upload_linear(device, transpose(&get(p("self_attn.o_proj.weight"), &[h, nq * d])?, h, nq * d), (nq * d) as u32, h as u32, &a.wo)?,
            ffn_norm: load_norm(device, weights, &p("post_attention_layernorm.weight"), h as u32, &l.ffn_norm)?,
            w1: upload_linear(device, transpose(&get(p("mlp.gate_proj.weight"), &[intermediate, h])?, intermediate, h), h as u32, intermediate as u32, &l.mlp.w1)?,
            w3: upload_linear(device, transpose(&get(p("mlp.up_proj.weight"), &[intermediate, h])?, intermediate, h), h as u32, intermediate as u32, &l.mlp.w3)?,
            w2: upload_linear(device, transpose(&get(p("mlp.down_proj.weight"), &[h, intermediate])?, h, intermediate), intermediate as u32, h as u32, &l.mlp.w2)?,
            k_cache: cache(a.kv_cache_dtype)?,
            v_cache: cache(a.kv_cache_dtype)?,
        })
    }

    /// One layer of prefill: `h` is `[1, 1, seq_len, hidden]`.
    fn prefill(&mut self, h: Tensor, rope: &Rope, cfg: &DecoderLayerConfig) -> Result<Tensor> {
        let a = &cfg.attention;
        let n = &cfg.attention_norm;
        let x = ops::rms_norm(&h, n.epsilon, &self.attention_norm, &n.memory_config, &n.compute_kernel_config)?;
        let qkv = ops::linear(&x, &self.wqkv, None, &a.wqkv)?;
        let (q, k, v) = ops::nlp_create_qkv_heads(&qkv, a.heads, a.kv_heads, false, &a.heads_memory_config)?;
        let rot = |t: &Tensor| {
            ops::rotary_embedding_llama(t, &rope.cos, &rope.sin, &rope.trans_mat, false, &a.heads_memory_config, &a.rotary_compute_kernel_config)
        };
        let (q, k) = (rot(&q)?, rot(&k)?);
        // fill_cache needs the cache's dtype: cast first, as tt-transformers does
        // (`ttnn.typecast(k, dtype=ttnn.bfloat8_b)` before `ttnn.fill_cache`).
        for (cache, t) in [(&mut self.k_cache, &k), (&mut self.v_cache, &v)] {
            if t.dtype() == a.kv_cache_dtype {
                ops::fill_cache(cache, t, 0, 0)?;
            } else {
                ops::fill_cache(cache, &ops::typecast(t, a.kv_cache_dtype, &a.kv_cache_memory_config)?, 0, 0)?;
            }
        }
        let attn = ops::sdpa(&q, &k, &v, None, true, None, &a.sdpa, &a.sdpa_memory_config, &a.sdpa_compute_kernel_config)?;
        let o = ops::nlp_concat_heads(&attn, &a.concat_memory_config)?;
        let o = ops::linear(&o, &self.wo, None, &a.wo)?;
        let h = ops::add(&h, &o, &cfg.residual_memory_config, DataType::Bfloat16)?;
        let f = &cfg.ffn_norm;
        let x = ops::rms_norm(&h, f.epsilon, &self.ffn_norm, &f.memory_config, &f.compute_kernel_config)?;
        let m = &cfg.mlp;
        let gate = ops::linear(&x, &self.w1, None, &m.w1)?;
        let up = ops::linear(&x, &self.w3, None, &m.w3)?;
        let act = ops::multiply(&gate, &up, &m.multiply_memory_config, DataType::Bfloat16, Some(UnaryOpType::Silu))?;
        let down = ops::linear(&act, &self.w2, None, &m.w2)?;
        ops::add(&h, &down, &cfg.residual_memory_config, DataType::Bfloat16)
    }
}

/// A Llama-family model on the device.
pub struct Llama {
    embed: Tensor,
    layers: Vec<DecoderLayer>,
    norm: Tensor,
    lm_head: Tensor,
    rope: Rope,
}

impl Llama {
    /// Loads every weight by its Hugging Face name and uploads it as `cfg` says; computes the
    /// RoPE tables once.
    pub fn load(device: &Device, weights: &impl WeightSource, cfg: &LlamaPrefillConfig) -> Result<Llama> {
        let e = &cfg.embedding;
        let (v, h) = (e.vocab as usize, e.hidden as usize);
        let ew = weights.weight("model.embed_tokens.weight")?;
        expect_shape("model.embed_tokens.weight", &ew, &[v, h])?;
        let embed = Tensor::from_f32(device, &ew.data, &[e.vocab, e.hidden], e.weight_dtype, Layout::RowMajor, &e.weight_memory_config)?;
        // A tied LM head reuses the embedding table.
        let head_src = match weights.weight("lm_head.weight") {
            Ok(w) => {
                expect_shape("lm_head.weight", &w, &[v, h])?;
                w.data.into_owned()
            }
            Err(_) => ew.data.into_owned(),
        };
        let lm_head = upload_linear(device, transpose(&head_src, v, h), e.hidden, e.vocab, &cfg.lm_head)?;
        let layers = (0..cfg.layers as usize).map(|i| DecoderLayer::load(device, weights, i, cfg)).collect::<Result<Vec<_>>>()?;
        Ok(Llama {
            embed,
            layers,
            norm: load_norm(device, weights, "model.norm.weight", e.hidden, &cfg.final_norm)?,
            lm_head,
            rope: Rope::new(device, cfg)?,
        })
    }

    /// Runs a prompt of at most `cfg.seq_len` tokens (padded to the planned length; causal
    /// attention keeps the padding out of the real positions) and returns the logits of its last
    /// token. Fills the KV cache.
    pub fn prefill(&mut self, device: &Device, tokens: &[u32], cfg: &LlamaPrefillConfig) -> Result<Vec<f32>> {
        let s = cfg.seq_len as usize;
        if tokens.is_empty() || tokens.len() > s {
            return Err(Error::Shape { op: "prefill", message: format!("the plan runs prompts of 1 to {s} tokens, got {}", tokens.len()) });
        }
        let mut padded = tokens.to_vec();
        padded.resize(s, 0);
        let e = &cfg.embedding;
        let ids = Tensor::from_u32(device, &padded, &[1, 1, 1, cfg.seq_len], Layout::RowMajor, &e.input_memory_config)?;
        let h = ops::embedding(&ids, &self.embed, &e.memory_config, e.dtype, Layout::Tile)?;
        let mut h = ops::reshape(&h, &[1, 1, cfg.seq_len, e.hidden], &e.memory_config)?;
        for layer in &mut self.layers {
            h = layer.prefill(h, &self.rope, &cfg.layer)?;
        }
        let n = &cfg.final_norm;
        let h = ops::rms_norm(&h, n.epsilon, &self.norm, &n.memory_config, &n.compute_kernel_config)?;
        let last = tokens.len() as u32 - 1;
        let x = ops::slice(&h, &[0, 0, last, 0], &[1, 1, last + 1, e.hidden], &cfg.last_token_memory_config)?;
        ops::linear(&x, &self.lm_head, None, &cfg.lm_head)?.to_f32()
    }
}
