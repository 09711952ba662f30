use serde::Serialize;

use crate::device::DeviceProfile;
use crate::op::LinearConfig;
use crate::ttnn::{BufferType, MatmulProgramConfig, TensorMemoryLayout};

use super::FIXED_OP_US;

/// The estimate for one linear.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct LinearCost {
    /// Cores doing work.
    pub cores: u32,
    /// Time on the matrix engine, µs.
    pub compute_us: f64,
    /// Time moving DRAM bytes, µs.
    pub dram_us: f64,
    /// Time on the NoC moving multicast operands, µs.
    pub noc_us: f64,
    /// Estimated op time, µs.
    pub total_us: f64,
    /// DRAM bytes read and written.
    pub dram_bytes: u64,
}

/// Fraction of peak DRAM bandwidth a DRAM-interleaved matmul reaches (190 / 288 GB/s on WH,
/// hardware.md citing `tech_reports/LLMs/llms.md` L1780).
const DRAM_INTERLEAVED_EFFICIENCY: f64 = 190.0 / 288.0;
/// Fraction of peak a DRAM-sharded matmul reaches (240 / 288 GB/s, same source).
const DRAM_SHARDED_EFFICIENCY: f64 = 240.0 / 288.0;
/// Bytes per cycle one core's NoC port moves (one 32-byte flit per cycle per NoC).
const NOC_BYTES_PER_CYCLE: f64 = 32.0;

/// Estimates `cfg` on `device`.
pub fn estimate_linear(cfg: &LinearConfig, device: &DeviceProfile) -> LinearCost {
    let (mt, kt, nt) = (cfg.mt() as u64, cfg.kt() as u64, cfg.nt() as u64);
    let (cores, sub_h, sub_w, in0_block_w, m_per_core, n_per_core) = shape_of(cfg, device);
    let phases = cfg.compute_kernel_config.math_fidelity.phases();
    let flops = 2.0 * (mt * 32) as f64 * (kt * 32) as f64 * (nt * 32) as f64;
    // Work is what the busiest core does: its output tiles × K tiles.
    let busiest_flops = 2.0 * (m_per_core * 32) as f64 * (kt * 32) as f64 * (n_per_core * 32) as f64;
    let per_core_peak = device.peak_flops(1, phases);
    // Small subblocks and thin K blocks leave the FPU waiting on unpack/pack: model utilisation
    // as rising with the subblock's tile count (8 tiles = full) and with in0_block_w.
    let subblock_util = (0.5 + 0.5 * (sub_h * sub_w) as f64 / 8.0).min(1.0);
    let kblock_util = (0.6 + 0.4 * (in0_block_w as f64 / 4.0)).min(1.0);
    let compute_s = busiest_flops / (per_core_peak * subblock_util * kblock_util);
    let _ = flops;

    let weight_bytes = kt * nt * cfg.weight_dtype.tile_bytes();
    let in_bytes = mt * kt * cfg.input_dtype.tile_bytes();
    let out_bytes = mt * nt * cfg.dtype.tile_bytes();
    let mut dram_bytes = 0u64;
    let mut dram_s = 0.0;
    let weight_eff = if cfg.weight_memory_config.memory_layout == TensorMemoryLayout::WidthSharded
        && cfg.weight_memory_config.buffer_type == BufferType::Dram
    {
        DRAM_SHARDED_EFFICIENCY
    } else {
        DRAM_INTERLEAVED_EFFICIENCY
    };
    let bw = device.dram_bandwidth_bytes_per_s;
    if cfg.weight_memory_config.buffer_type == BufferType::Dram {
        dram_bytes += weight_bytes;
        dram_s += weight_bytes as f64 / (bw * weight_eff);
    }
    for (bytes, mc) in [(in_bytes, cfg.input_memory_config), (out_bytes, cfg.memory_config)] {
        if mc.buffer_type == BufferType::Dram {
            dram_bytes += bytes;
            dram_s += bytes as f64 / (bw * DRAM_INTERLEAVED_EFFICIENCY);
        }
    }
    // Each core receives its in0 rows and in1 columns over the NoC (multicast counts once per
    // receiver port).
    let noc_per_core = (m_per_core * kt) * cfg.input_dtype.tile_bytes()
        + (n_per_core * kt) * cfg.weight_dtype.tile_bytes();
    let noc_s = noc_per_core as f64 / (NOC_BYTES_PER_CYCLE * device.clock_hz);

    let compute_us = compute_s * 1e6;
    let dram_us = dram_s * 1e6;
    let noc_us = noc_s * 1e6;
    LinearCost {
        cores: cores as u32,
        compute_us,
        dram_us,
        noc_us,
        total_us: compute_us.max(dram_us).max(noc_us) + FIXED_OP_US,
        dram_bytes,
    }
}

/// (cores used, subblock h, subblock w, in0_block_w, output tile rows and columns per core).
fn shape_of(cfg: &LinearConfig, device: &DeviceProfile) -> (u64, u64, u64, u64, u64, u64) {
    let (mt, nt) = (cfg.mt() as u64, cfg.nt() as u64);
    match cfg.program_config {
        MatmulProgramConfig::MultiCore(_) => {
            let cores = (mt * nt).min(device.num_cores() as u64).max(1);
            // One tile at a time: no reuse.
            (cores, 1, 1, 1, mt * nt / cores + 1, 1)
        }
        MatmulProgramConfig::Reuse(p) => {
            let blocks = mt.div_ceil(p.per_core_M as u64);
            (blocks, p.out_subblock_h as u64, p.out_subblock_w as u64, p.in0_block_w as u64, p.per_core_M as u64, p.per_core_N as u64)
        }
        MatmulProgramConfig::MultiCast2D(p) => {
            let blocks = mt.div_ceil(p.per_core_M as u64) * nt.div_ceil(p.per_core_N as u64);
            (blocks, p.out_subblock_h as u64, p.out_subblock_w as u64, p.in0_block_w as u64, p.per_core_M as u64, p.per_core_N as u64)
        }
        MatmulProgramConfig::MultiCast1D(p) => {
            let blocks = mt.div_ceil(p.per_core_M as u64) * nt.div_ceil(p.per_core_N as u64);
            (blocks, p.out_subblock_h as u64, p.out_subblock_w as u64, p.in0_block_w as u64, p.per_core_M as u64, p.per_core_N as u64)
        }
        MatmulProgramConfig::DramSharded(p) => {
            let banks = device.dram_banks as u64;
            let n_compute = nt.div_ceil(banks);
            // The factory widens the subblock up to 8 (4 with fp32 acc) columns.
            let max_w = if cfg.compute_kernel_config.fp32_dest_acc_en { 4 } else { 8 };
            let w = (1..=max_w.min(n_compute)).rev().find(|w| n_compute % w == 0).unwrap_or(1);
            (banks, 1, w, p.in0_block_w as u64, 1, n_compute)
        }
    }
}
