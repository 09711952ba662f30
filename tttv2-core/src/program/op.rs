//! A planned op and the program it belongs to: what generated code runs, what the manifest and
//! the graph describe.

use std::collections::BTreeMap;

use serde::Serialize;

use super::call::{Call, TensorArg};
use super::role::Role;
use crate::plan::Mode;
use crate::ttnn::{ComputeKernelConfig, DataType, MemoryConfig, OpProgramConfig};

/// What kind of op a planned op is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OpKind {
    /// Token-id → hidden-state lookup.
    Embedding,
    /// Interleaved → sharded copy.
    InterleavedToSharded,
    /// Sharded → interleaved copy.
    ShardedToInterleaved,
    /// RMSNorm.
    RmsNorm,
    /// Matmul with a weight.
    Linear,
    /// Split the fused QKV output into heads.
    CreateQkvHeads,
    /// Rotary position embedding.
    RotaryEmbedding,
    /// Write new K/V into the cache.
    KvCacheUpdate,
    /// Scaled dot-product attention.
    Sdpa,
    /// Merge the heads back.
    ConcatHeads,
    /// Elementwise add (residual).
    Add,
    /// Elementwise multiply (SwiGLU gate with fused SiLU).
    Multiply,
    /// Slice (last token of each prompt before the LM head).
    Slice,
    /// A view under another shape.
    Reshape,
    /// A move between memory configs (reshard, shard, interleave).
    ToMemoryConfig,
    /// dtype conversion (K/V to the cache's dtype before `fill_cache` in prefill).
    Typecast,
    /// Sum partial results across chips.
    AllReduce,
    /// Gather shards across chips.
    AllGather,
}

/// Shapes of a planned op. Matmuls give `m`, `k`, `n` (per chip); every op gives its tensors'
/// logical 4D shapes by role.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct OpShapes {
    /// Rows of the activation (all batch dims folded).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub m: Option<u32>,
    /// Inner dimension.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub k: Option<u32>,
    /// Output features.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub n: Option<u32>,
    /// 4D shapes by tensor role (`input`, `weight`, `output`, `cache`…).
    pub tensors: BTreeMap<Role, [u32; 4]>,
}

fn tensor_names<S: serde::Serializer>(args: &[TensorArg], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(args.iter().map(|a| a.name.as_str()))
}

/// One op of a plan, with every config TT-NN needs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlannedOp {
    /// Unique name, e.g. `layers.0.attention.wqkv`.
    pub name: String,
    /// Kind.
    pub op: OpKind,
    /// The TT-NN function the backend calls.
    pub ttnn_op: &'static str,
    /// Prefill or decode.
    pub mode: Mode,
    /// Decoder layer, if inside one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub layer: Option<u32>,
    /// Hugging Face weight names consumed.
    pub weights: Vec<String>,
    /// Shapes.
    pub shapes: OpShapes,
    /// Program config, `{"type": <TT-NN struct>, …}`; `None` for ops without one.
    pub program_config: Option<OpProgramConfig>,
    /// Compute-kernel config, for ops that take one.
    pub compute_kernel_config: Option<ComputeKernelConfig>,
    /// Memory config per tensor role.
    pub memory_configs: BTreeMap<Role, MemoryConfig>,
    /// dtype per tensor role.
    pub dtypes: BTreeMap<Role, DataType>,
    /// Peak L1 per core (circular buffers plus the L1-sharded tensors the op touches), bytes.
    pub l1_peak_bytes_per_core: u64,
    /// Estimated time, µs.
    pub estimate_us: f64,
    /// Cores used.
    pub cores: u32,
    /// DRAM bytes moved.
    pub dram_bytes: u64,
    /// Weight bytes the op reads per call (per chip; stored size for matmul weights, gathered
    /// rows for the embedding).
    pub weight_bytes: u64,
    /// The TT-NN call with its typed configs (the manifest shows them by role above).
    #[serde(skip)]
    pub call: Call,
    /// Tensor arguments, in call order (the manifest lists their names).
    #[serde(serialize_with = "tensor_names")]
    pub inputs: Vec<TensorArg>,
    /// Tensors the op returns, in order (none for in-place cache writes).
    #[serde(serialize_with = "tensor_names")]
    pub outputs: Vec<TensorArg>,
    /// Locals whose last use is this op: generated code deallocates them right after it.
    pub deallocate: Vec<String>,
}

/// The distinct plan of some decoder layers: layers whose ops are planned alike share one, so
/// generated code has one function per distinct plan. Op names are relative to the layer
/// (`attention.wqkv`); the flattened [`LlamaPlan::ops`] prefixes `layers.{i}.`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LayerPlan {
    /// The layers that run this plan, ascending.
    pub layers: Vec<u32>,
    /// Its ops, in order. The layer's input is the local `h`; its output is `h_out`.
    pub ops: Vec<PlannedOp>,
}

/// The program of one forward call, as generated code runs it: the ops before the decoder
/// layers (input `step.ids`, output `h`), the distinct layer plans, the ops after them (input `h`,
/// outputs the logits pieces).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Program {
    /// Embedding and the moves that put the hidden state where the layers want it.
    pub prologue: Vec<PlannedOp>,
    /// Distinct decoder-layer plans, each with the layers that run it.
    pub layer_plans: Vec<LayerPlan>,
    /// Final norm, last-token slice (prefill) and the LM head pieces.
    pub epilogue: Vec<PlannedOp>,
}

impl Program {
    /// The plan index of every layer, in layer order.
    pub fn layer_plan_of(&self) -> Vec<usize> {
        let n = self.layer_plans.iter().map(|p| p.layers.len()).sum();
        let mut of = vec![0; n];
        for (i, p) in self.layer_plans.iter().enumerate() {
            for &l in &p.layers {
                of[l as usize] = i;
            }
        }
        of
    }

    /// Every op in execution order, layer ops named `layers.{i}.{name}` with their layer set.
    pub fn flatten(&self) -> Vec<PlannedOp> {
        let mut ops = self.prologue.clone();
        for (l, &p) in self.layer_plan_of().iter().enumerate() {
            for op in &self.layer_plans[p].ops {
                let mut op = op.clone();
                op.layer = Some(l as u32);
                op.name = format!("layers.{l}.{}", op.name);
                op.weights = op.weights.iter().map(|w| w.replace("{layer}", &l.to_string())).collect();
                ops.push(op);
            }
        }
        ops.extend(self.epilogue.iter().cloned());
        ops
    }
}
