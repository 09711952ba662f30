use serde::{Deserialize, Serialize};

use super::{CoreCoord, MatmulProgramConfig};

/// `ttnn::prim::LayerNormDefaultProgramConfig` (`layernorm_types.hpp` @ 13adda80; ttnn-api.md §2):
/// interleaved input, TT-NN splits the rows itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct LayerNormDefaultProgramConfig {
    /// Use the legacy reduction kernel.
    pub legacy_reduction: bool,
    /// Use the legacy rsqrt.
    pub legacy_rsqrt: bool,
    /// Welford's algorithm for the variance.
    pub use_welford: bool,
}

/// `ttnn::prim::LayerNormShardedMultiCoreProgramConfig` (ttnn-api.md §2): the input is sharded
/// and each core normalises its shard, with the row statistics multicast between cores.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayerNormShardedMultiCoreProgramConfig {
    /// Grid the shards live on.
    pub compute_with_storage_grid_size: CoreCoord,
    /// Tiles per dest-register pass.
    pub subblock_w: u32,
    /// Tile rows per core (`Mt` for a width-sharded input).
    pub block_h: u32,
    /// Tile columns per core (`ceil(Kt / num_cores)` for a width-sharded input).
    pub block_w: u32,
    /// Write the output over the input.
    pub inplace: bool,
    /// Use the legacy reduction kernel.
    pub legacy_reduction: bool,
    /// Use the legacy rsqrt.
    pub legacy_rsqrt: bool,
    /// Welford's algorithm for the variance.
    pub use_welford: bool,
}

/// `ttnn::operations::transformer::SDPAProgramConfig` (`sdpa_config.hpp`, ttnn-api.md §6).
/// `sub_core_grids` is always `std::nullopt` in tttv2's plans and is not represented.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SDPAProgramConfig {
    /// Grid the op runs on.
    pub compute_with_storage_grid_size: CoreCoord,
    /// Query rows per chunk (a multiple of 32; 0 lets decode choose).
    pub q_chunk_size: u32,
    /// Key rows per chunk (a multiple of 32; 0 lets decode choose).
    pub k_chunk_size: u32,
    /// Approximate exp in the softmax.
    pub exp_approx_mode: Option<bool>,
    /// Cores per (head, batch) pair in decode (C++ default 16).
    pub max_cores_per_head_batch: u32,
}

/// The program config of any planned op, serialized as `{"type": <TT-NN struct name>, …}`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(untagged)]
pub enum OpProgramConfig {
    /// A matmul's config (already tagged with its TT-NN name).
    Matmul(MatmulProgramConfig),
    /// A norm's config.
    LayerNorm(LayerNormProgramConfig),
    /// An SDPA config.
    Sdpa(TaggedSdpa),
}

/// `ttnn::prim::LayerNormProgramConfig`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "type")]
pub enum LayerNormProgramConfig {
    /// See [`LayerNormDefaultProgramConfig`].
    #[serde(rename = "LayerNormDefaultProgramConfig")]
    Default(LayerNormDefaultProgramConfig),
    /// See [`LayerNormShardedMultiCoreProgramConfig`].
    #[serde(rename = "LayerNormShardedMultiCoreProgramConfig")]
    Sharded(LayerNormShardedMultiCoreProgramConfig),
}

/// [`SDPAProgramConfig`] serialized with its TT-NN name as `type`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "type")]
pub enum TaggedSdpa {
    /// The only variant.
    #[serde(rename = "SDPAProgramConfig")]
    Config(SDPAProgramConfig),
}
