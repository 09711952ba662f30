use serde::Serialize;

use crate::plan::{Mode, PlanError, Policy};
use crate::rules::Rule;
use crate::ttnn::{DataType, MathFidelity};

use crate::program::{PlannedOp, Program};

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
    /// Ethernet bytes each chip sends per call (its collectives; absent on one chip).
    #[serde(skip_serializing_if = "is_zero")]
    pub ethernet_bytes_per_call: u64,
    /// Estimated time of those collectives per call, µs (absent on one chip).
    #[serde(skip_serializing_if = "is_zero_f64")]
    pub ethernet_us_per_call: f64,
}

fn is_zero(v: &u64) -> bool {
    *v == 0
}

fn is_zero_f64(v: &f64) -> bool {
    *v == 0.0
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

pub use crate::program::TracedCall;

impl LlamaPlan {
    /// The calls one run of this plan makes, in order: what a recorded op trace of the generated
    /// program must equal.
    pub fn op_trace(&self) -> Vec<TracedCall> {
        crate::program::op_trace(&self.ops)
    }
}
