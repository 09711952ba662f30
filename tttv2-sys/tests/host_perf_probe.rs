//! Quick timing probe (ignored; run with --ignored --nocapture): min-of-N times of the small-M
//! path, robust to a loaded machine.
mod common;
use common::*;
use std::time::Instant;
use tttv2_core::ttnn::*;
use tttv2_sys::ops;

#[test]
#[ignore]
fn probe_small_m_times() {
    let dev = device();
    for (k, n, dt, f) in [
        (2048u32, 8192u32, DataType::Bfloat8B, MathFidelity::HiFi2),
        (2048, 8192, DataType::Bfloat16, MathFidelity::HiFi4),
        (2048, 8192, DataType::Bfloat8B, MathFidelity::LoFi),
    ] {
        let mut r = Rng(3);
        let w = up(&dev, &r.vec((k * n) as usize), &[k, n], dt);
        for m in [1u32, 32] {
            let x = up(&dev, &r.vec((m * k) as usize), &[m, k], DataType::Bfloat16);
            let pc = MatmulProgramConfig::MultiCast1D(MatmulMultiCoreReuseMultiCast1DProgramConfig {
                compute_with_storage_grid_size: CoreCoord::new(8, 8),
                in0_block_w: 2,
                out_subblock_h: 1,
                out_subblock_w: 1,
                out_block_h: 1,
                out_block_w: 4,
                per_core_M: 1,
                per_core_N: 4,
                fuse_batch: true,
                fused_activation: None,
                mcast_in0: true,
            });
            for fp32 in [false, true] {
                let cc = ComputeKernelConfig {
                    math_fidelity: f,
                    math_approx_mode: false,
                    fp32_dest_acc_en: fp32,
                    packer_l1_acc: true,
                    dst_full_sync_en: false,
                };
                let mut best = f64::MAX;
                for _ in 0..20 {
                    let t = Instant::now();
                    let _o =
                        ops::matmul(&x, &w, &pc, &cc, &MemoryConfig::DRAM_INTERLEAVED, DataType::Bfloat16).unwrap();
                    best = best.min(t.elapsed().as_secs_f64());
                }
                println!(
                    "k {k} n {n} {dt:?} {f:?} m {m} fp32 {fp32}: min {:.3} ms, {:.2} GB/s, {:.1} GFLOP/s",
                    best * 1e3,
                    2.0 * k as f64 * n as f64 / best / 1e9,
                    2.0 * (m * k) as f64 * n as f64 / best / 1e9
                );
            }
        }
    }
}

#[test]
#[ignore]
fn probe_dram_sharded_overhead() {
    let dev = device();
    let (m, k, n) = (1u32, 2048u32, 8192u32);
    let mut r = Rng(3);
    let wv = r.vec((k * n) as usize);
    let xv = r.vec((m * k) as usize);
    let a_mem = sharded(TensorMemoryLayout::WidthSharded, BufferType::L1, (8, 8), 64, [32, 32]);
    let b_mem = sharded(TensorMemoryLayout::WidthSharded, BufferType::Dram, (12, 1), 12, [k, 704]);
    let o_mem = sharded(TensorMemoryLayout::WidthSharded, BufferType::L1, (8, 8), 64, [32, 128]);
    let x = tttv2_sys::Tensor::from_f32(&dev, &xv, &[1, 1, m, k], DataType::Bfloat16, Layout::Tile, &a_mem).unwrap();
    let w = tttv2_sys::Tensor::from_f32(&dev, &wv, &[1, 1, k, n], DataType::Bfloat16, Layout::Tile, &b_mem).unwrap();
    let pc = MatmulProgramConfig::DramSharded(MatmulMultiCoreReuseMultiCastDRAMShardedProgramConfig {
        in0_block_w: 1,
        per_core_M: 1,
        per_core_N: 4,
        fused_activation: None,
    });
    let cc = ComputeKernelConfig {
        math_fidelity: MathFidelity::HiFi2,
        math_approx_mode: false,
        fp32_dest_acc_en: false,
        packer_l1_acc: true,
        dst_full_sync_en: true,
    };
    let iters: usize = std::env::var("PROBE_ITERS").ok().and_then(|s| s.parse().ok()).unwrap_or(50);
    let mut best = f64::MAX;
    for _ in 0..iters {
        let t = Instant::now();
        let _o = ops::matmul(&x, &w, &pc, &cc, &o_mem, DataType::Bfloat16).unwrap();
        best = best.min(t.elapsed().as_secs_f64());
    }
    println!("dram-sharded m1 2048x8192 bf16: min {:.3} ms", best * 1e3);
}
