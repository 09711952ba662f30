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
    /// Dest-register capacity in 32×32 tiles in full-sync mode (16); half-sync (TT-NN's default)
    /// halves it and fp32 accumulation halves it again (hardware.md "Dest register";
    /// `compute_kernel_config.cpp::get_dest_reg_count`). See [`DeviceProfile::dest_tiles`].
    pub dest_tiles_full_sync: u32,
    /// Largest NoC page the DRAM-sharded matmul reads in one request, bytes: WH 8192, BH 16384
    /// (matmul-rules.md §6, `utilities/matmul_utilities.cpp`).
    pub noc_max_page_bytes: u64,
    /// How the dispatch cores were chosen when deriving `compute_grid` (the grid depends on it,
    /// hardware.md "Compute grid usable by TT-NN").
    pub dispatch: &'static str,
    /// True for targets TT-NN no longer supports.
    pub legacy: bool,
}

const KIB: u64 = 1024;
/// Where TT-NN's circular buffers start in a Wormhole Tensix core's L1 (bytes): firmware, mailboxes
/// and the kernel-config ring lie below it. tools/ttnn-replay/FINDINGS.md (fix 3): a 1x1-grid matmul
/// with a known CB sum on TT-NN 0.81.1's mock N150 overflows exactly at `105,824 + sum > 1,499,136`.
pub const WH_L1_CB_BASE: u64 = 105_824;
/// The same base on Blackhole (measured on the mock P150a: 111,744 B; L1 ends at 1,572,864 B).
pub const BH_L1_CB_BASE: u64 = 111_744;
const GIB: u64 = 1024 * 1024 * 1024;

impl DeviceProfile {
    /// Wormhole B0 n150: one chip, 8×8 compute grid.
    pub const N150: DeviceProfile = DeviceProfile {
        name: "n150",
        arch: Arch::WormholeB0,
        // hardware.md: 8x8 = 64 cores (core descriptor wormhole_b0_80_arch.yaml, nebula_x1,
        // WORKER dispatch on the ROW axis).
        compute_grid: CoreCoord::new(8, 8),
        // hardware.md: MEM_L1_SIZE 1464 KiB (dev_mem_map.h). Reserved: TT-NN places circular
        // buffers from the allocator's L1 base, `roundup(MEM_MAP_END + kernel-config ring)`
        // (tt-metal 13adda80 `tt_metal/impl/dataflow_buffer/dataflow_buffer.cpp:1496,1571-1578`,
        // `tt_metal/llrt/hal/tt-1xx/wormhole/wh_hal_tensix.cpp:42,67-68`), measured at 105,824 B on
        // TT-NN 0.81.1's mock Wormhole (tools/ttnn-replay/FINDINGS.md, fix 3).
        l1_bytes_per_core: 1464 * KIB,
        l1_reserved_bytes: WH_L1_CB_BASE,
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
        // hardware.md "Dest register": 16 bf16 tiles full-sync.
        dest_tiles_full_sync: 16,
        // matmul-rules.md §6: NOC max page size WH 8192 B.
        noc_max_page_bytes: 8192,
        dispatch: "worker, row axis (TT-NN's default; nebula_x1 -> 8x8)",
        legacy: false,
    };

    /// Wormhole B0 n300, **one of its two chips** (the planner works per chip; the pair is
    /// [`SystemProfile::N300`](crate::device::SystemProfile::N300)). T3K is built of the same
    /// `nebula_x2` chips.
    ///
    /// Dispatch choice: **ETH dispatch**, which gives an 8×8 compute grid per chip
    /// (`wormhole_b0_80_arch_eth_dispatch.yaml`, `nebula_x2` -> 8x8). This is what Python TT-NN
    /// and tt-transformers open on N300/T3K (`ttnn/ttnn/device.py::get_default_dispatch_core_type`);
    /// the C++ default `DispatchCoreConfig{}` (WORKER, ROW axis) would give 8×7 (hardware.md). The
    /// generated code must therefore open n300/T3K meshes with ETH dispatch; the load-time profile
    /// check catches a mismatch.
    pub const N300: DeviceProfile = DeviceProfile {
        name: "n300",
        arch: Arch::WormholeB0,
        // hardware.md: 8x8 per chip only with ETH dispatch (see above).
        compute_grid: CoreCoord::new(8, 8),
        // hardware.md: same L1 as n150 (1464 KiB); CBs start at the same base.
        l1_bytes_per_core: 1464 * KIB,
        l1_reserved_bytes: WH_L1_CB_BASE,
        // hardware.md: 12x1 DRAM banks per chip; 24 GB per card = 12 GB per chip.
        dram_banks: 12,
        dram_bytes: 12 * GIB,
        // hardware.md: 576 GB/s per card = 2 x 288 GB/s.
        dram_bandwidth_bytes_per_s: 288e9,
        // hardware.md: 1 GHz.
        clock_hz: 1.0e9,
        fpu_flops_per_cycle: 4096,
        dest_tiles_full_sync: 16,
        noc_max_page_bytes: 8192,
        dispatch: "ethernet (Python TT-NN / tt-transformers default on N300/T3K; nebula_x2 -> 8x8)",
        legacy: false,
    };

    /// One unharvested Wormhole B0 chip of a Galaxy (TG / 6U, 32 chips). With ETH dispatch — the
    /// same choice as [`DeviceProfile::N300`] — its compute grid is 8×10 (hardware.md: "A WH
    /// Galaxy chip (unharvested) is 8x9 with WORKER and 8x10 with ETH dispatch").
    pub const WH_GALAXY: DeviceProfile = DeviceProfile {
        name: "wh_galaxy",
        arch: Arch::WormholeB0,
        compute_grid: CoreCoord::new(8, 10),
        l1_bytes_per_core: 1464 * KIB,
        // The Wormhole CB base (see n150).
        l1_reserved_bytes: WH_L1_CB_BASE,
        // hardware.md: Galaxy 32 x 12 GB = 384 GB; 12 banks per WH chip.
        dram_banks: 12,
        dram_bytes: 12 * GIB,
        // hardware.md gives no Galaxy-specific figure; a WH chip's GDDR6 is 288 GB/s (n150).
        dram_bandwidth_bytes_per_s: 288e9,
        clock_hz: 1.0e9,
        fpu_flops_per_cycle: 4096,
        dest_tiles_full_sync: 16,
        noc_max_page_bytes: 8192,
        dispatch: "ethernet (unharvested chip -> 8x10)",
        legacy: false,
    };

    /// Blackhole p150a: one unharvested chip, 13×10 compute grid.
    pub const P150: DeviceProfile = DeviceProfile {
        name: "p150",
        arch: Arch::Blackhole,
        // hardware.md: 13x10 for an unharvested chip with WORKER dispatch on the COL axis.
        compute_grid: CoreCoord::new(13, 10),
        // hardware.md: MEM_L1_SIZE 1536 KiB (blackhole dev_mem_map.h). Reserved: the L1 base TT-NN
        // places circular buffers from (13adda80 `tt_metal/llrt/hal/tt-1xx/blackhole/bh_hal_tensix.cpp:43,68`),
        // measured at 111,744 B on TT-NN 0.81.1's mock P150 (tools/ttnn-replay/FINDINGS.md, fix 3).
        l1_bytes_per_core: 1536 * KIB,
        l1_reserved_bytes: BH_L1_CB_BASE,
        // hardware.md: dram_grid_size 8x1 on p150; 32 GB GDDR6 (8 banks x ~3.98 GiB in the SD).
        dram_banks: 8,
        dram_bytes: 32 * 1_000_000_000,
        // hardware.md: 512 GB/s p150a (docs spec; 16 GT/s).
        dram_bandwidth_bytes_per_s: 512e9,
        // hardware.md: up to 1.35 GHz (docs spec; GEMM_FLOPS.md).
        clock_hz: 1.35e9,
        fpu_flops_per_cycle: 4096,
        // hardware.md "Dest register" (common to WH and BH, matrix_engine.md).
        dest_tiles_full_sync: 16,
        // matmul-rules.md §6: NOC max page size BH 16384 B.
        noc_max_page_bytes: 16384,
        dispatch: "worker, col axis (the Blackhole default; unharvested -> 13x10)",
        legacy: false,
    };

    /// Blackhole p100a: a harvested chip with 120 Tensix cores (hardware.md: "120 p100a").
    ///
    /// 120 = 12 columns × 10 rows, i.e. two of the die's 14 columns harvested; with the Blackhole
    /// default WORKER dispatch on the COL axis a `2xharvested` chip exposes **11×10**
    /// (hardware.md: core descriptors `2xharvested` 11x10 WORKER / 12x10 ETH).
    pub const P100: DeviceProfile = DeviceProfile {
        name: "p100",
        arch: Arch::Blackhole,
        compute_grid: CoreCoord::new(11, 10),
        // hardware.md: MEM_L1_SIZE 1536 KiB (BH dev_mem_map.h); CBs start at the same base as on P150.
        l1_bytes_per_core: 1536 * KIB,
        l1_reserved_bytes: BH_L1_CB_BASE,
        // hardware.md: dram_grid_size 7x1 on p100 (tt-transformers: "P100 DRAM grid is 7x1");
        // 28 GB GDDR6 (docs spec).
        dram_banks: 7,
        dram_bytes: 28 * 1_000_000_000,
        // hardware.md: 448 GB/s p100a (docs spec; 16 GT/s).
        dram_bandwidth_bytes_per_s: 448e9,
        // hardware.md: up to 1.35 GHz.
        clock_hz: 1.35e9,
        fpu_flops_per_cycle: 4096,
        dest_tiles_full_sync: 16,
        noc_max_page_bytes: 16384,
        dispatch: "worker, col axis (the Blackhole default; 2xharvested -> 11x10)",
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
        // hardware.md "Dest register" documents WH/BH; Grayskull's dest is assumed the same.
        dest_tiles_full_sync: 16,
        // Not documented for Grayskull; WH's value (matmul-rules.md §6) is assumed.
        noc_max_page_bytes: 8192,
        dispatch: "worker (12x9 as reported by TT-NN tests @734c8c1a)",
        legacy: true,
    };

    /// Every single-chip profile tttv2 can plan for.
    pub const ALL: [DeviceProfile; 6] = [Self::N150, Self::N300, Self::WH_GALAXY, Self::P150, Self::P100, Self::E150];

    /// Looks a target up by board name (`n150`) or architecture name (`wormhole_b0`, which means
    /// its reference board).
    pub fn by_name(name: &str) -> Option<DeviceProfile> {
        Some(match name {
            "n150" | "wormhole_b0" | "wormhole" => Self::N150,
            "n300" => Self::N300,
            "wh_galaxy" => Self::WH_GALAXY,
            "p150" | "p150a" | "blackhole" => Self::P150,
            "p100" | "p100a" => Self::P100,
            "e150" | "grayskull" => Self::E150,
            _ => return None,
        })
    }

    /// The names the `#[ttt_model]` error message lists (unchanged since the first version so the
    /// macro's UI snapshot stays valid; [`DeviceProfile::ALL_NAMES`] is the complete list).
    pub const NAMES: &'static [&'static str] = &["wormhole_b0", "n150", "blackhole", "p150", "grayskull", "e150"];

    /// Every name [`DeviceProfile::by_name`] accepts.
    pub const ALL_NAMES: &'static [&'static str] =
        &["wormhole_b0", "n150", "n300", "wh_galaxy", "blackhole", "p150", "p100", "grayskull", "e150"];

    /// L1 bytes per core available to circular buffers and L1 tensors.
    pub const fn l1_budget_bytes(&self) -> u64 {
        self.l1_bytes_per_core - self.l1_reserved_bytes
    }

    /// Dest-register tiles (32×32) available to one matmul subblock under the given sync and
    /// accumulation modes: 16 full-sync, 8 half-sync (default), halved again with fp32
    /// accumulation (hardware.md "Dest register"; matmul-rules.md §1).
    pub const fn dest_tiles(&self, full_sync: bool, fp32_acc: bool) -> u32 {
        let mut n = self.dest_tiles_full_sync;
        if !full_sync {
            n /= 2;
        }
        if fp32_acc {
            n /= 2;
        }
        n
    }

    /// Bytes of one 32×32 tile of `dtype` (hardware.md tile table; the same on every
    /// architecture, `tt_backend_api_types.hpp::tile_size`).
    pub const fn tile_bytes(&self, dtype: crate::ttnn::DataType) -> u64 {
        dtype.tile_bytes()
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
