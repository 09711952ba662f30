//! Rust mirrors of the TT-NN configuration types the optimizer chooses and the generated code
//! passes to the backend.
//!
//! Names follow TT-NN at tt-metal commit `13adda80c119631d18b0bc06163416ba148c25ab` (see
//! `../shared/reference/ttnn-api.md` §1 and §12) so that generated code and manifests can be read
//! side by side with TT-NN's own sources. Every type here is `Copy` and can be built in a `const`,
//! because the `#[ttt_model]` expansion emits the chosen configs as `const` items.

mod activation;
mod ccl;
mod compute_kernel_config;
mod core_coord;
mod data_type;
mod matmul_program_config;
mod memory_config;
mod op_program_config;

pub use activation::{UnaryOpType, UnaryWithParam};
pub use ccl::CclTopology;
pub use compute_kernel_config::{ComputeKernelConfig, MathFidelity};
pub use core_coord::{CoreCoord, CoreRange, ShardGrid};
pub use data_type::{DataType, Layout, TILE_HEIGHT, TILE_WIDTH};
pub use matmul_program_config::{
    MatmulMultiCoreProgramConfig, MatmulMultiCoreReuseMultiCast1DProgramConfig,
    MatmulMultiCoreReuseMultiCastDRAMShardedProgramConfig, MatmulMultiCoreReuseMultiCastProgramConfig,
    MatmulMultiCoreReuseProgramConfig, MatmulProgramConfig,
};
pub use memory_config::{BufferType, MemoryConfig, ShardOrientation, ShardSpec, TensorMemoryLayout};
pub use op_program_config::{
    LayerNormDefaultProgramConfig, LayerNormProgramConfig, LayerNormShardedMultiCoreProgramConfig, OpProgramConfig,
    SDPAProgramConfig, TaggedSdpa,
};

/// The tt-metal commit whose TT-NN API these types, the rule checker and the TT-NN backend follow.
pub const TT_METAL_COMMIT: &str = "13adda80c119631d18b0bc06163416ba148c25ab";
