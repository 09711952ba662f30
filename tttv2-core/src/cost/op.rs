use serde::Serialize;

use crate::device::DeviceProfile;
use crate::ttnn::MathFidelity;

use super::FIXED_OP_US;

/// Fraction of peak DRAM bandwidth reached by interleaved reads and writes (hardware.md: a
/// DRAM-interleaved matmul reaches ~190 of 288 GB/s, `tech_reports/LLMs/llms.md`). Used for every
/// non-matmul op that streams DRAM tensors.
pub const DRAM_INTERLEAVED_EFFICIENCY: f64 = 190.0 / 288.0;

/// One core's NoC port: one 32-byte flit per cycle (the same figure the matmul model uses).
const NOC_BYTES_PER_CYCLE: f64 = 32.0;

/// The estimate of a non-matmul op (or a collective).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct OpCost {
    /// Cores doing work.
    pub cores: u32,
    /// Matrix-engine time, µs (0 for ops the model treats as data movement only).
    pub compute_us: f64,
    /// DRAM time, µs.
    pub dram_us: f64,
    /// NoC time of the busiest core, µs.
    pub noc_us: f64,
    /// Ethernet time of collectives, µs.
    pub eth_us: f64,
    /// max(compute, DRAM, NoC, Ethernet) + fixed per-op cost, µs.
    pub total_us: f64,
    /// DRAM bytes read and written.
    pub dram_bytes: u64,
}

/// What a non-matmul op moves and computes.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct OpWork {
    /// Cores sharing the work (at least 1).
    pub cores: u32,
    /// DRAM bytes read plus written.
    pub dram_bytes: u64,
    /// Bytes crossing the busiest core's NoC port (L1 shards, gathers, multicasts).
    pub noc_bytes_per_core: u64,
    /// Matrix-engine FLOPs in total (SDPA's QKᵀ and PV), spread over `cores`.
    pub fpu_flops: f64,
    /// Fidelity of those FLOPs.
    pub fidelity: Option<MathFidelity>,
    /// Ethernet bytes each chip sends (collectives), and the bandwidth it sends them at.
    pub eth: Option<(u64, f64)>,
}

/// Roofline of a non-matmul op. Elementwise and reduction math on the SFPU is not modelled (we
/// have no sourced throughput for it); those ops are costed by the data they move, which is what
/// bounds them at LLM sizes.
pub fn estimate_op(work: &OpWork, device: &DeviceProfile) -> OpCost {
    let cores = work.cores.max(1);
    let compute_us = match work.fidelity {
        Some(f) if work.fpu_flops > 0.0 => work.fpu_flops / device.peak_flops(cores, f.phases()) * 1e6,
        _ => 0.0,
    };
    let dram_us = work.dram_bytes as f64 / (device.dram_bandwidth_bytes_per_s * DRAM_INTERLEAVED_EFFICIENCY) * 1e6;
    let noc_us = work.noc_bytes_per_core as f64 / (NOC_BYTES_PER_CYCLE * device.clock_hz) * 1e6;
    let eth_us = work.eth.map_or(0.0, |(bytes, bw)| bytes as f64 / bw * 1e6);
    OpCost {
        cores,
        compute_us,
        dram_us,
        noc_us,
        eth_us,
        total_us: compute_us.max(dram_us).max(noc_us).max(eth_us) + FIXED_OP_US,
        dram_bytes: work.dram_bytes,
    }
}
