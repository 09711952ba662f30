//! A planned op and the program it belongs to: what generated code runs, what the manifest and
//! the graph describe.

use std::collections::BTreeMap;

use serde::Serialize;

use super::call::Call;
use super::role::Role;
use super::tensor::{TensorArg, TensorRef};
use crate::plan::Mode;
use crate::ttnn::{ComputeKernelConfig, DataType, MemoryConfig, OpProgramConfig};

/// What kind of op a planned op is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OpKind {
    /// Token-id → hidden-state lookup.
    Embedding,
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

/// One op of a plan, with every config TT-NN needs. Its kind and TT-NN function are its
/// [`Call`]'s ([`PlannedOp::kind`], [`PlannedOp::ttnn_op`]); the manifest writes them as `op`
/// and `ttnn_op`.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedOp {
    /// Unique name, e.g. `layers.0.attention.wqkv`.
    pub name: String,
    /// Prefill or decode.
    pub mode: Mode,
    /// Decoder layer, if inside one.
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
    /// Ethernet bytes each chip sends (collectives; 0 for every other op).
    pub eth_bytes: u64,
    /// The TT-NN call with its typed configs (the manifest shows them by role above).
    pub call: Call,
    /// Tensor arguments, in call order (the manifest lists their names).
    pub inputs: Vec<TensorArg>,
    /// Tensors the op returns, in order (none for in-place cache writes).
    pub outputs: Vec<TensorArg>,
    /// Locals whose last use is this op: generated code deallocates them right after it.
    pub deallocate: Vec<String>,
}

impl PlannedOp {
    /// What kind of op it is.
    pub fn kind(&self) -> OpKind {
        self.call.kind()
    }

    /// The TT-NN function the backend calls.
    pub fn ttnn_op(&self) -> &'static str {
        self.call.ttnn_op()
    }
}

/// A planned op as the manifest writes it.
#[derive(Serialize)]
struct ManifestOp<'a> {
    name: &'a str,
    op: OpKind,
    ttnn_op: &'static str,
    mode: Mode,
    #[serde(skip_serializing_if = "Option::is_none")]
    layer: Option<u32>,
    weights: &'a [String],
    shapes: &'a OpShapes,
    program_config: &'a Option<OpProgramConfig>,
    compute_kernel_config: &'a Option<ComputeKernelConfig>,
    memory_configs: &'a BTreeMap<Role, MemoryConfig>,
    dtypes: &'a BTreeMap<Role, DataType>,
    l1_peak_bytes_per_core: u64,
    estimate_us: f64,
    cores: u32,
    dram_bytes: u64,
    weight_bytes: u64,
    #[serde(skip_serializing_if = "is_zero")]
    eth_bytes: u64,
    inputs: Vec<&'a TensorRef>,
    outputs: Vec<&'a TensorRef>,
    deallocate: &'a [String],
}

fn is_zero(v: &u64) -> bool {
    *v == 0
}

impl Serialize for PlannedOp {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        ManifestOp {
            name: &self.name,
            op: self.kind(),
            ttnn_op: self.ttnn_op(),
            mode: self.mode,
            layer: self.layer,
            weights: &self.weights,
            shapes: &self.shapes,
            program_config: &self.program_config,
            compute_kernel_config: &self.compute_kernel_config,
            memory_configs: &self.memory_configs,
            dtypes: &self.dtypes,
            l1_peak_bytes_per_core: self.l1_peak_bytes_per_core,
            estimate_us: self.estimate_us,
            cores: self.cores,
            dram_bytes: self.dram_bytes,
            weight_bytes: self.weight_bytes,
            eth_bytes: self.eth_bytes,
            inputs: self.inputs.iter().map(|t| &t.tensor).collect(),
            outputs: self.outputs.iter().map(|t| &t.tensor).collect(),
            deallocate: &self.deallocate,
        }
        .serialize(s)
    }
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

/// One op call as the op trace records it: the `tttv2::ops` function, the `Debug` text of its
/// configs ([`Call::trace_config`]) and the dtype and memory config of each tensor argument.
pub type TracedCall = (&'static str, String, Vec<(DataType, MemoryConfig)>);

/// The calls running `ops` makes, in order: what a recorded op trace of the generated code must
/// equal.
pub fn op_trace(ops: &[PlannedOp]) -> Vec<TracedCall> {
    ops.iter()
        .map(|o| (o.call.op_fn(), o.call.trace_config(), o.inputs.iter().map(|t| (t.dtype, t.memory_config)).collect()))
        .collect()
}
