//! Host matmul against an independent f64 reference, for every program-config family, and the
//! numerics the configs control (dest accumulation format, K blocking, packer_l1_acc).
mod common;
use common::*;
use tttv2_core::ttnn::*;
use tttv2_sys::ops;

#[allow(clippy::too_many_arguments)] // one per field of TT-NN's config struct
fn mc2d(gx: u32, gy: u32, bw: u32, sh: u32, sw: u32, pm: u32, pn: u32, obh: u32, obw: u32) -> MatmulProgramConfig {
    MatmulProgramConfig::MultiCast2D(MatmulMultiCoreReuseMultiCastProgramConfig {
        compute_with_storage_grid_size: CoreCoord::new(gx, gy),
        in0_block_w: bw,
        out_subblock_h: sh,
        out_subblock_w: sw,
        out_block_h: obh,
        out_block_w: obw,
        per_core_M: pm,
        per_core_N: pn,
        transpose_mcast: false,
        fused_activation: None,
        fuse_batch: true,
    })
}

fn mc1d(bw: u32, sh: u32, sw: u32, pm: u32, pn: u32, mcast_in0: bool) -> MatmulProgramConfig {
    MatmulProgramConfig::MultiCast1D(MatmulMultiCoreReuseMultiCast1DProgramConfig {
        compute_with_storage_grid_size: CoreCoord::new(8, 8),
        in0_block_w: bw,
        out_subblock_h: sh,
        out_subblock_w: sw,
        out_block_h: pm,
        out_block_w: pn,
        per_core_M: pm,
        per_core_N: pn,
        fuse_batch: true,
        fused_activation: None,
        mcast_in0,
    })
}

/// bf16 inputs, HiFi4 (every bf16 mantissa bit used, hardware.md), fp32 dest: the only error is
/// the final bf16 rounding of the output (half an ulp, 2^-8 relative) plus f32 summation error
/// (K * 2^-24 * sum|a b|, bounded loosely by 1e-5 * sum|a b|).
fn check_family(pc: MatmulProgramConfig, m: u32, k: u32, n: u32, what: &str) {
    let dev = device();
    let mut r = Rng(0x1234 + m as u64 * 7 + n as u64);
    let a = bf16v(&r.vec((m * k) as usize));
    let b = bf16v(&r.vec((k * n) as usize));
    let ta = up(&dev, &a, &[m, k], DataType::Bfloat16);
    let tb = up(&dev, &b, &[k, n], DataType::Bfloat16);
    let out = ops::matmul(&ta, &tb, &pc, &hifi4(true), &MemoryConfig::DRAM_INTERLEAVED, DataType::Bfloat16).unwrap();
    assert_eq!(out.shape(), vec![m, n]);
    let got = out.to_f32().unwrap();
    let (want, abs) = matmul_ref(&a, &b, m as usize, k as usize, n as usize);
    for i in 0..got.len() {
        let e = (got[i] as f64 - want[i]).abs();
        let bound = BF16_HALF_ULP * want[i].abs() + 1e-5 * abs[i];
        assert!(e <= bound, "{what}: element {i}: got {}, want {} (err {e} > {bound})", got[i], want[i]);
    }
}

#[test]
fn multicore_config_matches_reference() {
    check_family(MatmulProgramConfig::MultiCore(MatmulMultiCoreProgramConfig {}), 64, 96, 160, "MultiCore");
}

#[test]
fn reuse_config_matches_reference() {
    let pc = MatmulProgramConfig::Reuse(MatmulMultiCoreReuseProgramConfig {
        compute_with_storage_grid_size: CoreCoord::new(8, 8),
        in0_block_w: 1,
        out_subblock_h: 1,
        out_subblock_w: 1,
        per_core_M: 1,
        per_core_N: 5,
    });
    check_family(pc, 96, 64, 160, "Reuse");
}

#[test]
fn mcast_2d_config_matches_reference_with_ragged_edges() {
    // M = 100 and N = 200 are not tile multiples; per_core 2x2 with 1x2 out_blocks.
    check_family(mc2d(8, 8, 2, 1, 2, 2, 2, 1, 2), 100, 128, 200, "MultiCast2D");
}

#[test]
fn mcast_1d_configs_match_reference() {
    check_family(mc1d(2, 1, 2, 1, 2, true), 32, 128, 256, "MultiCast1D wide");
    check_family(mc1d(4, 1, 4, 1, 4, false), 128, 128, 128, "MultiCast1D tall");
}

#[test]
fn dram_sharded_config_matches_reference() {
    let dev = device();
    let (m, k, n) = (32u32, 256u32, 384u32);
    let mut r = Rng(77);
    let a = bf16v(&r.vec((m * k) as usize));
    let b = bf16v(&r.vec((k * n) as usize));
    // in0: L1 WIDTH_SHARDED on 4 cores (64 columns each); in1: DRAM WIDTH_SHARDED on the 12 banks
    // (32 columns each, create_dram_sharded_mem_config); output: L1 WIDTH_SHARDED on 12 cores.
    let a_mem = sharded(TensorMemoryLayout::WidthSharded, BufferType::L1, (8, 8), 4, [32, 64]);
    let b_mem = sharded(TensorMemoryLayout::WidthSharded, BufferType::Dram, (12, 1), 12, [256, 32]);
    let o_mem = sharded(TensorMemoryLayout::WidthSharded, BufferType::L1, (8, 8), 12, [32, 32]);
    let ta = tttv2_sys::Tensor::from_f32(&dev, &a, &[m, k], DataType::Bfloat16, Layout::Tile, &a_mem).unwrap();
    let tb = tttv2_sys::Tensor::from_f32(&dev, &b, &[k, n], DataType::Bfloat16, Layout::Tile, &b_mem).unwrap();
    assert_eq!(tb.shards().len(), 12);
    let pc = MatmulProgramConfig::DramSharded(MatmulMultiCoreReuseMultiCastDRAMShardedProgramConfig {
        in0_block_w: 2,
        per_core_M: 1,
        per_core_N: 1,
        fused_activation: None,
    });
    let out = ops::matmul(&ta, &tb, &pc, &hifi4(true), &o_mem, DataType::Bfloat16).unwrap();
    assert_eq!(out.shards().len(), 12);
    let (want, abs) = matmul_ref(&a, &b, m as usize, k as usize, n as usize);
    let got = out.to_f32().unwrap();
    for i in 0..got.len() {
        assert!((got[i] as f64 - want[i]).abs() <= BF16_HALF_ULP * want[i].abs() + 1e-5 * abs[i]);
    }
}

#[test]
fn bf16_dest_accumulation_rounds_every_16_k_values() {
    // All-positive operands so partial sums grow: with fp32_dest_acc_en=false dest is Float16_b
    // and the running sum is rounded to bf16 after each 16-deep MVMUL (64 roundings for K=1024).
    // Each rounding adds at most half an ulp of the partial (<= final sum), so the error is
    // bounded by 64 * 2^-8 * sum, and it must be visibly larger than with fp32 dest.
    let dev = device();
    let (m, k, n) = (32u32, 1024u32, 64u32);
    let mut r = Rng(5);
    let a: Vec<f32> = bf16v(&r.vec((m * k) as usize).iter().map(|x| x.abs()).collect::<Vec<_>>());
    let b: Vec<f32> = bf16v(&r.vec((k * n) as usize).iter().map(|x| x.abs()).collect::<Vec<_>>());
    let ta = up(&dev, &a, &[m, k], DataType::Bfloat16);
    let tb = up(&dev, &b, &[k, n], DataType::Bfloat16);
    let pc = mc1d(32, 1, 2, 1, 2, true);
    let (want, _) = matmul_ref(&a, &b, m as usize, k as usize, n as usize);
    let err = |fp32: bool| {
        let o = ops::matmul(&ta, &tb, &pc, &hifi4(fp32), &MemoryConfig::DRAM_INTERLEAVED, DataType::Float32).unwrap();
        let g = o.to_f32().unwrap();
        let mut worst = 0.0f64;
        for i in 0..g.len() {
            let rel = (g[i] as f64 - want[i]).abs() / want[i];
            assert!(rel <= 64.0 * BF16_HALF_ULP, "element {i}: rel err {rel}");
            worst = worst.max(rel);
        }
        worst
    };
    let (e16, e32) = (err(false), err(true));
    assert!(e32 < 1e-5, "fp32 dest keeps the sum exact to f32: {e32}");
    assert!(e16 > 10.0 * e32 && e16 > 1e-4, "bf16 dest must show its rounding: {e16} vs {e32}");
}

#[test]
fn k_blocking_and_packer_l1_acc_change_bfp8_partials() {
    // BFLOAT8_B output without packer_l1_acc: partials between in0 blocks are packed in the
    // output format (matmul-rules.md §8 "interm0 format"), i.e. quantized to bfp8 at every block;
    // with packer_l1_acc they are accumulated in Float16_b instead. One K block (in0_block_w =
    // Kt) never leaves dest. So: 1 block == l1_acc result closeness, and many blocks without
    // l1_acc is the worst.
    let dev = device();
    let (m, k, n) = (32u32, 512u32, 64u32);
    let mut r = Rng(9);
    let a = bf16v(&r.vec((m * k) as usize));
    let b = bf16v(&r.vec((k * n) as usize));
    let ta = up(&dev, &a, &[m, k], DataType::Bfloat16);
    let tb = up(&dev, &b, &[k, n], DataType::Bfloat16);
    let (want, _) = matmul_ref(&a, &b, m as usize, k as usize, n as usize);
    let run = |bw: u32, l1: bool| {
        let mut cc = hifi4(false);
        cc.packer_l1_acc = l1;
        let o = ops::matmul(
            &ta,
            &tb,
            &mc1d(bw, 1, 2, 1, 2, true),
            &cc,
            &MemoryConfig::DRAM_INTERLEAVED,
            DataType::Bfloat8B,
        )
        .unwrap();
        let g = o.to_f32().unwrap();
        g.iter().zip(&want).map(|(&x, &w)| (x as f64 - w).powi(2)).sum::<f64>().sqrt()
    };
    let (one_block, many_blocks, many_l1) = (run(16, false), run(1, false), run(1, true));
    assert_ne!(one_block, many_blocks, "in0_block_w must change the result");
    assert!(many_blocks > one_block, "bfp8 partials per block: {many_blocks} vs {one_block}");
    assert!(many_l1 < many_blocks, "packer_l1_acc keeps partials in Float16_b: {many_l1} vs {many_blocks}");
}

#[test]
fn fused_bias_and_activation() {
    let dev = device();
    let (m, k, n) = (32u32, 64u32, 64u32);
    let mut r = Rng(3);
    let a = bf16v(&r.vec((m * k) as usize));
    let b = bf16v(&r.vec((k * n) as usize));
    let bias = bf16v(&r.vec(n as usize));
    let ta = up(&dev, &a, &[m, k], DataType::Bfloat16);
    let tb = up(&dev, &b, &[k, n], DataType::Bfloat16);
    let tbias = up(&dev, &bias, &[1, n], DataType::Bfloat16);
    let mut pc = mc1d(2, 1, 2, 1, 2, true);
    if let MatmulProgramConfig::MultiCast1D(p) = &mut pc {
        p.fused_activation = Some(UnaryWithParam::new(UnaryOpType::Relu));
    }
    let cfg = tttv2_core::op::LinearConfig {
        m,
        k,
        n,
        bias: true,
        input_dtype: DataType::Bfloat16,
        input_memory_config: MemoryConfig::DRAM_INTERLEAVED,
        weight_dtype: DataType::Bfloat16,
        weight_memory_config: MemoryConfig::DRAM_INTERLEAVED,
        program_config: pc,
        compute_kernel_config: hifi4(true),
        memory_config: MemoryConfig::DRAM_INTERLEAVED,
        dtype: DataType::Bfloat16,
    };
    let got = ops::linear(&ta, &tb, Some(&tbias), &cfg).unwrap().to_f32().unwrap();
    let (c, abs) = matmul_ref(&a, &b, m as usize, k as usize, n as usize);
    for i in 0..got.len() {
        let want = (c[i] + bias[i % n as usize] as f64).max(0.0);
        assert!((got[i] as f64 - want).abs() <= BF16_HALF_ULP * want.abs() + 1e-5 * (abs[i] + 1.0));
    }
}

#[test]
fn fidelity_orders_the_error() {
    // Random fp32 (not bf16) operands: LoFi uses 4 (SrcA) / 6 (SrcB) mantissa bits, HiFi2 adds
    // SrcA's low bits, HiFi4 all of them (numerics.h). RMS error vs f64 must order
    // LoFi > HiFi2 > HiFi4.
    let dev = device();
    let (m, k, n) = (32u32, 256u32, 64u32);
    let mut r = Rng(11);
    let a = r.vec((m * k) as usize);
    let b = r.vec((k * n) as usize);
    let ta = up(&dev, &a, &[m, k], DataType::Float32);
    let tb = up(&dev, &b, &[k, n], DataType::Float32);
    let (want, _) = matmul_ref(&a, &b, m as usize, k as usize, n as usize);
    let err = |f: MathFidelity| {
        let mut cc = hifi4(true);
        cc.math_fidelity = f;
        let o =
            ops::matmul(&ta, &tb, &mc1d(8, 1, 2, 1, 2, true), &cc, &MemoryConfig::DRAM_INTERLEAVED, DataType::Float32)
                .unwrap();
        let g = o.to_f32().unwrap();
        (g.iter().zip(&want).map(|(&x, &w)| (x as f64 - w).powi(2)).sum::<f64>() / g.len() as f64).sqrt()
    };
    let (lo, h2, h4) = (err(MathFidelity::LoFi), err(MathFidelity::HiFi2), err(MathFidelity::HiFi4));
    assert!(lo > h2 && h2 > h4, "LoFi {lo} > HiFi2 {h2} > HiFi4 {h4}");
    assert!(h4 < 1e-4, "HiFi4 with fp32 dest is f32-exact: {h4}");
}
