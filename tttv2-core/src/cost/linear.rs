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
/// Fraction of peak at which a DRAM-sharded matmul streams its weight once the read is under way:
/// 267 of 288 GB/s, the DRAM u-benchmark of `tech_reports/Saturating_DRAM_bandwidth/
/// Saturating_DRAM_bandwidth.md` (table, WH @ 12 GT/s; one reader per bank placed next to it,
/// which is how the DRAM-sharded matmul reads its weights). Together with the per-op kernel ramp
/// ([`super::KERNEL_RAMP_US`], fitted to the same benchmark's per-shape targets) this makes the
/// achieved bandwidth grow with the weight size: ~226 GB/s at 2.5 MB, ~255 GB/s at 8.8 MB,
/// ~265 GB/s for the 30–60 MB GEMVs of an 8B model. The older llms.md figure ("around 240 GB/s",
/// hardware.md) is what the model gives at ~4–5 MB, the size of a typical multi-chip shard.
///
/// Caveat: the same report measured 239–260 GB/s for the matmuls of Llama3-70B decode; the model
/// predicts 255–265 GB/s for those shapes, so it may be 2–6 % optimistic for the largest GEMVs.
pub const DRAM_SHARDED_EFFICIENCY: f64 = 267.0 / 288.0;
/// Bytes per cycle one core's NoC port moves (one 32-byte flit per cycle per NoC).
const NOC_BYTES_PER_CYCLE: f64 = 32.0;

/// Estimates `cfg` on `device`.
pub fn estimate_linear(cfg: &LinearConfig, device: &DeviceProfile) -> LinearCost {
    let (mt, kt, nt) = (cfg.mt() as u64, cfg.kt() as u64, cfg.nt() as u64);
    let (cores, sub_h, sub_w, in0_block_w, m_per_core, n_per_core) = shape_of(cfg, device);
    let phases = cfg.compute_kernel_config.math_fidelity.phases();
    // Work is what the busiest core does: its output tiles × K tiles.
    let busiest_flops = 2.0 * (m_per_core * 32) as f64 * (kt * 32) as f64 * (n_per_core * 32) as f64;
    let per_core_peak = device.peak_flops(1, phases);
    // Small subblocks and thin K blocks leave the FPU waiting on unpack/pack: model utilisation
    // as rising with the subblock's tile count (8 tiles = full) and with in0_block_w.
    let subblock_util = (0.5 + 0.5 * (sub_h * sub_w) as f64 / 8.0).min(1.0);
    let kblock_util = (0.6 + 0.4 * (in0_block_w as f64 / 4.0)).min(1.0);
    let compute_s = busiest_flops / (per_core_peak * subblock_util * kblock_util);

    // A DRAM-sharded weight is stored (and read) with N padded to whole tiles per bank
    // (matmul-rules.md §6).
    let stored_nt = match cfg.program_config {
        MatmulProgramConfig::DramSharded(_) => nt.div_ceil(device.dram_banks as u64) * device.dram_banks as u64,
        _ => nt,
    };
    let weight_bytes = kt * stored_nt * cfg.weight_dtype.tile_bytes();
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
    // A fused bias is one tile row of the weight's width, stored (and read) like the weight.
    let bias_bytes = if cfg.bias { stored_nt * cfg.weight_dtype.tile_bytes() } else { 0 };
    // How often the weight crosses DRAM→L1. The multicast and DRAM-sharded factories read it once
    // and share it over the NoC; the reuse factory has no multicast, and since it needs
    // `per_core_N == Nt` every core with an M-block reads all of it from DRAM itself
    // (`reader_writer_bmm_tile_layout_in1.cpp`, in1 loop, @ 13adda80; docs/cost/traffic.md §4).
    let weight_reads = match cfg.program_config {
        MatmulProgramConfig::Reuse(_) => cores,
        _ => 1,
    };
    if cfg.weight_memory_config.buffer_type == BufferType::Dram {
        let bytes = (weight_bytes + bias_bytes) * weight_reads;
        dram_bytes += bytes;
        dram_s += bytes as f64 / (bw * weight_eff);
    }
    for (bytes, mc) in [(in_bytes, cfg.input_memory_config), (out_bytes, cfg.memory_config)] {
        if mc.buffer_type == BufferType::Dram {
            dram_bytes += bytes;
            dram_s += bytes as f64 / (bw * DRAM_INTERLEAVED_EFFICIENCY);
        }
    }
    // NoC: each core receives its in0 rows and in1 columns. A multicast sender also reads the
    // operand it broadcasts (from DRAM or L1) and writes it once as a multicast, so its port
    // carries that operand twice; the op waits for the busiest port (receiver or sender).
    let (a_t, b_t) = (cfg.input_dtype.tile_bytes(), cfg.weight_dtype.tile_bytes());
    let receiver = (m_per_core * kt) * a_t + (n_per_core * kt) * b_t;
    let sender = match cfg.program_config {
        // 2D: a row sender multicasts its per_core_M rows of in0, a column sender its per_core_N
        // columns of in1 (matmul-rules.md §2: in0 along rows, in1 along columns).
        MatmulProgramConfig::MultiCast2D(_) => {
            (2 * m_per_core * kt * a_t + n_per_core * kt * b_t).max(m_per_core * kt * a_t + 2 * n_per_core * kt * b_t)
        }
        // 1D wide: one sender multicasts all of in0; 1D tall: one sender multicasts all of in1
        // (matmul-rules.md §3).
        MatmulProgramConfig::MultiCast1D(p) if p.mcast_in0 => 2 * mt * kt * a_t + n_per_core * kt * b_t,
        MatmulProgramConfig::MultiCast1D(_) => m_per_core * kt * a_t + 2 * nt * kt * b_t,
        // DRAM-sharded: in0 is multicast from its storage cores to the bank readers, each storage
        // core sending its shard (matmul-rules.md §6); the weights come straight from the
        // reader's own bank, `per_core_N_in1_sender = ceil(Nt / banks)` columns (the subblock
        // padding of `per_core_N_compute` is compute-only, same factory).
        MatmulProgramConfig::DramSharded(_) => {
            let shards = cfg.input_memory_config.shard_spec.map_or(1, |s| s.grid.num_cores as u64);
            2 * (mt * kt).div_ceil(shards) * a_t
        }
        MatmulProgramConfig::Reuse(_) | MatmulProgramConfig::MultiCore(_) => 0,
    };
    let noc_s = receiver.max(sender) as f64 / (NOC_BYTES_PER_CYCLE * device.clock_hz);

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
            (
                blocks,
                p.out_subblock_h as u64,
                p.out_subblock_w as u64,
                p.in0_block_w as u64,
                p.per_core_M as u64,
                p.per_core_N as u64,
            )
        }
        MatmulProgramConfig::MultiCast2D(p) => {
            let blocks = mt.div_ceil(p.per_core_M as u64) * nt.div_ceil(p.per_core_N as u64);
            (
                blocks,
                p.out_subblock_h as u64,
                p.out_subblock_w as u64,
                p.in0_block_w as u64,
                p.per_core_M as u64,
                p.per_core_N as u64,
            )
        }
        MatmulProgramConfig::MultiCast1D(p) => {
            let blocks = mt.div_ceil(p.per_core_M as u64) * nt.div_ceil(p.per_core_N as u64);
            (
                blocks,
                p.out_subblock_h as u64,
                p.out_subblock_w as u64,
                p.in0_block_w as u64,
                p.per_core_M as u64,
                p.per_core_N as u64,
            )
        }
        MatmulProgramConfig::DramSharded(p) => {
            let banks = device.dram_banks as u64;
            // Each bank's worker reads `per_core_N_in1_sender = ceil(Nt / banks)` columns. The
            // factory then picks the subblock for them and widens it up to max_subblock_w =
            // fp32 ? 4 : 8 while that lowers the subblock count, padding `per_core_N_compute`;
            // the last subblock is narrowed back to the valid columns (`last_subblock_w_valid`),
            // so the FPU works on ceil(Nt / banks) columns in subblocks of the widened width
            // (`matmul_multicore_reuse_mcast_dram_sharded_program_factory.cpp` @ 13adda80).
            let n_valid = nt.div_ceil(banks).max(1);
            let max_w: u32 = if cfg.compute_kernel_config.fp32_dest_acc_en { 4 } else { 8 };
            let dest = cfg.compute_kernel_config.dest_reg_tiles();
            let (h, mut w) = crate::plan::choose_subblock(1, n_valid as u32, dest);
            if h == 1 && w < max_w {
                let mut count = n_valid / w as u64;
                let mut best = w;
                for cand in (w + 1)..=max_w {
                    let c = n_valid.div_ceil(cand as u64);
                    if c < count {
                        count = c;
                        best = cand;
                    }
                }
                w = best;
            }
            (banks, 1, w as u64, p.in0_block_w as u64, 1, n_valid)
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::device::DeviceProfile;
    use crate::plan::{LinearRequest, LinearSearch, Policy, plan_linear_with};
    use crate::ttnn::MatmulProgramConfig;

    /// Without multicast every core with an M-block reads the whole weight from DRAM itself
    /// (docs/cost/traffic.md §4), so the reuse factory's weight traffic is the weight times its
    /// M-blocks; a multicast config of the same shape reads it once.
    #[test]
    fn the_reuse_factory_reads_the_weight_once_per_m_block() {
        use super::estimate_linear;
        use crate::ttnn::{CoreCoord, MatmulMultiCoreReuseProgramConfig};
        let d = DeviceProfile::N150;
        let req = LinearRequest::new("w2", 2048, 4864, 896, Policy::Performance);
        let mcast = plan_linear_with(&req, &d, &LinearSearch::default()).unwrap().config;
        assert!(!matches!(mcast.program_config, MatmulProgramConfig::Reuse(_)), "{:?}", mcast.program_config);
        let reuse = crate::op::LinearConfig {
            program_config: MatmulProgramConfig::Reuse(MatmulMultiCoreReuseProgramConfig {
                compute_with_storage_grid_size: CoreCoord::new(8, 8),
                in0_block_w: 8,
                out_subblock_h: 1,
                out_subblock_w: 4,
                per_core_M: 1,
                per_core_N: 28,
            }),
            ..mcast
        };
        let weight = (4864 / 32) * (896 / 32) * mcast.weight_dtype.tile_bytes();
        let activations = |c: &crate::op::LinearConfig| {
            (c.mt() * c.kt()) as u64 * c.input_dtype.tile_bytes() + (c.mt() * c.nt()) as u64 * c.dtype.tile_bytes()
        };
        let (r, m) = (estimate_linear(&reuse, &d), estimate_linear(&mcast, &d));
        assert_eq!(r.dram_bytes, 64 * weight + activations(&reuse), "64 M-blocks, each reading the weight");
        assert_eq!(m.dram_bytes, weight + activations(&mcast));
        assert!(r.total_us > m.total_us);
    }

    #[test]
    fn dram_sharded_gemv_beats_interleaved_and_is_dram_bound() {
        let d = DeviceProfile::N150;
        let req = LinearRequest::new("t", 32, 4096, 14336, Policy::Performance);
        let inter =
            plan_linear_with(&req, &d, &LinearSearch { activations_in_l1: true, ..LinearSearch::default() }).unwrap();
        let sharded = plan_linear_with(
            &req,
            &d,
            &LinearSearch { activations_in_l1: true, dram_sharded_only: true, ..LinearSearch::default() },
        )
        .unwrap();
        assert!(matches!(sharded.config.program_config, MatmulProgramConfig::DramSharded(_)));
        assert!(sharded.cost.total_us < inter.cost.total_us, "{} vs {}", sharded.cost.total_us, inter.cost.total_us);
        assert!(sharded.cost.dram_us >= sharded.cost.compute_us.max(sharded.cost.noc_us));
        // Allowing both families picks the DRAM-sharded one.
        let both = plan_linear_with(
            &req,
            &d,
            &LinearSearch { activations_in_l1: true, allow_dram_sharded: true, ..LinearSearch::default() },
        )
        .unwrap();
        assert_eq!(both.config.program_config, sharded.config.program_config);
    }

    /// The DRAM-sharded streaming model (ramp + bytes at 267 GB/s) reproduces the per-shape
    /// targets of `test_dram_read_l1_write_core` (`tests/scripts/test_moreh_microbenchmark.py`
    /// @ 13adda80, WH, 12 banks, GB/s from kernel duration) within 2 %, and the large-read window of
    /// the same file (65536×1536 bf16: 260–270 GB/s).
    #[test]
    fn dram_sharded_streaming_matches_the_read_benchmark_per_shape() {
        use super::{super::KERNEL_RAMP_US, DRAM_SHARDED_EFFICIENCY};
        let d = DeviceProfile::N150;
        let gbs = |k: u64, n: u64, tile: u64| {
            let bytes = k * n / 1024 * tile;
            let us = KERNEL_RAMP_US + bytes as f64 / (d.dram_bandwidth_bytes_per_s * DRAM_SHARDED_EFFICIENCY) * 1e6;
            bytes as f64 / us / 1e3
        };
        for (k, n, tile, measured) in
            [(2048, 3840, 576, 244.0), (3584, 2304, 1088, 255.0), (1024, 2304, 1088, 226.0), (2048, 1536, 1088, 232.0)]
        {
            let model = gbs(k, n, tile);
            assert!((model / measured - 1.0).abs() < 0.02, "{k}x{n}: model {model:.1} GB/s vs measured {measured}");
        }
        let big = gbs(65536, 1536, 2048);
        assert!((260.0..=270.0).contains(&big), "{big}");
    }

    #[test]
    fn multicasting_a_large_operand_from_one_sender_costs_noc_time() {
        use crate::ttnn::MatmulMultiCoreReuseMultiCast1DProgramConfig;
        // 1D tall (mcast_in0 = false): one sender reads all of in1 and multicasts it, so its NoC
        // port carries the weight twice (read + multicast write).
        let d = DeviceProfile::N150;
        let mut req = LinearRequest::new("t", 2048, 4096, 1024, Policy::Performance);
        let (mt, kt, nt) = (64u32, 128u64, 32u32);
        req.program_config = Some(MatmulProgramConfig::MultiCast1D(MatmulMultiCoreReuseMultiCast1DProgramConfig {
            compute_with_storage_grid_size: d.compute_grid,
            in0_block_w: 4,
            out_subblock_h: 1,
            out_subblock_w: 8,
            out_block_h: 1,
            out_block_w: nt,
            per_core_M: mt / 64,
            per_core_N: nt,
            fuse_batch: true,
            fused_activation: None,
            mcast_in0: false,
        }));
        let tall = plan_linear_with(&req, &d, &LinearSearch::default()).unwrap();
        let weight = kt * nt as u64 * 1088;
        let sender_us = 2.0 * weight as f64 / (32.0 * d.clock_hz) * 1e6;
        assert!(tall.cost.noc_us >= sender_us, "{} < {}", tall.cost.noc_us, sender_us);
        // The free search finds something faster than that sender-bound config.
        req.program_config = None;
        let best = plan_linear_with(&req, &d, &LinearSearch::default()).unwrap();
        assert!(best.cost.total_us < tall.cost.total_us);
    }
}
