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
    for (k, n, dt, f) in [(2048u32, 8192u32, DataType::Bfloat8B, MathFidelity::HiFi2), (2048, 8192, DataType::Bfloat16, MathFidelity::HiFi4), (2048, 8192, DataType::Bfloat8B, MathFidelity::LoFi)] {
        let mut r = Rng(3);
        let w = up(&dev, &r.vec((k * n) as usize), &[k, n], dt);
        for m in [1u32, 32] {
            let x = up(&dev, &r.vec((m * k) as usize), &[m, k], DataType::Bfloat16);
            let pc = MatmulProgramConfig::MultiCast1D(MatmulMultiCoreReuseMultiCast1DProgramConfig {
                compute_with_storage_grid_size: CoreCoord::new(8, 8), in0_block_w: 2, out_subblock_h: 1, out_subblock_w: 1,
                out_block_h: 1, out_block_w: 4, per_core_M: 1, per_core_N: 4, fuse_batch: true, fused_activation: None, mcast_in0: true });
            for fp32 in [false, true] {
                let cc = ComputeKernelConfig { math_fidelity: f, math_approx_mode: false, fp32_dest_acc_en: fp32, packer_l1_acc: true, dst_full_sync_en: false };
                let mut best = f64::MAX;
                for _ in 0..20 {
                    let t = Instant::now();
                    let _o = ops::matmul(&x, &w, &pc, &cc, &MemoryConfig::DRAM_INTERLEAVED, DataType::Bfloat16).unwrap();
                    best = best.min(t.elapsed().as_secs_f64());
                }
                println!("k {k} n {n} {dt:?} {f:?} m {m} fp32 {fp32}: min {:.3} ms, {:.2} GB/s, {:.1} GFLOP/s", best * 1e3, 2.0 * k as f64 * n as f64 / best / 1e9, 2.0 * (m * k) as f64 * n as f64 / best / 1e9);
            }
        }
    }
}
