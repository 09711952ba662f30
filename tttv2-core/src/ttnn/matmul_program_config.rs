#![allow(non_snake_case)] // field names are TT-NN's (`per_core_M`), so configs read like TT-NN's

use serde::{Deserialize, Serialize};

use super::{CoreCoord, UnaryWithParam};

/// `MatmulMultiCoreProgramConfig`: the simple fallback; TT-NN splits the work itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct MatmulMultiCoreProgramConfig {}

/// `MatmulMultiCoreReuseProgramConfig`: batched matmul without multicast; each core computes
/// full-width `per_core_M × Nt` output blocks (matmul-rules.md §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct MatmulMultiCoreReuseProgramConfig {
    /// Grid the work is split over.
    pub compute_with_storage_grid_size: CoreCoord,
    /// K tiles per inner-loop block.
    pub in0_block_w: u32,
    /// Output subblock height in tiles (dest register).
    pub out_subblock_h: u32,
    /// Output subblock width in tiles.
    pub out_subblock_w: u32,
    /// Output tile rows per core.
    pub per_core_M: u32,
    /// Output tile columns per core.
    pub per_core_N: u32,
}

/// `MatmulMultiCoreReuseMultiCastProgramConfig`: 2D multicast — in0 is multicast along rows and
/// in1 along columns of the grid (matmul-rules.md §2).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MatmulMultiCoreReuseMultiCastProgramConfig {
    /// Grid the work is split over.
    pub compute_with_storage_grid_size: CoreCoord,
    /// K tiles per inner-loop block.
    pub in0_block_w: u32,
    /// Output subblock height in tiles.
    pub out_subblock_h: u32,
    /// Output subblock width in tiles.
    pub out_subblock_w: u32,
    /// Output block height in tiles (C++ default 0 is invalid: always set).
    pub out_block_h: u32,
    /// Output block width in tiles (C++ default 0 is invalid: always set).
    pub out_block_w: u32,
    /// Output tile rows per core.
    pub per_core_M: u32,
    /// Output tile columns per core.
    pub per_core_N: u32,
    /// Swap the roles of grid rows and columns.
    pub transpose_mcast: bool,
    /// Activation applied by the packer.
    pub fused_activation: Option<UnaryWithParam>,
    /// Fold batch dims into M.
    pub fuse_batch: bool,
}

/// `MatmulMultiCoreReuseMultiCast1DProgramConfig`: 1D multicast — "wide" (`mcast_in0 = true`,
/// N split over cores) or "tall" (`mcast_in0 = false`, M split over cores) (matmul-rules.md §3).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MatmulMultiCoreReuseMultiCast1DProgramConfig {
    /// Grid the work is split over.
    pub compute_with_storage_grid_size: CoreCoord,
    /// K tiles per inner-loop block.
    pub in0_block_w: u32,
    /// Output subblock height in tiles.
    pub out_subblock_h: u32,
    /// Output subblock width in tiles.
    pub out_subblock_w: u32,
    /// Output block height in tiles.
    pub out_block_h: u32,
    /// Output block width in tiles.
    pub out_block_w: u32,
    /// Output tile rows per core.
    pub per_core_M: u32,
    /// Output tile columns per core.
    pub per_core_N: u32,
    /// Fold batch dims into M.
    pub fuse_batch: bool,
    /// Activation applied by the packer.
    pub fused_activation: Option<UnaryWithParam>,
    /// `true`: in0 multicast, N split over cores ("wide"); `false`: in1 multicast, M split.
    pub mcast_in0: bool,
}

/// `MatmulMultiCoreReuseMultiCastDRAMShardedProgramConfig`: decode GEMV with weights
/// width-sharded over the DRAM banks; one worker per bank (matmul-rules.md §6).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MatmulMultiCoreReuseMultiCastDRAMShardedProgramConfig {
    /// K tiles per inner-loop block.
    pub in0_block_w: u32,
    /// Must be 1: A is one tile row.
    pub per_core_M: u32,
    /// Output tile columns per storage core (sets the output sharding, not the compute split).
    pub per_core_N: u32,
    /// Activation applied by the packer.
    pub fused_activation: Option<UnaryWithParam>,
}

/// `ttnn::operations::matmul::MatmulProgramConfig`: the variant of program configs TT-NN accepts.
/// Serialized as `{"type": "<TT-NN struct name>", <fields>…}`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum MatmulProgramConfig {
    /// See [`MatmulMultiCoreProgramConfig`].
    #[serde(rename = "MatmulMultiCoreProgramConfig")]
    MultiCore(MatmulMultiCoreProgramConfig),
    /// See [`MatmulMultiCoreReuseProgramConfig`].
    #[serde(rename = "MatmulMultiCoreReuseProgramConfig")]
    Reuse(MatmulMultiCoreReuseProgramConfig),
    /// See [`MatmulMultiCoreReuseMultiCastProgramConfig`].
    #[serde(rename = "MatmulMultiCoreReuseMultiCastProgramConfig")]
    MultiCast2D(MatmulMultiCoreReuseMultiCastProgramConfig),
    /// See [`MatmulMultiCoreReuseMultiCast1DProgramConfig`].
    #[serde(rename = "MatmulMultiCoreReuseMultiCast1DProgramConfig")]
    MultiCast1D(MatmulMultiCoreReuseMultiCast1DProgramConfig),
    /// See [`MatmulMultiCoreReuseMultiCastDRAMShardedProgramConfig`].
    #[serde(rename = "MatmulMultiCoreReuseMultiCastDRAMShardedProgramConfig")]
    DramSharded(MatmulMultiCoreReuseMultiCastDRAMShardedProgramConfig),
}

impl MatmulProgramConfig {
    /// TT-NN's struct name of the variant.
    pub const fn ttnn_name(&self) -> &'static str {
        match self {
            MatmulProgramConfig::MultiCore(_) => "MatmulMultiCoreProgramConfig",
            MatmulProgramConfig::Reuse(_) => "MatmulMultiCoreReuseProgramConfig",
            MatmulProgramConfig::MultiCast2D(_) => "MatmulMultiCoreReuseMultiCastProgramConfig",
            MatmulProgramConfig::MultiCast1D(_) => "MatmulMultiCoreReuseMultiCast1DProgramConfig",
            MatmulProgramConfig::DramSharded(_) => "MatmulMultiCoreReuseMultiCastDRAMShardedProgramConfig",
        }
    }

    /// The activation the config fuses, if any.
    pub const fn fused_activation(&self) -> Option<UnaryWithParam> {
        match self {
            MatmulProgramConfig::MultiCore(_) | MatmulProgramConfig::Reuse(_) => None,
            MatmulProgramConfig::MultiCast2D(c) => c.fused_activation,
            MatmulProgramConfig::MultiCast1D(c) => c.fused_activation,
            MatmulProgramConfig::DramSharded(c) => c.fused_activation,
        }
    }
}
