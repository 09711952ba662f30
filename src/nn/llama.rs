//! Building blocks of the Llama programs `#[ttt_model]` generates: weight transforms from Hugging
//! Face's layout to TT-NN's, RoPE tables, the per-call inputs, and reading logits back. No op
//! sequence lives here: the generated `prefill_*` / `decode` functions are the program.
//!
//! Two conventions differ between Hugging Face and TT-NN and are reconciled at load, once:
//! * TT-NN's `rotary_embedding_llama` rotates *adjacent* pairs `(x[2i], x[2i+1])` (it computes
//!   `x·cos + (x·T)·sin` with a 32×32 pair-swap matrix `T`), while Hugging Face's Llama rotates
//!   `(x[i], x[i + d/2])` ("rotate_half"). [`qkv_weight`] permutes the rows of `q_proj` and
//!   `k_proj` per head so that HF dimension `i` lands at `2i` and `i + d/2` at `2i + 1`; the
//!   attention scores `q·k` do not change under a permutation applied to both (the same
//!   reconciliation tt-transformers does when it loads Meta/HF checkpoints).
//! * `linear` multiplies by `[in, out]`; Hugging Face stores `[out, in]`: the transforms transpose.

use tttv2_core::op::LinearConfig;
use tttv2_core::ttnn::{DataType, Layout, MemoryConfig};

use super::{Weight, WeightSource};
use crate::{Device, Error, Result, Tensor};

fn expect_shape(name: &str, w: &Weight<'_>, shape: &[usize]) -> Result<()> {
    if w.shape != shape {
        return Err(Error::Weight {
            name: name.to_owned(),
            message: format!("expected shape {shape:?} but found {:?}", w.shape),
        });
    }
    Ok(())
}

fn get<'a>(weights: &'a impl WeightSource, name: &str, shape: &[usize]) -> Result<Weight<'a>> {
    let w = weights.weight(name)?;
    expect_shape(name, &w, shape)?;
    Ok(w)
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

/// A linear weight `name` (`[out, in]` in the checkpoint) as `linear` takes it, `[in, out]`.
pub fn linear_weight(weights: &impl WeightSource, name: &str, out: u32, inp: u32) -> Result<Vec<f32>> {
    let w = get(weights, name, &[out as usize, inp as usize])?;
    Ok(transpose(&w.data, out as usize, inp as usize))
}

/// The fused QKV weight `[hidden, (q + 2 kv) · d]` from `[q_proj, k_proj, v_proj]`: q heads, then
/// k heads, then v heads along the output (what `nlp_create_qkv_heads` splits), q and k rows in
/// TT-NN's RoPE pair order.
pub fn qkv_weight(
    weights: &impl WeightSource,
    names: [&str; 3],
    hidden: u32,
    heads: u32,
    kv_heads: u32,
) -> Result<Vec<f32>> {
    let q = weights.weight(names[0])?;
    let rows = q.shape.first().copied().unwrap_or(0);
    let d = rows / heads.max(1) as usize;
    let h = hidden as usize;
    expect_shape(names[0], &q, &[heads as usize * d, h])?;
    let mut qkv = interleave_rope_rows(&q.data, heads as usize, d, h);
    drop(q);
    let k = get(weights, names[1], &[kv_heads as usize * d, h])?;
    qkv.extend_from_slice(&interleave_rope_rows(&k.data, kv_heads as usize, d, h));
    drop(k);
    qkv.extend_from_slice(&get(weights, names[2], &[kv_heads as usize * d, h])?.data);
    let n = (heads + 2 * kv_heads) as usize * d;
    Ok(transpose(&qkv, n, h))
}

/// Reorders a `[heads · d]` bias from rotate-half to adjacent-pair order, as
/// [`interleave_rope_rows`] does the rows of its projection.
fn interleave_rope_bias(data: &[f32], heads: usize, d: usize) -> Vec<f32> {
    interleave_rope_rows(data, heads, d, 1)
}

/// The fused q/k/v bias `[(q + 2 kv) · d]` from the `.bias` tensors of `[q_proj, k_proj, v_proj]`,
/// in the column order of [`qkv_weight`] (q and k entries in TT-NN's RoPE pair order: the bias is
/// added before the rotation, so it is permuted with its rows).
pub fn qkv_bias(weights: &impl WeightSource, names: [&str; 3], heads: u32, kv_heads: u32) -> Result<Vec<f32>> {
    let q = weights.weight(names[0])?;
    let d = q.shape.first().copied().unwrap_or(0) / heads.max(1) as usize;
    expect_shape(names[0], &q, &[heads as usize * d])?;
    let mut bias = interleave_rope_bias(&q.data, heads as usize, d);
    let k = get(weights, names[1], &[kv_heads as usize * d])?;
    bias.extend_from_slice(&interleave_rope_bias(&k.data, kv_heads as usize, d));
    bias.extend_from_slice(&get(weights, names[2], &[kv_heads as usize * d])?.data);
    Ok(bias)
}

/// Uploads the bias `[n]` of the linear `cfg` as TT-NN's `linear` takes it: `[1, n]` in the
/// weight's dtype, placed as [`LinearConfig::bias_memory_config`] says.
pub fn upload_bias(device: &Device, data: &[f32], cfg: &LinearConfig) -> Result<Tensor> {
    if data.len() != cfg.n as usize {
        return Err(Error::Shape {
            op: "load",
            message: format!("a bias of {} values for a linear of {} columns", data.len(), cfg.n),
        });
    }
    Tensor::from_f32(device, data, &[1, cfg.n], cfg.weight_dtype, Layout::Tile, &cfg.bias_memory_config())
}

/// An RMSNorm weight `[hidden]`.
pub fn norm_weight(weights: &impl WeightSource, name: &str, hidden: u32) -> Result<Vec<f32>> {
    Ok(get(weights, name, &[hidden as usize])?.data.into_owned())
}

/// The embedding table `[vocab, hidden]`.
pub fn embedding_table(weights: &impl WeightSource, vocab: u32, hidden: u32) -> Result<Vec<f32>> {
    Ok(get(weights, "model.embed_tokens.weight", &[vocab as usize, hidden as usize])?.data.into_owned())
}

/// The LM head as `[hidden, vocab]`: `lm_head.weight`, or the embedding table when the config ties
/// them. An untied model without `lm_head.weight` is an error, not a silent tie.
pub fn lm_head_weight(weights: &impl WeightSource, tied: bool, vocab: u32, hidden: u32) -> Result<Vec<f32>> {
    let name = if tied { "model.embed_tokens.weight" } else { "lm_head.weight" };
    let w = get(weights, name, &[vocab as usize, hidden as usize])?;
    Ok(transpose(&w.data, vocab as usize, hidden as usize))
}

/// Columns `start..start + n` of a row-major `[rows, _]` matrix whose rows are `data.len() / rows`
/// wide.
pub fn columns(data: &[f32], rows: u32, start: u32, n: u32) -> Vec<f32> {
    let width = data.len() / rows.max(1) as usize;
    let (s, n) = (start as usize, n as usize);
    (0..rows as usize).flat_map(|r| data[r * width + s..r * width + s + n].iter().copied()).collect()
}

/// Uploads a `[k, n]` weight as `cfg` places it.
pub fn upload_linear(device: &Device, data: &[f32], cfg: &LinearConfig) -> Result<Tensor> {
    Tensor::from_f32(device, data, &[cfg.k, cfg.n], cfg.weight_dtype, Layout::Tile, &cfg.weight_memory_config)
}

/// Bytes a tensor occupies on the device: TILE tensors in whole tiles of their dtype (before
/// DRAM-bank padding), row-major ones by element.
pub fn tensor_bytes(t: &Tensor) -> u64 {
    let shape = t.shape();
    match t.layout() {
        Layout::Tile => {
            let (rows, cols) = (
                shape[..shape.len() - 1].iter().map(|&d| d as u64).product::<u64>(),
                *shape.last().unwrap_or(&1) as u64,
            );
            rows.div_ceil(32) * cols.div_ceil(32) * t.dtype().tile_bytes()
        }
        Layout::RowMajor => shape.iter().map(|&d| d as u64).product::<u64>() * t.dtype().tile_bytes() / 1024,
    }
}

/// RoPE tables over positions, computed at load from the inverse frequencies the plan folded at
/// build time, in TT-NN's adjacent-pair layout: `cos[p][2i] = cos[p][2i+1] = cos(p·θ_i)` and
/// likewise `sin`.
pub struct RopeTables {
    d: usize,
    cos: Vec<f32>,
    sin: Vec<f32>,
}

impl RopeTables {
    /// Tables for positions `0..positions`.
    pub fn new(inv_freq: &[f32], positions: usize) -> RopeTables {
        let d = inv_freq.len() * 2;
        let (mut cos, mut sin) = (vec![0.0f32; positions * d], vec![0.0f32; positions * d]);
        for p in 0..positions {
            for (i, &f) in inv_freq.iter().enumerate() {
                let (s, c) = (p as f64 * f as f64).sin_cos();
                cos[p * d + 2 * i] = c as f32;
                cos[p * d + 2 * i + 1] = c as f32;
                sin[p * d + 2 * i] = s as f32;
                sin[p * d + 2 * i + 1] = s as f32;
            }
        }
        RopeTables { d, cos, sin }
    }
}

/// The pair-swap matrix `T`: `(x·T)[2i] = -x[2i+1]`, `(x·T)[2i+1] = x[2i]`, so `x·cos + (x·T)·sin`
/// rotates each pair; `copies` stacked 32×32 tiles (decode gives each user's core its own copy, as
/// tt-transformers' `get_rot_transformation_mat` repeat does).
pub fn trans_mat(device: &Device, copies: u32, mc: &MemoryConfig) -> Result<Tensor> {
    let mut t = vec![0.0f32; 32 * 32];
    for i in 0..16 {
        t[(2 * i + 1) * 32 + 2 * i] = -1.0;
        t[(2 * i) * 32 + 2 * i + 1] = 1.0;
    }
    Tensor::from_f32(device, &t.repeat(copies as usize), &[1, 1, 32 * copies, 32], DataType::Bfloat16, Layout::Tile, mc)
}

/// The RoPE operands of one prefill bucket: positions `0..seq_len`, uploaded once at load.
pub struct PrefillRope {
    /// `[1, 1, seq_len, head_dim]`.
    pub cos: Tensor,
    /// `[1, 1, seq_len, head_dim]`.
    pub sin: Tensor,
    /// One 32×32 tile.
    pub trans_mat: Tensor,
}

impl PrefillRope {
    /// Uploads the bucket's operands where the plan's rotary ops read them.
    pub fn upload(
        device: &Device,
        tables: &RopeTables,
        seq_len: u32,
        cos_mc: &MemoryConfig,
        trans_mat_mc: &MemoryConfig,
    ) -> Result<PrefillRope> {
        let (s, d) = (seq_len as usize, tables.d);
        if tables.cos.len() < s * d {
            return Err(Error::Shape {
                op: "load",
                message: format!("the RoPE tables hold fewer than {seq_len} positions"),
            });
        }
        let shape = [1, 1, seq_len, d as u32];
        Ok(PrefillRope {
            cos: Tensor::from_f32(device, &tables.cos[..s * d], &shape, DataType::Bfloat16, Layout::Tile, cos_mc)?,
            sin: Tensor::from_f32(device, &tables.sin[..s * d], &shape, DataType::Bfloat16, Layout::Tile, cos_mc)?,
            trans_mat: trans_mat(device, 1, trans_mat_mc)?,
        })
    }
}

/// The RoPE operands of one decode step: each user's cos/sin row at its position, repeated over
/// the 32 head rows of its shard (`[1, batch, 32, head_dim]`).
pub struct DecodeRope<'a> {
    /// Per-user cos rows.
    pub cos: Tensor,
    /// Per-user sin rows.
    pub sin: Tensor,
    /// The per-user pair-swap tiles, uploaded once at load.
    pub trans_mat: &'a Tensor,
}

impl<'a> DecodeRope<'a> {
    /// Uploads the rows of `positions` (one per user of the batch).
    pub fn upload(
        device: &Device,
        tables: &RopeTables,
        positions: &[u32],
        mc: &MemoryConfig,
        trans_mat: &'a Tensor,
    ) -> Result<DecodeRope<'a>> {
        let d = tables.d;
        let (mut cos, mut sin) =
            (Vec::with_capacity(positions.len() * 32 * d), Vec::with_capacity(positions.len() * 32 * d));
        for &p in positions {
            let p = p as usize;
            if (p + 1) * d > tables.cos.len() {
                return Err(Error::Shape { op: "decode", message: format!("position {p} is beyond the RoPE tables") });
            }
            for _ in 0..32 {
                cos.extend_from_slice(&tables.cos[p * d..(p + 1) * d]);
                sin.extend_from_slice(&tables.sin[p * d..(p + 1) * d]);
            }
        }
        let shape = [1, positions.len() as u32, 32, d as u32];
        Ok(DecodeRope {
            cos: Tensor::from_f32(device, &cos, &shape, DataType::Bfloat16, Layout::Tile, mc)?,
            sin: Tensor::from_f32(device, &sin, &shape, DataType::Bfloat16, Layout::Tile, mc)?,
            trans_mat,
        })
    }
}

/// Checks a prefill call's user and prompt against the plan.
pub fn check_prefill(user: u32, tokens: &[u32], batch: u32, max_len: u32) -> Result<()> {
    if tokens.is_empty() || tokens.len() > max_len as usize {
        return Err(Error::Shape {
            op: "prefill",
            message: format!("the plans prefill prompts of 1 to {max_len} tokens, got {}", tokens.len()),
        });
    }
    if user >= batch {
        return Err(Error::Shape {
            op: "prefill",
            message: format!("user {user} is outside the plan's batch of {batch}"),
        });
    }
    Ok(())
}

/// The inputs of one prefill call: the prompt's ids padded to the bucket (causal attention keeps
/// the padding out of the real positions).
pub struct PrefillInputs {
    /// `[1, 1, 1, seq_len]` UINT32 ids.
    pub ids: Tensor,
    /// Position of the prompt's last token.
    pub last: u32,
}

impl PrefillInputs {
    /// Pads `tokens` to `seq_len` and uploads them where the plan's embedding reads them.
    pub fn upload(device: &Device, tokens: &[u32], seq_len: u32, mc: &MemoryConfig) -> Result<PrefillInputs> {
        check_prefill(0, tokens, 1, seq_len)?;
        let mut padded = tokens.to_vec();
        padded.resize(seq_len as usize, 0);
        Ok(PrefillInputs {
            ids: Tensor::from_u32(device, &padded, &[1, 1, 1, seq_len], Layout::RowMajor, mc)?,
            last: tokens.len() as u32 - 1,
        })
    }
}

/// The inputs of one decode step: ids and positions padded to the plan's batch (missing users feed
/// token 0 at position 0 of their own cache rows).
pub struct DecodeInputs {
    /// `[1, 1, 1, batch]` UINT32 ids.
    pub ids: Tensor,
    /// Each user's position, padded to the batch.
    pub positions: Vec<u32>,
}

impl DecodeInputs {
    /// Checks and pads the step's tokens and positions and uploads the ids.
    pub fn upload(
        device: &Device,
        tokens: &[u32],
        positions: &[u32],
        batch: u32,
        max_seq_len: u32,
        mc: &MemoryConfig,
    ) -> Result<DecodeInputs> {
        let b = batch as usize;
        if tokens.is_empty() || tokens.len() > b || tokens.len() != positions.len() {
            return Err(Error::Shape {
                op: "decode",
                message: format!(
                    "1 to {b} users per step with one position each, got {} tokens and {} positions",
                    tokens.len(),
                    positions.len()
                ),
            });
        }
        if let Some(p) = positions.iter().find(|&&p| p >= max_seq_len) {
            return Err(Error::Shape {
                op: "decode",
                message: format!("position {p} is beyond the KV cache of {max_seq_len} positions"),
            });
        }
        let (mut toks, mut pos) = (tokens.to_vec(), positions.to_vec());
        toks.resize(b, 0);
        pos.resize(b, 0);
        Ok(DecodeInputs {
            ids: Tensor::from_u32(device, &toks, &[1, 1, 1, batch], Layout::RowMajor, mc)?,
            positions: pos,
        })
    }
}

/// The logits of the first `users` rows, each the LM-head pieces side by side, read back in the
/// dtype the plan gave the LM head (float32 under `accuracy`: no rounding to bfloat16 on the way
/// out; bfloat16 under `performance`).
pub fn user_logits(pieces: &[&Tensor], users: usize) -> Result<Vec<Vec<f32>>> {
    let mut out = vec![Vec::new(); users];
    for p in pieces {
        let n = *p.shape().last().unwrap_or(&0) as usize;
        let v = p.to_f32()?;
        for (u, l) in out.iter_mut().enumerate() {
            l.extend_from_slice(&v[u * n..(u + 1) * n]);
        }
    }
    Ok(out)
}

/// The logits of a prefill's last token: the LM-head pieces side by side.
pub fn last_token_logits(pieces: &[&Tensor]) -> Result<Vec<f32>> {
    Ok(user_logits(pieces, 1)?.remove(0))
}
