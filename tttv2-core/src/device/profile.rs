use serde::{Deserialize, Serialize};

use crate::ttnn::CoreCoord;

/// A Tenstorrent chip architecture. Each is a Cargo feature of the `tttv2` facade.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Arch {
    /// Grayskull: end-of-life in TT-NN after v0.55. Plannable, marked legacy.
    Grayskull,
    /// Wormhole B0 (n150, n300, T3K, Galaxy).
    WormholeB0,
    /// Blackhole (p100, p150).
    Blackhole,
}

impl Arch {
    /// The Cargo feature of the `tttv2` facade that compiles models for this architecture.
    pub const fn cargo_feature(self) -> &'static str {
        match self {
            Arch::Grayskull => "grayskull",
            Arch::WormholeB0 => "wormhole_b0",
            Arch::Blackhole => "blackhole",
        }
    }

    /// Every architecture, in the order error messages list them.
    pub const ALL: [Arch; 3] = [Arch::WormholeB0, Arch::Blackhole, Arch::Grayskull];
}

/// The facts about one board (one chip) that planning depends on.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct DeviceProfile {
    /// Board name as users write it, e.g. `n150`.
    pub name: &'static str,
    /// Chip architecture.
    pub arch: Arch,
    /// `compute_with_storage_grid_size()` TT-NN reports for this board and dispatch choice.
    pub compute_grid: CoreCoord,
    /// L1 SRAM per Tensix core, bytes (`MEM_L1_SIZE`).
    pub l1_bytes_per_core: u64,
    /// L1 per core not available to circular buffers and tensors (firmware, kernel config
    /// buffer). The planner budgets `l1_bytes_per_core - l1_reserved_bytes`.
    pub l1_reserved_bytes: u64,
    /// DRAM banks TT-NN sees (`dram_grid_size().x`); the DRAM-sharded matmul's worker count.
    pub dram_banks: u32,
    /// DRAM capacity, bytes.
    pub dram_bytes: u64,
    /// Peak DRAM bandwidth, bytes per second.
    pub dram_bandwidth_bytes_per_s: f64,
    /// AI clock, Hz.
    pub clock_hz: f64,
    /// Matrix-engine FLOPs per cycle per core at LoFi (8x16 × 16x16 per cycle = 4096).
    pub fpu_flops_per_cycle: u32,
    /// True for targets TT-NN no longer supports.
    pub legacy: bool,
}

const KIB: u64 = 1024;
const GIB: u64 = 1024 * 1024 * 1024;

impl DeviceProfile {
    /// Wormhole B0 n150: one chip, 8×8 compute grid.
    pub const N150: DeviceProfile = DeviceProfile {
        name: "n150",
        arch: Arch::WormholeB0,
        // hardware.md: 8x8 = 64 cores (core descriptor wormhole_b0_80_arch.yaml, nebula_x1,
        // WORKER dispatch on the ROW axis).
        compute_grid: CoreCoord::new(8, 8),
        // hardware.md: MEM_L1_SIZE 1464 KiB (dev_mem_map.h), ~32 KiB system-reserved
        // ("1432 KB = 1464 KB - 32 KB").
        l1_bytes_per_core: 1464 * KIB,
        l1_reserved_bytes: 32 * KIB,
        // hardware.md: dram_grid_size 12x1 (tt-transformers: "WH has 12 dram cores"); 12 GB GDDR6
        // exposed as 12 banks x 1 GiB.
        dram_banks: 12,
        dram_bytes: 12 * GIB,
        // hardware.md: 288 GB/s @12 GT/s (docs spec).
        dram_bandwidth_bytes_per_s: 288e9,
        // hardware.md: 1 GHz AI clock (docs spec; GEMM_FLOPS.md).
        clock_hz: 1.0e9,
        // hardware.md: 8x16 × 16x16 per cycle = 4096 FLOPs/cycle (matrix_engine.md).
        fpu_flops_per_cycle: 4096,
        legacy: false,
    };

    /// Blackhole p150a: one unharvested chip, 13×10 compute grid.
    pub const P150: DeviceProfile = DeviceProfile {
        name: "p150",
        arch: Arch::Blackhole,
        // hardware.md: 13x10 for an unharvested chip with WORKER dispatch on the COL axis.
        compute_grid: CoreCoord::new(13, 10),
        // hardware.md: MEM_L1_SIZE 1536 KiB (blackhole dev_mem_map.h). The reserved share is not
        // documented for BH; we budget the same 32 KiB as on Wormhole.
        l1_bytes_per_core: 1536 * KIB,
        l1_reserved_bytes: 32 * KIB,
        // hardware.md: dram_grid_size 8x1 on p150; 32 GB GDDR6 (8 banks x ~3.98 GiB in the SD).
        dram_banks: 8,
        dram_bytes: 32 * 1_000_000_000,
        // hardware.md: 512 GB/s p150a (docs spec; 16 GT/s).
        dram_bandwidth_bytes_per_s: 512e9,
        // hardware.md: up to 1.35 GHz (docs spec; GEMM_FLOPS.md).
        clock_hz: 1.35e9,
        fpu_flops_per_cycle: 4096,
        legacy: false,
    };

    /// Grayskull e150 (legacy: TT-NN removed Grayskull after v0.55).
    pub const E150: DeviceProfile = DeviceProfile {
        name: "e150",
        arch: Arch::Grayskull,
        // hardware.md: 12x9 (tests use compute_with_storage_grid_size=(12, 9) @734c8c1a).
        compute_grid: CoreCoord::new(12, 9),
        // hardware.md: 1 MiB L1 (SD worker_l1_size 1048576). Reserved share assumed as on WH.
        l1_bytes_per_core: 1024 * KIB,
        l1_reserved_bytes: 32 * KIB,
        // hardware.md: 8 banks x 1 GiB LPDDR4.
        dram_banks: 8,
        dram_bytes: 8 * GIB,
        // hardware.md: 118.4 GB/s (third-party, approximate).
        dram_bandwidth_bytes_per_s: 118.4e9,
        // hardware.md: 1202 MHz (device_program_profiler.rst example @734c8c1a).
        clock_hz: 1.202e9,
        fpu_flops_per_cycle: 4096,
        legacy: true,
    };

    /// Every single-chip profile tttv2 can plan for.
    pub const ALL: [DeviceProfile; 3] = [Self::N150, Self::P150, Self::E150];

    /// Looks a target up by board name (`n150`) or architecture name (`wormhole_b0`, which means
    /// its reference board).
    pub fn by_name(name: &str) -> Option<DeviceProfile> {
        Some(match name {
            "n150" | "wormhole_b0" | "wormhole" => Self::N150,
            "p150" | "p150a" | "blackhole" => Self::P150,
            "e150" | "grayskull" => Self::E150,
            _ => return None,
        })
    }

    /// The names [`DeviceProfile::by_name`] accepts, for error messages.
    pub const NAMES: &'static [&'static str] =
        &["wormhole_b0", "n150", "blackhole", "p150", "grayskull", "e150"];

    /// L1 bytes per core available to circular buffers and L1 tensors.
    pub const fn l1_budget_bytes(&self) -> u64 {
        self.l1_bytes_per_core - self.l1_reserved_bytes
    }

    /// Number of cores in the compute grid.
    pub const fn num_cores(&self) -> u32 {
        self.compute_grid.area()
    }

    /// Peak matmul FLOP/s on `cores` cores at `phases` fidelity phases.
    pub fn peak_flops(&self, cores: u32, phases: u32) -> f64 {
        self.fpu_flops_per_cycle as f64 * self.clock_hz * cores as f64 / phases as f64
    }
}
