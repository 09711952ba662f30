//! Typed configs of a Llama prefill, extracted from a [`LlamaPlan`]: what generated code passes to
//! each op, as `const`-constructible values. Identical decoder layers share one
//! [`DecoderLayerConfig`].

use std::borrow::Cow;

use serde::Serialize;

use crate::plan::Mode;
use crate::plan::llama::{LlamaPlan, OpKind, PlannedOp};
use crate::ttnn::{
    ComputeKernelConfig, DataType, MatmulProgramConfig, MemoryConfig, OpProgramConfig, SDPAProgramConfig,
};

use super::LinearConfig;

/// An RMSNorm.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct NormConfig {
    /// Epsilon.
    pub epsilon: f32,
    /// dtype of the weight.
    pub weight_dtype: DataType,
    /// Where the weight lives.
    pub weight_memory_config: MemoryConfig,
    /// Compute-kernel config.
    pub compute_kernel_config: ComputeKernelConfig,
    /// Output memory config.
    pub memory_config: MemoryConfig,
}

/// The token-embedding lookup.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct EmbeddingConfig {
    /// Vocabulary size.
    pub vocab: u32,
    /// Hidden size.
    pub hidden: u32,
    /// dtype of the table.
    pub weight_dtype: DataType,
    /// Where the table lives.
    pub weight_memory_config: MemoryConfig,
    /// Where the token ids are uploaded.
    pub input_memory_config: MemoryConfig,
    /// Output memory config.
    pub memory_config: MemoryConfig,
    /// Output dtype.
    pub dtype: DataType,
}

/// Attention of one decoder layer (prefill).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct AttentionConfig {
    /// Query heads.
    pub heads: u32,
    /// Key/value heads.
    pub kv_heads: u32,
    /// Head width.
    pub head_dim: u32,
    /// The fused QKV projection.
    pub wqkv: LinearConfig,
    /// Where the split heads go.
    pub heads_memory_config: MemoryConfig,
    /// Rotary embedding's compute-kernel config.
    pub rotary_compute_kernel_config: ComputeKernelConfig,
    /// KV-cache dtype.
    pub kv_cache_dtype: DataType,
    /// Where the KV cache lives.
    pub kv_cache_memory_config: MemoryConfig,
    /// SDPA program config.
    pub sdpa: SDPAProgramConfig,
    /// SDPA compute-kernel config.
    pub sdpa_compute_kernel_config: ComputeKernelConfig,
    /// SDPA output memory config.
    pub sdpa_memory_config: MemoryConfig,
    /// The attention scale `1 / sqrt(head_dim)`, folded at build time and passed to SDPA (as
    /// tt-transformers passes `scale=self.scale`).
    pub sdpa_scale: f32,
    /// Where the merged heads go.
    pub concat_memory_config: MemoryConfig,
    /// The output projection.
    pub wo: LinearConfig,
}

/// The gated MLP of one decoder layer.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct MlpConfig {
    /// Gate projection.
    pub w1: LinearConfig,
    /// Up projection.
    pub w3: LinearConfig,
    /// SiLU(gate) × up output memory config.
    pub multiply_memory_config: MemoryConfig,
    /// Down projection.
    pub w2: LinearConfig,
}

/// One decoder layer.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct DecoderLayerConfig {
    /// Norm before attention.
    pub attention_norm: NormConfig,
    /// Attention.
    pub attention: AttentionConfig,
    /// Residual adds' output memory config.
    pub residual_memory_config: MemoryConfig,
    /// Norm before the MLP.
    pub ffn_norm: NormConfig,
    /// MLP.
    pub mlp: MlpConfig,
}

/// A whole Llama prefill of `seq_len` tokens for one user.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LlamaPrefillConfig {
    /// Prompt length the configs were chosen for.
    pub seq_len: u32,
    /// Decoder layers.
    pub layers: u32,
    /// RoPE inverse frequencies `θ_i` (head_dim / 2 values, Llama 3 scaling applied), folded
    /// at build time; the cos/sin tables over positions are computed from them at load.
    pub rope_inv_freq: Cow<'static, [f32]>,
    /// Embedding.
    pub embedding: EmbeddingConfig,
    /// Every decoder layer (they are identical in the plan).
    pub layer: DecoderLayerConfig,
    /// Final norm.
    pub final_norm: NormConfig,
    /// Where the last token's hidden state goes.
    pub last_token_memory_config: MemoryConfig,
    /// The LM head's column pieces, in vocabulary order (one piece unless the plan splits it,
    /// as tt-transformers' `LMHead` does when one matmul does not fit L1).
    pub lm_head: Cow<'static, [LinearConfig]>,
}

/// The LM head's matmuls (`lm_head`, or `lm_head.0`, `lm_head.1`, … when split), in order.
pub(super) fn lm_head_pieces(plan: &LlamaPlan) -> Result<Vec<LinearConfig>, String> {
    let pieces = plan
        .ops
        .iter()
        .filter(|o| o.op == OpKind::Linear && (o.name == "lm_head" || o.name.starts_with("lm_head.")))
        .map(linear)
        .collect::<Result<Vec<_>, _>>()?;
    if pieces.is_empty() {
        return Err("the plan has no LM head".into());
    }
    Ok(pieces)
}

pub(super) fn find<'a>(plan: &'a LlamaPlan, name: &str) -> Result<&'a PlannedOp, String> {
    plan.ops.iter().find(|o| o.name == name).ok_or_else(|| format!("the plan has no op `{name}`"))
}

pub(super) fn mc(op: &PlannedOp, role: &str) -> Result<MemoryConfig, String> {
    op.memory_configs.get(role).copied().ok_or_else(|| format!("op `{}` has no `{role}` memory config", op.name))
}

pub(super) fn dt(op: &PlannedOp, role: &str) -> Result<DataType, String> {
    op.dtypes.get(role).copied().ok_or_else(|| format!("op `{}` has no `{role}` dtype", op.name))
}

pub(super) fn ckc(op: &PlannedOp) -> Result<ComputeKernelConfig, String> {
    op.compute_kernel_config.ok_or_else(|| format!("op `{}` has no compute-kernel config", op.name))
}

pub(super) fn linear(op: &PlannedOp) -> Result<LinearConfig, String> {
    let program_config: MatmulProgramConfig = match op.program_config {
        Some(OpProgramConfig::Matmul(pc)) => pc,
        _ => return Err(format!("op `{}` has no matmul program config", op.name)),
    };
    let (Some(m), Some(k), Some(n)) = (op.shapes.m, op.shapes.k, op.shapes.n) else {
        return Err(format!("op `{}` has no matmul shape", op.name));
    };
    Ok(LinearConfig {
        m,
        k,
        n,
        bias: false,
        input_dtype: dt(op, "input")?,
        input_memory_config: mc(op, "input")?,
        weight_dtype: dt(op, "weight")?,
        weight_memory_config: mc(op, "weight")?,
        program_config,
        compute_kernel_config: ckc(op)?,
        memory_config: mc(op, "output")?,
        dtype: dt(op, "output")?,
    })
}

pub(super) fn norm(op: &PlannedOp, epsilon: f32) -> Result<NormConfig, String> {
    Ok(NormConfig {
        epsilon,
        weight_dtype: dt(op, "weight")?,
        weight_memory_config: mc(op, "weight")?,
        compute_kernel_config: ckc(op)?,
        memory_config: mc(op, "output")?,
    })
}

fn layer(plan: &LlamaPlan, i: u32, eps: f32) -> Result<DecoderLayerConfig, String> {
    let op = |s: &str| find(plan, &format!("layers.{i}.{s}"));
    let m = &plan.model;
    let sdpa_op = op("attention.sdpa")?;
    let sdpa = match sdpa_op.program_config {
        Some(OpProgramConfig::Sdpa(t)) => {
            let crate::ttnn::TaggedSdpa::Config(c) = t;
            c
        }
        _ => return Err("the SDPA op has no SDPA program config".into()),
    };
    let fill = op("attention.fill_cache_k")?;
    Ok(DecoderLayerConfig {
        attention_norm: norm(op("attention_norm")?, eps)?,
        attention: AttentionConfig {
            heads: m.num_attention_heads,
            kv_heads: m.num_key_value_heads,
            head_dim: m.head_dim,
            wqkv: linear(op("attention.wqkv")?)?,
            heads_memory_config: mc(op("attention.create_heads")?, "q")?,
            rotary_compute_kernel_config: ckc(op("attention.rotary_q")?)?,
            kv_cache_dtype: dt(fill, "cache")?,
            kv_cache_memory_config: mc(fill, "cache")?,
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

/// RoPE inverse frequencies of the planned model ([`crate::hf::LlamaConfig::rope_inv_freq`]).
pub fn rope_inv_freq(model: &crate::hf::LlamaConfig) -> Vec<f32> {
    model.rope_inv_freq()
}

/// `1 / sqrt(head_dim)`, SDPA's scale.
pub(super) fn sdpa_scale(head_dim: u32) -> f32 {
    (1.0 / (head_dim as f64).sqrt()) as f32
}

/// The embedding lookup's configs.
pub(super) fn embedding(plan: &LlamaPlan) -> Result<EmbeddingConfig, String> {
    let e = find(plan, "embedding")?;
    let m = &plan.model;
    Ok(EmbeddingConfig {
        vocab: m.vocab_size,
        hidden: m.hidden_size,
        weight_dtype: dt(e, "weight")?,
        weight_memory_config: mc(e, "weight")?,
        input_memory_config: mc(e, "input")?,
        memory_config: mc(e, "output")?,
        dtype: dt(e, "output")?,
    })
}

impl LlamaPrefillConfig {
    /// Extracts the configs of a single-chip, single-user prefill plan. Fails (with the reason)
    /// on plans generated code cannot run yet: decode, multi-chip, per-layer differences, a split
    /// LM head.
    pub fn from_plan(plan: &LlamaPlan) -> Result<Self, String> {
        if plan.options.mode != Mode::Prefill || plan.options.batch != 1 {
            return Err("generated code runs single-user prefill plans only so far".into());
        }
        if plan.mesh != (1, 1) {
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
        if plan.ops.iter().any(|o| matches!(o.op, OpKind::AllReduce | OpKind::AllGather)) {
            return Err("the plan has collectives; generated code is single-chip only so far".into());
        }
        Ok(LlamaPrefillConfig {
            seq_len: plan.options.seq_len,
            layers: m.num_hidden_layers,
            rope_inv_freq: Cow::Owned(rope_inv_freq(m)),
            embedding: embedding(plan)?,
            layer: first,
            final_norm: norm(find(plan, "final_norm")?, eps)?,
            last_token_memory_config: mc(find(plan, "slice_last_token")?, "output")?,
            lm_head: Cow::Owned(lm_head_pieces(plan)?),
        })
    }
}
