use std::fmt;

use serde::Serialize;

/// A rule a TT-NN config must satisfy. Each has a stable kebab-case name used in diagnostics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Rule {
    /// Program-config fields that TT-NN requires to be non-zero are zero.
    NonZeroFields,
    /// The program config's grid exceeds the device's compute grid.
    GridFitsDevice,
    /// `out_subblock_h * out_subblock_w` exceeds the dest register's tile count.
    SubblockFitsDest,
    /// `Kt % in0_block_w != 0`.
    In0BlockWDividesK,
    /// Output block / subblock / per-core sizes do not divide each other.
    BlockDivisibility,
    /// More output blocks than the grid has cores (tt-metal #54798: silently wrong output in
    /// the reuse factory; a validation failure in the multicast ones).
    OutputBlocksFitCores,
    /// A 1D in0-multicast config must hold all of M in one `per_core_M` block.
    Mcast1dWholeM,
    /// `MatmulMultiCoreReuseProgramConfig` needs `per_core_N == Nt`.
    ReuseFullWidth,
    /// A sharded output needs `out_subblock_w == per_core_N || out_subblock_h == 1`
    /// (tt-metal #26150, #13080: wrong results otherwise).
    ShardedOutputSubblock,
    /// DRAM-sharded matmul needs A to be one tile row (`Mt == per_core_M == 1`).
    DramShardedSingleTileRow,
    /// DRAM-sharded matmul needs width-sharded L1 input and output.
    DramShardedLayouts,
    /// Circular buffers plus sharded tensors exceed the L1 available per core.
    L1Fits,
    /// The configured shape does not match the tensors.
    ShapeMismatch,
    /// A dtype is not supported where it is used.
    DtypeSupported,
    /// A memory config is not one this op accepts.
    MemoryLayoutSupported,
    /// A sharded activation (in0) has a layout, orientation or `fuse_batch` setting the program
    /// config does not accept (matmul-rules.md §2–§4, §6).
    ShardedInputLayout,
    /// A sharded activation's shard shape disagrees with the program config (`per_core_M ==
    /// shard_h/32`, `shard_w/32 % in0_block_w == 0`, `Kt == shard_w/32` …; matmul-rules.md §2–§6).
    ShardedInputShape,
    /// A sharded weight (in1) has a layout or shard shape the program config does not accept
    /// (matmul-rules.md §2, §3, §6).
    ShardedWeightLayout,
    /// A sharded output needs `out_block_w == per_core_N || out_block_h == 1`
    /// (matmul-rules.md §2, §3).
    ShardedOutputBlock,
    /// A sharded 1D output needs the whole M (`mcast_in0`: `Mt == per_core_M`) or the whole N
    /// (`mcast_in1`: `Nt == per_core_N`) on each core (matmul-rules.md §3).
    ShardedOutputWholeDim,
    /// A shard grid does not fit the device (L1: the compute grid; DRAM: the bank row).
    ShardGridFitsDevice,
    /// A shard spec does not cover the tensor, is not tile-aligned, or names more cores than its
    /// grid holds.
    ShardSpecCoversTensor,
    /// The DRAM-sharded weight's shard spec is not `[K, ceil(N / (32·banks))·32]` over all DRAM
    /// banks (`create_dram_sharded_mem_config`, matmul-rules.md §6).
    DramShardedWeightSpec,
    /// DRAM-sharded matmul: `Kt % (A_shard_w/32) != 0` (uneven K sharding of A is unsupported,
    /// matmul-rules.md §6).
    DramShardedEvenK,
    /// An op-specific rule of a non-matmul op (norm, SDPA, rotary…); the message names it.
    OpConstraint,
    /// The model's weights and KV cache do not fit the memory budget in any dtype the policy
    /// allows.
    MemoryBudget,
    /// Generated code runs single-chip systems only so far.
    SingleChipProgram,
    /// The generated decode step runs at most 32 users (one tile row of hidden state).
    DecodeBatch,
    /// Generated prefill runs one user's prompt per call.
    PrefillBatch,
    /// Every step of a model reads each weight in one placement: the model holds one copy.
    OneWeightCopy,
}

impl Rule {
    /// The rule's stable name, as printed in diagnostics.
    pub const fn name(self) -> &'static str {
        match self {
            Rule::NonZeroFields => "non-zero-fields",
            Rule::GridFitsDevice => "grid-fits-device",
            Rule::SubblockFitsDest => "subblock-fits-dest",
            Rule::In0BlockWDividesK => "in0-block-w-divides-k",
            Rule::BlockDivisibility => "block-divisibility",
            Rule::OutputBlocksFitCores => "output-blocks-fit-cores",
            Rule::Mcast1dWholeM => "mcast-in0-whole-m",
            Rule::ReuseFullWidth => "reuse-full-width",
            Rule::ShardedOutputSubblock => "sharded-output-subblock",
            Rule::DramShardedSingleTileRow => "dram-sharded-single-tile-row",
            Rule::DramShardedLayouts => "dram-sharded-layouts",
            Rule::L1Fits => "l1-fits",
            Rule::ShapeMismatch => "shape-mismatch",
            Rule::DtypeSupported => "dtype-supported",
            Rule::MemoryLayoutSupported => "memory-layout-supported",
            Rule::ShardedInputLayout => "sharded-input-layout",
            Rule::ShardedInputShape => "sharded-input-shape",
            Rule::ShardedWeightLayout => "sharded-weight-layout",
            Rule::ShardedOutputBlock => "sharded-output-block",
            Rule::ShardedOutputWholeDim => "sharded-output-whole-dim",
            Rule::ShardGridFitsDevice => "shard-grid-fits-device",
            Rule::ShardSpecCoversTensor => "shard-spec-covers-tensor",
            Rule::DramShardedWeightSpec => "dram-sharded-weight-spec",
            Rule::DramShardedEvenK => "dram-sharded-even-k",
            Rule::OpConstraint => "op-constraint",
            Rule::MemoryBudget => "memory-budget",
            Rule::SingleChipProgram => "single-chip-program",
            Rule::DecodeBatch => "decode-batch",
            Rule::PrefillBatch => "prefill-batch",
            Rule::OneWeightCopy => "one-weight-copy",
        }
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A broken rule: which one, what TT-NN would say, and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("[{rule}] {message}; fix: {fix}")]
pub struct RuleViolation {
    /// The rule.
    pub rule: Rule,
    /// What is wrong, in TT-NN's words where TT-NN has them.
    pub message: String,
    /// What to change.
    pub fix: String,
}

impl RuleViolation {
    /// A violation of `rule`: what is wrong and how to fix it.
    pub fn new(rule: Rule, message: impl Into<String>, fix: impl Into<String>) -> Self {
        RuleViolation { rule, message: message.into(), fix: fix.into() }
    }
}
