use std::collections::BTreeMap;

use serde::Serialize;

use crate::plan::{Mode, PlanError, Policy};
use crate::rules::Rule;
use crate::ttnn::{ComputeKernelConfig, DataType, MathFidelity, MemoryConfig, OpProgramConfig};

use super::call::{Call, TensorArg};

/// What the plan should favour when candidates tie on time or nearly so.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OptimizeFor {
    /// The fastest config per op.
    Latency,
    /// Among configs within [`THROUGHPUT_SLACK`] of the fastest, the one occupying the fewest
    /// cores (core-µs): it leaves cores free for work that overlaps (sub-devices, prefetchers)
    /// at a negligible latency cost.
    Throughput,
}

/// Relative slowdown [`OptimizeFor::Throughput`] accepts to free cores.
pub const THROUGHPUT_SLACK: f64 = 0.05;

impl OptimizeFor {
    /// Parses `latency` / `throughput`.
    pub fn parse(s: &str) -> Option<OptimizeFor> {
        match s {
            "latency" => Some(OptimizeFor::Latency),
            "throughput" => Some(OptimizeFor::Throughput),
            _ => None,
        }
    }
}

/// The matmul weight groups a policy or an override assigns dtypes and fidelities to (the
/// groups of tt-transformers' `TensorGroup` / `OpGroup`, `models/tt_transformers/tt/model_config.py`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WeightGroup {
    /// Fused q/k/v projection.
    Wqkv,
    /// Attention output projection.
    Wo,
    /// MLP gate and up projections (FF1/FF3).
    W1W3,
    /// MLP down projection (FF2).
    W2,
    /// The vocabulary projection.
    LmHead,
}

impl WeightGroup {
    /// Parses `wqkv`, `wo`, `w1w3`, `w2`, `lm_head`.
    pub fn parse(s: &str) -> Option<WeightGroup> {
        Some(match s {
            "wqkv" => WeightGroup::Wqkv,
            "wo" => WeightGroup::Wo,
            "w1w3" | "ff1ff3" => WeightGroup::W1W3,
            "w2" | "ff2" => WeightGroup::W2,
            "lm_head" => WeightGroup::LmHead,
            _ => return None,
        })
    }
}

/// A per-layer override of one weight group's dtype and/or fidelity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct LayerOverride {
    /// Inclusive range of decoder layers it applies to; `None` means every layer (and, for
    /// [`WeightGroup::LmHead`], the head).
    pub layers: Option<(u32, u32)>,
    /// The group.
    pub group: WeightGroup,
    /// The weight dtype to use.
    pub dtype: Option<DataType>,
    /// The math fidelity to use.
    pub math_fidelity: Option<MathFidelity>,
}

impl LayerOverride {
    /// Whether the override applies to decoder layer `layer` (`None`: the LM head).
    pub fn applies(&self, layer: Option<u32>) -> bool {
        match (self.layers, layer) {
            (None, _) => true,
            (Some((a, b)), Some(l)) => (a..=b).contains(&l),
            (Some(_), None) => false,
        }
    }
}

/// Options of a Llama plan.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LlamaOptions {
    /// Prefill or decode.
    pub mode: Mode,
    /// Users per forward call (per chip in a data-parallel sense: the whole batch runs on every
    /// chip of a tensor-parallel mesh).
    pub batch: u32,
    /// Prefill: prompt length. Decode: positions held in the KV cache and attended to.
    pub seq_len: u32,
    /// dtype/fidelity policy.
    pub policy: Policy,
    /// Tie-breaking preference.
    pub optimize_for: OptimizeFor,
    /// DRAM bytes per chip the weights and KV cache may use; `None`: the chip's DRAM capacity.
    pub memory_budget: Option<u64>,
    /// Per-layer overrides, applied in order (later ones win).
    pub overrides: Vec<LayerOverride>,
}

impl LlamaOptions {
    /// Defaults: performance policy, latency, seq_len 128, budget = chip DRAM, no overrides.
    pub fn new(mode: Mode, batch: u32) -> Self {
        LlamaOptions {
            mode,
            batch,
            seq_len: 128,
            policy: Policy::Performance,
            optimize_for: OptimizeFor::Latency,
            memory_budget: None,
            overrides: Vec::new(),
        }
    }
}

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
    pub tensors: BTreeMap<&'static str, [u32; 4]>,
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
    pub memory_configs: BTreeMap<&'static str, MemoryConfig>,
    /// dtype per tensor role.
    pub dtypes: BTreeMap<&'static str, DataType>,
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

/// Totals of a plan.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlanTotals {
    /// Number of ops.
    pub ops: usize,
    /// Estimated time of one forward call (one decode step or one prefill), µs.
    pub estimate_us: f64,
    /// Decode: tokens per second per user (1e6 / estimate_us); prefill: prompt tokens per second.
    pub tokens_per_s_per_user: f64,
    /// Tokens per second for the whole batch.
    pub tokens_per_s: f64,
    /// Device weight bytes stored per chip (including the embedding table).
    pub weight_bytes_per_chip: u64,
    /// Weight bytes one call streams per chip (matmul and norm weights, the embedding rows it
    /// gathers): the numerator of the DRAM roofline.
    pub weight_bytes_read_per_call: u64,
    /// KV-cache bytes per chip.
    pub kv_cache_bytes_per_chip: u64,
    /// The DRAM budget per chip the plan was fitted to.
    pub memory_budget_bytes: u64,
    /// Largest per-op L1 peak, bytes per core.
    pub l1_peak_bytes_per_core: u64,
    /// Time to stream `weight_bytes_read_per_call` at the chip's peak DRAM bandwidth, µs.
    pub weight_roofline_us: f64,
    /// `weight_roofline_us / estimate_us`: how close the plan gets to the DRAM roofline.
    pub roofline_fraction: f64,
}

/// A whole-model Llama plan.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LlamaPlan {
    /// The model's configuration as read from `config.json`.
    pub model: crate::hf::LlamaConfig,
    /// The system planned for (`t3k`).
    pub system: &'static str,
    /// The chip profile each mesh position uses.
    pub chip: &'static str,
    /// Mesh shape.
    pub mesh: (u32, u32),
    /// How the model is split over the mesh.
    pub parallelism: String,
    /// The options.
    pub options: LlamaOptions,
    /// The program of one call: what generated code runs, op for op.
    #[serde(skip)]
    pub program: Program,
    /// Every op in execution order (per chip): [`Program::flatten`] of `program`.
    pub ops: Vec<PlannedOp>,
    /// Totals.
    pub totals: PlanTotals,
    /// Decisions the user should know about (budget-driven dtype changes, fallbacks).
    pub notes: Vec<String>,
}

/// Why a Llama plan could not be made.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LlamaPlanError {
    /// An op has no valid config (or a forced one breaks a rule).
    #[error("`{op}`: {error}")]
    Op {
        /// The op's name.
        op: String,
        /// Why.
        error: PlanError,
    },
    /// Weights plus KV cache exceed the budget even in the smallest dtypes the policy allows.
    #[error(
        "[{rule}] weights and KV cache need {needed} B per chip even with bfloat8_b attention and bfloat4_b MLP weights, but the budget is {budget} B: short by {short} B; fix: raise --memory-budget, use a larger mesh, or shorten seq_len / batch",
        rule = Rule::MemoryBudget,
        short = .needed.saturating_sub(*.budget)
    )]
    MemoryBudget {
        /// Bytes per chip needed with the smallest dtypes.
        needed: u64,
        /// The budget per chip.
        budget: u64,
    },
    /// The model or options cannot be planned (e.g. heads not divisible by the chip count).
    #[error("[{rule}] {message}")]
    Unsupported {
        /// The broken rule.
        rule: Rule,
        /// What is wrong and what to do.
        message: String,
    },
}

impl LlamaPlanError {
    /// The rule broken.
    pub fn rule(&self) -> Rule {
        match self {
            LlamaPlanError::Op { error, .. } => error.rule(),
            LlamaPlanError::MemoryBudget { .. } => Rule::MemoryBudget,
            LlamaPlanError::Unsupported { rule, .. } => *rule,
        }
    }

    /// Bytes missing for a budget error.
    pub fn shortfall(&self) -> Option<u64> {
        match self {
            LlamaPlanError::MemoryBudget { needed, budget } => Some(needed.saturating_sub(*budget)),
            _ => None,
        }
    }
}

/// One op call as the op trace records it: the `tttv2::ops` function, the `Debug` text of its
/// configs ([`Call::trace_config`]) and the dtype and memory config of each tensor argument.
pub type TracedCall = (&'static str, String, Vec<(DataType, MemoryConfig)>);

impl LlamaPlan {
    /// The calls one run of this plan makes, in order: what a recorded op trace of the generated
    /// program must equal.
    pub fn op_trace(&self) -> Vec<TracedCall> {
        self.ops
            .iter()
            .map(|o| {
                (o.call.op_fn(), o.call.trace_config(), o.inputs.iter().map(|t| (t.dtype, t.memory_config)).collect())
            })
            .collect()
    }
}
