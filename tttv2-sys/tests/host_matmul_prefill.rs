//! The host matmul's prepared-weight path at prefill sizes (M > 32 logical rows, computed in row
//! blocks with the weight's operand cached on the tensor) against the general per-region path
//! (the reference model: one sgemm per region, K step and 128-deep slice, operand copies per
//! call), bit for bit, and against an f64 reference.
//!
//! Both paths perform the same f32 operations in the same order per output element (an FMA chain
//! from zero over each 128-deep K slice, added to dest; see host_matmul_small.rs), so the
//! comparison has no tolerance.
mod common;
use common::*;
use tttv2_core::op::LinearConfig;
use tttv2_core::ttnn::*;
use tttv2_sys::ops::diag::{HostMatmulPath, set_host_matmul_path};
use tttv2_sys::{Tensor, ops};

fn ckc(f: MathFidelity, fp32: bool, l1: bool) -> ComputeKernelConfig {
    ComputeKernelConfig {
        math_fidelity: f,
        math_approx_mode: false,
        fp32_dest_acc_en: fp32,
        packer_l1_acc: l1,
        dst_full_sync_en: false,
    }
}

fn mc2d(bw: u32, pm: u32, pn: u32, obh: u32, obw: u32, act: Option<UnaryWithParam>) -> MatmulProgramConfig {
    MatmulProgramConfig::MultiCast2D(MatmulMultiCoreReuseMultiCastProgramConfig {
        compute_with_storage_grid_size: CoreCoord::new(8, 8),
        in0_block_w: bw,
        out_subblock_h: 1,
        out_subblock_w: 1,
        out_block_h: obh,
        out_block_w: obw,
        per_core_M: pm,
        per_core_N: pn,
        transpose_mcast: false,
        fused_activation: act,
        fuse_batch: true,
    })
}

fn mc1d(bw: u32, pm: u32, pn: u32) -> MatmulProgramConfig {
    MatmulProgramConfig::MultiCast1D(MatmulMultiCoreReuseMultiCast1DProgramConfig {
        compute_with_storage_grid_size: CoreCoord::new(8, 8),
        in0_block_w: bw,
        out_subblock_h: 1,
        out_subblock_w: 1,
        out_block_h: pm,
        out_block_w: pn,
        per_core_M: pm,
        per_core_N: pn,
        fuse_batch: true,
        fused_activation: None,
        mcast_in0: true,
    })
}

struct Case<'a> {
    x: &'a Tensor,
    w: &'a Tensor,
    bias: Option<&'a Tensor>,
    m: u32,
    k: u32,
    n: u32,
    pc: MatmulProgramConfig,
    cc: ComputeKernelConfig,
    out_dtype: DataType,
}

fn run(c: &Case, path: HostMatmulPath) -> Vec<f32> {
    set_host_matmul_path(path).unwrap();
    let cfg = LinearConfig {
        m: c.m,
        k: c.k,
        n: c.n,
        bias: c.bias.is_some(),
        input_dtype: c.x.dtype(),
        input_memory_config: c.x.memory_config(),
        weight_dtype: c.w.dtype(),
        weight_memory_config: c.w.memory_config(),
        program_config: c.pc,
        compute_kernel_config: c.cc,
        memory_config: MemoryConfig::DRAM_INTERLEAVED,
        dtype: c.out_dtype,
    };
    let out = ops::linear(c.x, c.w, c.bias, &cfg);
    set_host_matmul_path(HostMatmulPath::Auto).unwrap();
    out.unwrap().to_f32().unwrap()
}

fn same_bits(a: &[f32], b: &[f32], what: &str) {
    assert_eq!(a.len(), b.len(), "{what}: length");
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert!(
            x.to_bits() == y.to_bits() || (x.is_nan() && y.is_nan()),
            "{what}: element {i}: prepared {x} vs general {y}"
        );
    }
}

/// Prepared (explicit), Auto (which must take the prepared path's result) and General agree.
fn all_paths(c: &Case, what: &str) -> Vec<f32> {
    let prepared = run(c, HostMatmulPath::Prepared);
    let general = run(c, HostMatmulPath::General);
    same_bits(&prepared, &general, what);
    same_bits(&run(c, HostMatmulPath::Auto), &prepared, &format!("{what} (auto, cached weight)"));
    prepared
}

#[test]
fn prepared_path_matches_general_path_at_prefill_sizes() {
    let dev = device();
    // K ragged against in0 blocks of 8 tiles is not allowed (Kt % in0_block_w), so K = 256 with
    // blocks of 1, 2 and 8 tiles; N ragged (not a multiple of 16 or 32), M ragged (not a multiple
    // of 6 or 32) and over several row blocks.
    let (k, n) = (256u32, 200u32);
    let mut r = Rng(0xF00D);
    let wv = r.vec((k * n) as usize);
    let bias = up(&dev, &bf16v(&r.vec(n as usize)), &[1, n], DataType::Bfloat16);
    let mut cases = 0;
    for wdt in [DataType::Bfloat16, DataType::Bfloat8B, DataType::Bfloat4B, DataType::Float32] {
        let w = up(&dev, &wv, &[k, n], wdt);
        for m in [33u32, 128, 203] {
            let x = up(&dev, &r.vec((m * k) as usize), &[1, 1, m, k], DataType::Bfloat16);
            let (mt, nt) = (m.div_ceil(32), n.div_ceil(32));
            for (fi, f) in [MathFidelity::LoFi, MathFidelity::HiFi2, MathFidelity::HiFi3, MathFidelity::HiFi4]
                .into_iter()
                .enumerate()
            {
                for fp32 in [false, true] {
                    for l1 in [false, true] {
                        for (bi, bw) in [1u32, 2, 8].into_iter().enumerate() {
                            let out_dtype = [DataType::Bfloat16, DataType::Bfloat8B, DataType::Float32][(fi + bi) % 3];
                            let with_bias = (fi + bi + m as usize).is_multiple_of(2);
                            let act = (bi == 1).then(|| UnaryWithParam::new(UnaryOpType::Silu));
                            // 2D: one tile row and column per core; or all of M per core in
                            // blocks of 2 tile rows.
                            let pc = if (fi + bi) % 2 == 0 {
                                mc2d(bw, 1, 1, 1, 1, act)
                            } else {
                                mc2d(bw, mt, nt, if mt.is_multiple_of(2) { 2 } else { 1 }, nt, act)
                            };
                            let c = Case {
                                x: &x,
                                w: &w,
                                bias: with_bias.then_some(&bias),
                                m,
                                k,
                                n,
                                pc,
                                cc: ckc(f, fp32, l1),
                                out_dtype,
                            };
                            all_paths(
                                &c,
                                &format!(
                                    "w {wdt:?} m {m} {f:?} fp32 {fp32} l1 {l1} bw {bw} out {out_dtype:?} bias {with_bias}"
                                ),
                            );
                            cases += 1;
                        }
                    }
                }
            }
        }
    }
    assert_eq!(cases, 4 * 3 * 4 * 2 * 2 * 3);
}

#[test]
fn prepared_path_matches_general_path_for_tall_regions_with_fp32_dest() {
    // Regions of 7 tile rows (224 rows > sgemm's 198-row MC block) with fp32 dest and 256-deep in0
    // blocks: the general path slices each K block into 128-deep sgemm calls, so it agrees with
    // the prepared path here too; and 1D mcast_in0 with all of M on each core.
    let dev = device();
    let (m, k, n) = (448u32, 512u32, 96u32);
    let mut r = Rng(77);
    let x = up(&dev, &r.vec((m * k) as usize), &[m, k], DataType::Bfloat16);
    let w = up(&dev, &r.vec((k * n) as usize), &[k, n], DataType::Bfloat8B);
    for (name, pc) in [("2d", mc2d(8, 7, 1, 7, 1, None)), ("1d", mc1d(8, m / 32, 1))] {
        for f in [MathFidelity::HiFi2, MathFidelity::HiFi4] {
            let c =
                Case { x: &x, w: &w, bias: None, m, k, n, pc, cc: ckc(f, true, false), out_dtype: DataType::Float32 };
            all_paths(&c, &format!("{name} {f:?}"));
        }
    }
}

#[test]
fn prepared_path_matches_f64_reference_at_prefill_sizes() {
    // HiFi4 + fp32 dest on bf16 operands: the only errors are f32 summation and the output's bf16
    // rounding (the bound of host_matmul.rs's check_family).
    let dev = device();
    let (m, k, n) = (160u32, 512u32, 320u32);
    let mut r = Rng(9);
    let a = bf16v(&r.vec((m * k) as usize));
    let b = bf16v(&r.vec((k * n) as usize));
    let x = up(&dev, &a, &[m, k], DataType::Bfloat16);
    let w = up(&dev, &b, &[k, n], DataType::Bfloat16);
    let c = Case {
        x: &x,
        w: &w,
        bias: None,
        m,
        k,
        n,
        pc: mc2d(4, 1, 2, 1, 2, None),
        cc: ckc(MathFidelity::HiFi4, true, false),
        out_dtype: DataType::Bfloat16,
    };
    let got = run(&c, HostMatmulPath::Prepared);
    let (want, abs) = matmul_ref(&a, &b, m as usize, k as usize, n as usize);
    assert_eq!(got.len(), (m * n) as usize);
    for i in 0..got.len() {
        let e = (got[i] as f64 - want[i]).abs();
        let bound = BF16_HALF_ULP * want[i].abs() + 1e-5 * abs[i];
        assert!(e <= bound, "element {i}: got {}, want {} (err {e} > {bound})", got[i], want[i]);
    }
}

#[test]
fn prepared_path_models_bf16_dest_rounding_at_prefill_sizes() {
    // bf16 dest (fp32_dest_acc_en off) rounds the running sum after every 16 values of K. With
    // a = 1 everywhere and b = 1 + 2^-7 (exact in bf16) in every row but the first 16, which are
    // 2^-9: the sum after the first step is 16 * 2^-9 = 2^-5; every later 16-deep step adds
    // 16 * (1 + 2^-7), and the running sum stays a multiple of its bf16 ulp only if rounding is
    // modelled. Computed here in f64 with the same per-step rounding (independent of the
    // backend), and compared with the plain f64 sum to make sure the case discriminates.
    let dev = device();
    let (m, k, n) = (64u32, 256u32, 32u32);
    let a = vec![1.0f32; (m * k) as usize];
    let b: Vec<f32> = (0..k * n).map(|i| if i / n < 16 { 2f32.powi(-9) } else { 1.0 + 2f32.powi(-7) }).collect();
    let x = up(&dev, &a, &[m, k], DataType::Bfloat16);
    let w = up(&dev, &b, &[k, n], DataType::Bfloat16);
    let c = Case {
        x: &x,
        w: &w,
        bias: None,
        m,
        k,
        n,
        pc: mc2d(8, 1, 1, 1, 1, None),
        cc: ckc(MathFidelity::HiFi4, false, false),
        out_dtype: DataType::Float32,
    };
    let got = run(&c, HostMatmulPath::Prepared);
    let mut dest = 0.0f64;
    for step in 0..(k / 16) {
        let inc: f64 = (0..16).map(|j| b[((step * 16 + j) * n) as usize] as f64).sum();
        dest = bf16((dest + inc) as f32) as f64;
    }
    let plain: f64 = (0..k).map(|j| b[(j * n) as usize] as f64).sum();
    assert_ne!(dest, plain, "the case must tell bf16 dest rounding from an exact sum");
    for (i, &g) in got.iter().enumerate() {
        assert_eq!(g as f64, dest, "element {i}");
    }
}
