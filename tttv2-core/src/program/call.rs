//! The typed TT-NN call of each planned op: exactly the arguments generated code passes, so the
//! code generator emits a call from it without looking anything up, and the op trace of a run
//! can be compared with the plan argument for argument.

use serde::Serialize;

use super::op::OpKind;
use crate::op::LinearConfig;
use crate::ttnn::{
    CclTopology, ComputeKernelConfig, DataType, LayerNormProgramConfig, MemoryConfig, SDPAProgramConfig, UnaryOpType,
};

/// One TT-NN call with its typed configs. Tensor arguments are the op's [`super::TensorArg`]s, in the
/// order the call takes them; the variants hold the non-tensor arguments.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "call", rename_all = "snake_case")]
pub enum Call {
    /// `ttnn::embedding(ids, weight, memory_config, dtype, TILE)`.
    Embedding {
        /// Output memory config.
        memory_config: MemoryConfig,
        /// Output dtype.
        dtype: DataType,
    },
    /// `ttnn::reshape(x, shape)`: a view, `[1, 1, rows, width]` for the 4-D ops that follow.
    Reshape {
        /// The new shape.
        shape: [u32; 4],
        /// Output memory config (the input's).
        memory_config: MemoryConfig,
    },
    /// `ttnn::to_memory_config(x, memory_config)`: a reshard, interleave or shard.
    ToMemoryConfig {
        /// Where the tensor goes.
        memory_config: MemoryConfig,
    },
    /// `ttnn::rms_norm(x, epsilon, weight, program_config, memory_config, compute_kernel_config)`.
    RmsNorm {
        /// Epsilon.
        epsilon: f32,
        /// Program config.
        program_config: LayerNormProgramConfig,
        /// Output memory config.
        memory_config: MemoryConfig,
        /// Compute-kernel config.
        compute_kernel_config: ComputeKernelConfig,
    },
    /// `ttnn::linear(x, weight, None, ..)` with every config of [`LinearConfig`].
    Linear(LinearConfig),
    /// `ttnn::experimental::nlp_create_qkv_heads(x, num_q_heads, num_kv_heads, false, memory_config)`.
    NlpCreateQkvHeads {
        /// Query heads.
        num_q_heads: u32,
        /// KV heads.
        num_kv_heads: u32,
        /// Output memory config.
        memory_config: MemoryConfig,
    },
    /// `ttnn::experimental::nlp_create_qkv_heads_decode(x, num_q_heads, num_kv_heads)`.
    NlpCreateQkvHeadsDecode {
        /// Query heads.
        num_q_heads: u32,
        /// KV heads.
        num_kv_heads: u32,
    },
    /// `ttnn::experimental::rotary_embedding_llama(x, cos, sin, trans_mat, is_decode_mode, ..)`.
    RotaryEmbeddingLlama {
        /// Decode (HEIGHT_SHARDED, one user per core) or prefill.
        is_decode_mode: bool,
        /// Output memory config.
        memory_config: MemoryConfig,
        /// Compute-kernel config.
        compute_kernel_config: ComputeKernelConfig,
    },
    /// `ttnn::typecast(x, dtype, memory_config)`.
    Typecast {
        /// Target dtype.
        dtype: DataType,
        /// Output memory config.
        memory_config: MemoryConfig,
    },
    /// `ttnn::fill_cache(cache, x, batch_idx, 0)`: one user's prompt K or V, in place.
    FillCache,
    /// `ttnn::experimental::paged_update_cache(cache, x, update_idxs)`: each user's new row, in
    /// place.
    PagedUpdateCache,
    /// `ttnn::transformer::scaled_dot_product_attention(q, k, v, None, is_causal, scale, ..)`.
    ScaledDotProductAttention {
        /// Causal mask.
        is_causal: bool,
        /// `1 / sqrt(head_dim)`, folded at build time.
        scale: f32,
        /// Program config.
        program_config: SDPAProgramConfig,
        /// Output memory config.
        memory_config: MemoryConfig,
        /// Compute-kernel config.
        compute_kernel_config: ComputeKernelConfig,
    },
    /// `ttnn::transformer::scaled_dot_product_attention_decode(q, k_cache, v_cache, cur_pos, scale, ..)`.
    ScaledDotProductAttentionDecode {
        /// `1 / sqrt(head_dim)`, folded at build time.
        scale: f32,
        /// Program config.
        program_config: SDPAProgramConfig,
        /// Output memory config.
        memory_config: MemoryConfig,
        /// Compute-kernel config.
        compute_kernel_config: ComputeKernelConfig,
    },
    /// `ttnn::experimental::nlp_concat_heads(x, memory_config)`.
    NlpConcatHeads {
        /// Output memory config.
        memory_config: MemoryConfig,
    },
    /// `ttnn::experimental::nlp_concat_heads_decode(x, num_heads)`.
    NlpConcatHeadsDecode {
        /// Query heads.
        num_heads: u32,
    },
    /// `ttnn::add(a, b, memory_config, dtype)`.
    Add {
        /// Output memory config.
        memory_config: MemoryConfig,
        /// Output dtype.
        dtype: DataType,
    },
    /// `ttnn::multiply(a, b, memory_config, dtype, input_tensor_a_activation)`.
    Multiply {
        /// Output memory config.
        memory_config: MemoryConfig,
        /// Output dtype.
        dtype: DataType,
        /// Activation fused on `a` (SiLU for the SwiGLU gate).
        lhs_activation: Option<UnaryOpType>,
    },
    /// `ttnn::slice(x, begins, ends, memory_config)`: the last real token of the prompt (its
    /// position is known only at run time).
    SliceLastToken {
        /// Output memory config.
        memory_config: MemoryConfig,
    },
    /// `ttnn::all_reduce(x, cluster_axis, subdevice_id, memory_config, num_links, topology)`: the
    /// sum over the chips (multi-chip plans; not executable yet).
    AllReduce {
        /// The mesh axis whose chips reduce together; `None`: every chip holding the tensor.
        cluster_axis: Option<u32>,
        /// Ethernet links per hop.
        num_links: u32,
        /// Ring or line.
        topology: CclTopology,
        /// Output memory config.
        memory_config: MemoryConfig,
    },
    /// `ttnn::all_gather(x, dim, cluster_axis, subdevice_id, memory_config, .., num_links,
    /// topology)`: the chips' pieces concatenated along `dim` (multi-chip plans; not executable
    /// yet).
    AllGather {
        /// The dimension the pieces are concatenated along.
        dim: u32,
        /// The mesh axis whose chips gather together; `None`: every chip holding the tensor.
        cluster_axis: Option<u32>,
        /// Ethernet links per hop.
        num_links: u32,
        /// Ring or line.
        topology: CclTopology,
        /// Output memory config.
        memory_config: MemoryConfig,
    },
}

impl Call {
    /// The op's configs as the op trace records them: the `Debug` text of the tuple of
    /// non-tensor arguments, in call order. `tttv2::ops` formats the same tuple from what it is
    /// handed, so a trace equals the plan only when generated code passes the planned values.
    pub fn trace_config(&self) -> String {
        match self {
            Call::Embedding { memory_config, dtype } => format!("{:?}", (memory_config, dtype)),
            Call::Reshape { shape, memory_config } => format!("{:?}", (&shape[..], memory_config)),
            Call::ToMemoryConfig { memory_config } => format!("{:?}", (memory_config,)),
            Call::RmsNorm { epsilon, program_config, memory_config, compute_kernel_config } => {
                format!("{:?}", (epsilon, program_config, memory_config, compute_kernel_config))
            }
            Call::Linear(c) => format!("{c:?}"),
            Call::NlpCreateQkvHeads { num_q_heads, num_kv_heads, memory_config } => {
                format!("{:?}", (num_q_heads, num_kv_heads, false, memory_config))
            }
            Call::NlpCreateQkvHeadsDecode { num_q_heads, num_kv_heads } => format!("{:?}", (num_q_heads, num_kv_heads)),
            Call::RotaryEmbeddingLlama { is_decode_mode, memory_config, compute_kernel_config } => {
                format!("{:?}", (is_decode_mode, memory_config, compute_kernel_config))
            }
            Call::Typecast { dtype, memory_config } => format!("{:?}", (dtype, memory_config)),
            Call::FillCache | Call::PagedUpdateCache => "()".into(),
            Call::AllReduce { cluster_axis, num_links, topology, memory_config } => {
                format!("{:?}", (cluster_axis, memory_config, num_links, topology))
            }
            Call::AllGather { dim, cluster_axis, num_links, topology, memory_config } => {
                format!("{:?}", (dim, cluster_axis, memory_config, num_links, topology))
            }
            Call::ScaledDotProductAttention {
                is_causal,
                scale,
                program_config,
                memory_config,
                compute_kernel_config,
            } => {
                format!("{:?}", (is_causal, Some(scale), program_config, memory_config, compute_kernel_config))
            }
            Call::ScaledDotProductAttentionDecode { scale, program_config, memory_config, compute_kernel_config } => {
                format!("{:?}", (Some(scale), program_config, memory_config, compute_kernel_config))
            }
            Call::NlpConcatHeads { memory_config } => format!("{:?}", (memory_config,)),
            Call::NlpConcatHeadsDecode { num_heads } => format!("{:?}", (num_heads,)),
            Call::Add { memory_config, dtype } => format!("{:?}", (memory_config, dtype)),
            Call::Multiply { memory_config, dtype, lhs_activation } => {
                format!("{:?}", (memory_config, dtype, lhs_activation))
            }
            Call::SliceLastToken { memory_config } => format!("{:?}", (memory_config,)),
        }
    }

    /// What kind of op the call is.
    pub fn kind(&self) -> OpKind {
        match self {
            Call::Embedding { .. } => OpKind::Embedding,
            Call::Reshape { .. } => OpKind::Reshape,
            Call::ToMemoryConfig { .. } => OpKind::ToMemoryConfig,
            Call::RmsNorm { .. } => OpKind::RmsNorm,
            Call::Linear(_) => OpKind::Linear,
            Call::NlpCreateQkvHeads { .. } | Call::NlpCreateQkvHeadsDecode { .. } => OpKind::CreateQkvHeads,
            Call::RotaryEmbeddingLlama { .. } => OpKind::RotaryEmbedding,
            Call::Typecast { .. } => OpKind::Typecast,
            Call::FillCache | Call::PagedUpdateCache => OpKind::KvCacheUpdate,
            Call::ScaledDotProductAttention { .. } | Call::ScaledDotProductAttentionDecode { .. } => OpKind::Sdpa,
            Call::NlpConcatHeads { .. } | Call::NlpConcatHeadsDecode { .. } => OpKind::ConcatHeads,
            Call::Add { .. } => OpKind::Add,
            Call::Multiply { .. } => OpKind::Multiply,
            Call::SliceLastToken { .. } => OpKind::Slice,
            Call::AllReduce { .. } => OpKind::AllReduce,
            Call::AllGather { .. } => OpKind::AllGather,
        }
    }

    /// The TT-NN function the TT-NN backend calls, with its C++ namespace.
    pub fn ttnn_op(&self) -> &'static str {
        match self {
            Call::NlpCreateQkvHeads { .. } => "ttnn::experimental::nlp_create_qkv_heads",
            Call::NlpCreateQkvHeadsDecode { .. } => "ttnn::experimental::nlp_create_qkv_heads_decode",
            Call::RotaryEmbeddingLlama { .. } => "ttnn::experimental::rotary_embedding_llama",
            Call::PagedUpdateCache => "ttnn::experimental::paged_update_cache",
            Call::NlpConcatHeads { .. } => "ttnn::experimental::nlp_concat_heads",
            Call::NlpConcatHeadsDecode { .. } => "ttnn::experimental::nlp_concat_heads_decode",
            Call::ScaledDotProductAttention { .. } => "ttnn::transformer::scaled_dot_product_attention",
            Call::ScaledDotProductAttentionDecode { .. } => "ttnn::transformer::scaled_dot_product_attention_decode",
            Call::Embedding { .. } => "ttnn::embedding",
            Call::Reshape { .. } => "ttnn::reshape",
            Call::ToMemoryConfig { .. } => "ttnn::to_memory_config",
            Call::RmsNorm { .. } => "ttnn::rms_norm",
            Call::Linear(_) => "ttnn::linear",
            Call::Typecast { .. } => "ttnn::typecast",
            Call::FillCache => "ttnn::fill_cache",
            Call::Add { .. } => "ttnn::add",
            Call::Multiply { .. } => "ttnn::multiply",
            Call::SliceLastToken { .. } => "ttnn::slice",
            Call::AllReduce { .. } => "ttnn::all_reduce",
            Call::AllGather { .. } => "ttnn::all_gather",
        }
    }

    /// The `tttv2::ops` function the call is (named as TT-NN names the op).
    pub fn op_fn(&self) -> &'static str {
        match self {
            Call::Embedding { .. } => "embedding",
            Call::Reshape { .. } => "reshape",
            Call::ToMemoryConfig { .. } => "to_memory_config",
            Call::RmsNorm { .. } => "rms_norm",
            Call::Linear(_) => "linear",
            Call::NlpCreateQkvHeads { .. } => "nlp_create_qkv_heads",
            Call::NlpCreateQkvHeadsDecode { .. } => "nlp_create_qkv_heads_decode",
            Call::RotaryEmbeddingLlama { .. } => "rotary_embedding_llama",
            Call::Typecast { .. } => "typecast",
            Call::FillCache => "fill_cache",
            Call::PagedUpdateCache => "paged_update_cache",
            Call::ScaledDotProductAttention { .. } => "scaled_dot_product_attention",
            Call::ScaledDotProductAttentionDecode { .. } => "scaled_dot_product_attention_decode",
            Call::NlpConcatHeads { .. } => "nlp_concat_heads",
            Call::NlpConcatHeadsDecode { .. } => "nlp_concat_heads_decode",
            Call::Add { .. } => "add",
            Call::Multiply { .. } => "multiply",
            Call::SliceLastToken { .. } => "slice",
            Call::AllReduce { .. } => "all_reduce",
            Call::AllGather { .. } => "all_gather",
        }
    }
}
