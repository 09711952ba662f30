use serde::{Deserialize, Serialize};

use crate::ttnn::{ComputeKernelConfig, DataType, MatmulProgramConfig, MemoryConfig, TILE_HEIGHT, TILE_WIDTH};

/// The configs of one `ttnn::linear` call: `y = act(x · W + b)` with `x: [m, k]`, `W: [k, n]`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LinearConfig {
    /// Rows of `x` (all batch dims folded), the M the program config was chosen for.
    pub m: u32,
    /// Inner dimension.
    pub k: u32,
    /// Output features.
    pub n: u32,
    /// Whether a bias `[1, n]` is added (fused into the matmul).
    pub bias: bool,
    /// dtype of `x`.
    pub input_dtype: DataType,
    /// Where `x` is expected.
    pub input_memory_config: MemoryConfig,
    /// dtype the weight (and bias) is stored in on the device.
    pub weight_dtype: DataType,
    /// Where the weight lives.
    pub weight_memory_config: MemoryConfig,
    /// The TT-NN program config.
    pub program_config: MatmulProgramConfig,
    /// The TT-NN compute-kernel config.
    pub compute_kernel_config: ComputeKernelConfig,
    /// Output memory config.
    pub memory_config: MemoryConfig,
    /// Output dtype.
    pub dtype: DataType,
}

impl LinearConfig {
    /// M in tiles (padded up).
    pub const fn mt(&self) -> u32 {
        self.m.div_ceil(TILE_HEIGHT)
    }
    /// K in tiles (padded up).
    pub const fn kt(&self) -> u32 {
        self.k.div_ceil(TILE_WIDTH)
    }
    /// N in tiles (padded up).
    pub const fn nt(&self) -> u32 {
        self.n.div_ceil(TILE_WIDTH)
    }

    /// Where the bias `[1, n]` lives: where the weight does, its shards one tile row high (a
    /// DRAM-sharded matmul reads the bias through the weight's bank sharding, one tile row per
    /// bank: `matmul_multicore_reuse_mcast_dram_sharded_program_factory.cpp` @ 13adda80, "in1/bias
    /// are DRAM sharded with one tile per page").
    pub fn bias_memory_config(&self) -> MemoryConfig {
        let mut mc = self.weight_memory_config;
        if let Some(spec) = mc.shard_spec.as_mut() {
            spec.shape[0] = TILE_HEIGHT;
        }
        mc
    }
}
