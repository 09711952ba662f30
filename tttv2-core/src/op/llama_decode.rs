//! Typed configs of a Llama decode step (one new token for each of up to 32 users), extracted
//! from a decode [`LlamaPlan`]: what the runtime passes to each op, as `const`-constructible
//! values.
//!
//! The decode plan keeps the hidden state WIDTH_SHARDED in L1, runs every matmul as a
//! DRAM-sharded GEMV, splits heads HEIGHT_SHARDED one user per core, rotates q and k with per-user
//! cos/sin rows, writes each user's new K/V at its own position and attends with
//! `scaled_dot_product_attention_decode` (tt-transformers' decode path,
//! `models/tt_transformers/tt/attention.py::forward_decode`).

use std::borrow::Cow;

use serde::Serialize;

use crate::plan::Mode;
use crate::plan::llama::{LlamaPlan, OpKind};
use crate::ttnn::{ComputeKernelConfig, DataType, MemoryConfig, OpProgramConfig, SDPAProgramConfig};

use super::LinearConfig;
use super::llama::{EmbeddingConfig, MlpConfig, NormConfig, ckc, dt, embedding, find, linear, lm_head_pieces, mc, norm, rope_inv_freq, sdpa_scale};

/// Attention of one decoder layer in decode.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct DecodeAttentionConfig {
    /// Query heads.
    pub heads: u32,
    /// Key/value heads.
    pub kv_heads: u32,
    /// Head width.
    pub head_dim: u32,
    /// The fused QKV projection.
    pub wqkv: LinearConfig,
    /// Where the split heads go (HEIGHT_SHARDED, one user per core).
    pub heads_memory_config: MemoryConfig,
    /// Where each step's per-user cos/sin rows go (`[1, batch, 32, head_dim]`).
    pub rope_memory_config: MemoryConfig,
    /// Where the pair-swap matrix goes (one `[32, 32]` tile per user core).
    pub trans_mat_memory_config: MemoryConfig,
    /// Rotary embedding's compute-kernel config.
    pub rotary_compute_kernel_config: ComputeKernelConfig,
    /// KV-cache dtype.
    pub kv_cache_dtype: DataType,
    /// Where the KV cache lives.
    pub kv_cache_memory_config: MemoryConfig,
    /// SDPA-decode program config.
    pub sdpa: SDPAProgramConfig,
    /// SDPA-decode compute-kernel config.
    pub sdpa_compute_kernel_config: ComputeKernelConfig,
    /// SDPA-decode output memory config.
    pub sdpa_memory_config: MemoryConfig,
    /// The attention scale `1 / sqrt(head_dim)`, folded at build time and passed to SDPA (as
    /// tt-transformers passes `scale=self.scale`).
    pub sdpa_scale: f32,
    /// Where the merged heads go.
    pub concat_memory_config: MemoryConfig,
    /// The output projection.
    pub wo: LinearConfig,
}

/// One decoder layer in decode.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct DecodeLayerConfig {
    /// Norm before attention.
    pub attention_norm: NormConfig,
    /// Attention.
    pub attention: DecodeAttentionConfig,
    /// Residual adds' output memory config.
    pub residual_memory_config: MemoryConfig,
    /// Norm before the MLP.
    pub ffn_norm: NormConfig,
    /// MLP.
    pub mlp: MlpConfig,
}

/// A whole Llama decode step for `batch` users with a KV cache of `max_seq_len` positions.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LlamaDecodeConfig {
    /// Users per step (the plan's batch; fewer may be active).
    pub batch: u32,
    /// Positions the KV cache holds per user.
    pub max_seq_len: u32,
    /// Decoder layers.
    pub layers: u32,
    /// RoPE inverse frequencies `θ_i` (head_dim / 2 values, Llama 3 scaling applied), folded
    /// at build time; the cos/sin tables over positions are computed from them at load.
    pub rope_inv_freq: Cow<'static, [f32]>,
    /// Embedding.
    pub embedding: EmbeddingConfig,
    /// Where the hidden state lives between ops (the embedding's output is moved there).
    pub hidden_memory_config: MemoryConfig,
    /// Every decoder layer (they are identical in the plan).
    pub layer: DecodeLayerConfig,
    /// Final norm.
    pub final_norm: NormConfig,
    /// The LM head, split into column pieces when one matmul does not fit L1 (tt-transformers'
    /// `LMHead` does the same); the logits are the pieces side by side.
    pub lm_head: Cow<'static, [LinearConfig]>,
}

fn layer(plan: &LlamaPlan, i: u32, eps: f32) -> Result<DecodeLayerConfig, String> {
    let op = |s: &str| find(plan, &format!("layers.{i}.{s}"));
    let m = &plan.model;
    let sdpa_op = op("attention.sdpa")?;
    let sdpa = match sdpa_op.program_config {
        Some(OpProgramConfig::Sdpa(crate::ttnn::TaggedSdpa::Config(c))) => c,
        _ => return Err("the SDPA op has no SDPA program config".into()),
    };
    let rotary = op("attention.rotary_qk")?;
    let update = op("attention.kv_cache_update")?;
    Ok(DecodeLayerConfig {
        attention_norm: norm(op("attention_norm")?, eps)?,
        attention: DecodeAttentionConfig {
            heads: m.num_attention_heads,
            kv_heads: m.num_key_value_heads,
            head_dim: m.head_dim,
            wqkv: linear(op("attention.wqkv")?)?,
            heads_memory_config: mc(op("attention.create_heads")?, "q")?,
            rope_memory_config: mc(rotary, "cos")?,
            trans_mat_memory_config: mc(rotary, "trans_mat")?,
            rotary_compute_kernel_config: ckc(rotary)?,
            kv_cache_dtype: dt(update, "k_cache")?,
            kv_cache_memory_config: mc(update, "k_cache")?,
            sdpa,
            sdpa_compute_kernel_config: ckc(sdpa_op)?,
            sdpa_memory_config: mc(sdpa_op, "output")?,
            sdpa_scale: sdpa_scale(m.head_dim),
            concat_memory_config: mc(op("attention.concat_heads")?, "output")?,
            wo: linear(op("attention.wo")?)?,
        },
        residual_memory_config: mc(op("attention.residual_add")?, "output")?,
        ffn_norm: norm(op("ffn_norm")?, eps)?,
        mlp: MlpConfig {
            w1: linear(op("mlp.w1")?)?,
            w3: linear(op("mlp.w3")?)?,
            multiply_memory_config: mc(op("mlp.silu_mul")?, "output")?,
            w2: linear(op("mlp.w2")?)?,
        },
    })
}

impl LlamaDecodeConfig {
    /// Extracts the configs of a single-chip decode plan with at most 32 users (the sharded,
    /// DRAM-sharded-GEMV plan). Fails (with the reason) on plans the runtime cannot run yet:
    /// multi-chip, more than 32 users, per-layer differences.
    pub fn from_plan(plan: &LlamaPlan) -> Result<Self, String> {
        if plan.options.mode != Mode::Decode {
            return Err("not a decode plan".into());
        }
        if plan.options.batch > 32 {
            return Err("the runtime decodes at most 32 users per step (one tile row) so far".into());
        }
        if plan.mesh != (1, 1) || plan.ops.iter().any(|o| matches!(o.op, OpKind::AllReduce | OpKind::AllGather)) {
            return Err("generated code runs single-chip plans only so far".into());
        }
        let m = &plan.model;
        let eps = m.rms_norm_eps as f32;
        let first = layer(plan, 0, eps)?;
        for i in 1..m.num_hidden_layers {
            if layer(plan, i, eps)? != first {
                return Err(format!("layer {i} is planned differently from layer 0; per-layer configs are not generated yet"));
            }
        }
        let lm_head = lm_head_pieces(plan)?;
        Ok(LlamaDecodeConfig {
            batch: plan.options.batch,
            max_seq_len: plan.options.seq_len,
            layers: m.num_hidden_layers,
            rope_inv_freq: Cow::Owned(rope_inv_freq(m)),
            embedding: embedding(plan)?,
            hidden_memory_config: match find(plan, "embedding.to_sharded") {
                Ok(op) => mc(op, "output")?,
                Err(_) => mc(find(plan, "embedding")?, "output")?,
            },
            layer: first,
            final_norm: norm(find(plan, "final_norm")?, eps)?,
            lm_head: Cow::Owned(lm_head),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::device::SystemProfile;
    use crate::hf::LlamaConfig;
    use crate::plan::Policy;
    use crate::plan::llama::{LlamaOptions, plan_llama};

    fn small() -> LlamaConfig {
        LlamaConfig::from_json_str(
            r#"{"architectures":["LlamaForCausalLM"],"hidden_size":512,"intermediate_size":1536,
            "num_attention_heads":8,"num_key_value_heads":2,"num_hidden_layers":2,"vocab_size":2048,
            "rms_norm_eps":1e-5,"rope_theta":10000.0,"max_position_embeddings":2048}"#,
        )
        .unwrap()
    }

    #[test]
    fn extracts_a_sharded_decode_plan() {
        let opts = LlamaOptions { seq_len: 256, policy: Policy::Performance, ..LlamaOptions::new(Mode::Decode, 4) };
        let plan = plan_llama(&small(), &SystemProfile::by_name("n150").unwrap(), &opts).unwrap();
        let c = LlamaDecodeConfig::from_plan(&plan).unwrap();
        assert_eq!((c.batch, c.max_seq_len, c.layers), (4, 256, 2));
        assert!(c.hidden_memory_config.is_sharded());
        assert_eq!(c.layer.attention.wqkv.n, (8 + 2 * 2) * 64);
        assert_eq!(c.lm_head.iter().map(|l| l.n).sum::<u32>(), 2048);
        assert_eq!(c.layer.attention.kv_cache_dtype, DataType::Bfloat8B);
    }

    #[test]
    fn rejects_prefill_and_large_batches() {
        let sys = SystemProfile::by_name("n150").unwrap();
        let prefill = LlamaOptions::new(Mode::Prefill, 1);
        assert!(LlamaDecodeConfig::from_plan(&plan_llama(&small(), &sys, &prefill).unwrap()).is_err());
        let big = LlamaOptions::new(Mode::Decode, 64);
        let e = LlamaDecodeConfig::from_plan(&plan_llama(&small(), &sys, &big).unwrap()).unwrap_err();
        assert!(e.contains("32 users"), "{e}");
    }
}
