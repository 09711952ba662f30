use serde::Serialize;

use crate::device::DeviceProfile;
use crate::op::LinearConfig;
use crate::plan::choose_subblock;
use crate::ttnn::{DataType, MatmulProgramConfig, TensorMemoryLayout};

/// Per-core L1 a matmul needs: its circular buffers (CBs) and the sharded tensors it reads or
/// writes, in bytes. Sized the way the TT-NN program factories allocate them
/// (matmul-rules.md §6 and §8, `matmul_multicore_reuse_mcast_2d_program_factory.cpp` ~L100–185).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct L1Usage {
    /// in0 (activation) CB.
    pub in0_cb: u64,
    /// in1 (weight) CB.
    pub in1_cb: u64,
    /// Output CB (backed by the output tensor when it is sharded).
    pub out_cb: u64,
    /// Intermediate CB when it cannot share the output CB's memory.
    pub interm_cb: u64,
    /// Bias CB.
    pub bias_cb: u64,
    /// An L1-sharded input shard (CB in2 is backed by it).
    pub input_shard: u64,
    /// An L1-sharded weight shard (the in1 CB is backed by it; DRAM-sharded weights cost no L1).
    pub weight_shard: u64,
}

impl L1Usage {
    /// Total bytes per core.
    pub const fn total(&self) -> u64 {
        self.in0_cb + self.in1_cb + self.out_cb + self.interm_cb + self.bias_cb + self.input_shard + self.weight_shard
    }
}

/// Tile format of the intermediate (partial-sum) CB: fp32 with fp32 dest accumulation, otherwise
/// Float16_b when the packer accumulates in L1, otherwise the output format (matmul-rules.md §8).
fn interm_dtype(cfg: &LinearConfig, packer_l1_acc_en: bool) -> DataType {
    if cfg.compute_kernel_config.fp32_dest_acc_en {
        DataType::Float32
    } else if packer_l1_acc_en {
        DataType::Bfloat16
    } else {
        cfg.dtype
    }
}

/// Bytes of L1 per core `cfg` needs on `device`'s tile sizes.
pub fn linear_l1_usage(cfg: &LinearConfig, _device: &DeviceProfile) -> L1Usage {
    let a = cfg.input_dtype.tile_bytes();
    let b = cfg.weight_dtype.tile_bytes();
    let o = cfg.dtype.tile_bytes();
    let kt = cfg.kt() as u64;
    let out_sharded = cfg.memory_config.is_sharded();
    // Sharded tensors occupy L1 only when they live in L1 (matmul-rules.md §8: in2 is backed by
    // in0's shard; a DRAM-sharded weight is streamed through the in1 CB).
    let l1_shard = |mc: &crate::ttnn::MemoryConfig, tile: u64| match mc.shard_spec {
        Some(spec)
            if mc.memory_layout != TensorMemoryLayout::Interleaved && mc.buffer_type == crate::ttnn::BufferType::L1 =>
        {
            (spec.shape[0].div_ceil(32) as u64) * (spec.shape[1].div_ceil(32) as u64) * tile
        }
        _ => 0,
    };
    let input_shard = l1_shard(&cfg.input_memory_config, a);
    let weight_shard = l1_shard(&cfg.weight_memory_config, b);
    match cfg.program_config {
        MatmulProgramConfig::MultiCore(_) => {
            // The simple factory streams single tiles, double-buffered.
            L1Usage { in0_cb: 2 * a, in1_cb: 2 * b, out_cb: 2 * o, ..L1Usage::default() }
        }
        MatmulProgramConfig::Reuse(p) => {
            // `matmul_multicore_reuse_optimized_program_factory.cpp` @ 13adda80: CB sizes
            // `:143-164`; the intermediate format `:113-117` (packer L1 accumulation from 3 blocks
            // on); a separate intermediate CB c_5 whenever its format differs from the output's
            // `:530-541` (always with fp32 dest accumulation: Float32 partials), else c_4 and c_5
            // share one buffer. The factory creates no bias CB (c_3 is only named, `:307`).
            let (m, n, w) = (p.per_core_M as u64, p.per_core_N as u64, p.in0_block_w as u64);
            let num_blocks = kt / w.max(1);
            let interm = interm_dtype(cfg, cfg.compute_kernel_config.packer_l1_acc && num_blocks > 2);
            L1Usage {
                in0_cb: m * w * 2 * a,
                in1_cb: n * w * 2 * b,
                out_cb: m * n * o,
                interm_cb: if interm == cfg.dtype { 0 } else { m * n * interm.tile_bytes() },
                input_shard,
                weight_shard,
                ..L1Usage::default()
            }
        }
        MatmulProgramConfig::MultiCast2D(p) => mcast_usage(
            cfg,
            [p.in0_block_w, p.out_block_h, p.out_block_w, p.per_core_M, p.per_core_N],
            out_sharded,
            input_shard,
            weight_shard,
        ),
        MatmulProgramConfig::MultiCast1D(p) => mcast_usage(
            cfg,
            [p.in0_block_w, p.out_block_h, p.out_block_w, p.per_core_M, p.per_core_N],
            out_sharded,
            input_shard,
            weight_shard,
        ),
        MatmulProgramConfig::DramSharded(p) => {
            // One compute worker per DRAM bank holding real columns (matmul-rules.md §6); the
            // columns each computes, widened for its output subblock ([`dram_sharded_n`]).
            let (m, w) = (p.per_core_M as u64, p.in0_block_w as u64);
            let (n_sender, n_compute) = dram_sharded_n(cfg, _device.dram_banks, p.per_core_M);
            let (n_sender, n_compute) = (n_sender as u64, n_compute as u64);
            let num_blocks = kt / w.max(1);
            let in0_mult = if num_blocks > 1 { 2 } else { 1 };
            let interm_fmt = interm_dtype(cfg, cfg.compute_kernel_config.packer_l1_acc && num_blocks > 1);
            L1Usage {
                in0_cb: m * w * in0_mult * a,
                in1_cb: n_sender * w * 3 * b,
                out_cb: m * n_compute * o + m * p.per_core_N as u64 * o,
                interm_cb: m * n_compute * interm_fmt.tile_bytes(),
                bias_cb: if cfg.bias { n_compute * b } else { 0 },
                input_shard,
                weight_shard,
            }
        }
    }
}

/// `(per_core_N_in1_sender, per_core_N_compute)` of the DRAM-sharded factory
/// (`matmul_multicore_reuse_mcast_dram_sharded_program_factory.cpp` @ 13adda80): banks that hold
/// only the weight's padding get no worker (`:118-139`); each worker reads `ceil(Nt / workers)`
/// columns (`:141-142`); with a one-row output subblock narrower than the dest register (4 tiles
/// with fp32 dest accumulation, else 8), the subblock is widened while that saves a subblock and
/// the computed columns are padded to a whole number of subblocks (`:144-170`). The output,
/// intermediate and bias CBs hold `per_core_N_compute` columns (`:215-229`), the in1 CB the
/// sender's (`:207-212`).
fn dram_sharded_n(cfg: &LinearConfig, banks: u32, per_core_m: u32) -> (u32, u32) {
    let nt = cfg.nt();
    let banks = banks.max(1);
    let shard_w = match cfg.weight_memory_config.shard_spec {
        Some(spec) => spec.shape[1].div_ceil(32).max(1),
        None => nt.div_ceil(banks),
    };
    let padding_banks = (shard_w * banks).saturating_sub(nt) / shard_w;
    let workers = (banks - padding_banks.min(banks - 1)).max(1);
    let sender = nt.div_ceil(workers);
    let dest = if cfg.compute_kernel_config.fp32_dest_acc_en { 4 } else { 8 };
    let (h, mut sub_w) = choose_subblock(per_core_m, sender, dest);
    let mut subblocks = sender / sub_w;
    if h == 1 && sub_w < dest {
        let mut best = sub_w;
        for wider in sub_w + 1..=dest {
            let n = sender.div_ceil(wider);
            if n < subblocks {
                subblocks = n;
                best = wider;
            }
        }
        sub_w = best;
    }
    (sender, sub_w * subblocks)
}

fn mcast_usage(cfg: &LinearConfig, f: [u32; 5], out_sharded: bool, input_shard: u64, weight_shard: u64) -> L1Usage {
    let [w, bh, bw, pm, pn] = f.map(|v| v as u64);
    let a = cfg.input_dtype.tile_bytes();
    let b = cfg.weight_dtype.tile_bytes();
    let o = cfg.dtype.tile_bytes();
    let num_blocks = cfg.kt() as u64 / w.max(1);
    let mult = if num_blocks > 1 { 2 } else { 1 };
    let packer_l1_acc_en = cfg.compute_kernel_config.packer_l1_acc && ((cfg.bias && num_blocks > 1) || num_blocks > 2);
    let interm = interm_dtype(cfg, packer_l1_acc_en);
    let out_tiles = if out_sharded { pm * pn } else { bh * bw };
    // The intermediate CB shares the output CB's memory unless the formats differ or a sharded
    // output is produced in several block rows.
    let shares = interm == cfg.dtype && !(out_sharded && pm != bh);
    L1Usage {
        in0_cb: bh * w * mult * a,
        in1_cb: bw * w * mult * b,
        out_cb: out_tiles * o,
        interm_cb: if shares { 0 } else { bh * bw * interm.tile_bytes() },
        bias_cb: if cfg.bias { bw * b } else { 0 },
        input_shard,
        weight_shard,
    }
}
