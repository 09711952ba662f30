//! The host matmul's small-M path (decode: M <= 32 logical rows, weight prepared once and cached on
//! the tensor) against the general per-region path, and against an f64 reference.
//!
//! Both paths model the same numerics (fidelity masks, 16-deep bf16 dest steps, in0-block partials
//! in the interm format or L1-accumulated, fused bias/activation, output rounding) AND perform the
//! same f32 operations in the same order per output element: an FMA chain from zero over each
//! 128-deep K slice, added to dest (the order of gemm.cc's AVX2 kernel; on a machine without AVX2
//! both use the same multiply-add scalar order). So the comparison is bit for bit, no tolerance.
mod common;
use common::*;
use tttv2_core::op::LinearConfig;
use tttv2_core::ttnn::*;
use tttv2_sys::ops::diag::{HostMatmulPath, set_host_matmul_path};
use tttv2_sys::{Tensor, ops};

fn mc1d(bw: u32, pn: u32, act: Option<UnaryWithParam>) -> MatmulProgramConfig {
    MatmulProgramConfig::MultiCast1D(MatmulMultiCoreReuseMultiCast1DProgramConfig {
        compute_with_storage_grid_size: CoreCoord::new(8, 8),
        in0_block_w: bw,
        out_subblock_h: 1,
        out_subblock_w: 1,
        out_block_h: 1,
        out_block_w: pn,
        per_core_M: 1,
        per_core_N: pn,
        fuse_batch: true,
        fused_activation: act,
        mcast_in0: true,
    })
}

fn ckc(f: MathFidelity, fp32: bool, l1: bool) -> ComputeKernelConfig {
    ComputeKernelConfig {
        math_fidelity: f,
        math_approx_mode: false,
        fp32_dest_acc_en: fp32,
        packer_l1_acc: l1,
        dst_full_sync_en: false,
    }
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
    out_mem: MemoryConfig,
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
        memory_config: c.out_mem,
        dtype: c.out_dtype,
    };
    let out = ops::linear(c.x, c.w, c.bias, &cfg).unwrap();
    set_host_matmul_path(HostMatmulPath::Auto).unwrap();
    out.to_f32().unwrap()
}

fn same_bits(a: &[f32], b: &[f32], what: &str) {
    assert_eq!(a.len(), b.len(), "{what}: length");
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert!(
            x.to_bits() == y.to_bits() || (x.is_nan() && y.is_nan()),
            "{what}: element {i}: small-M {x} vs general {y}"
        );
    }
}

/// Runs both paths, asserts bit equality; returns the small-M result.
fn both(c: &Case, what: &str) -> Vec<f32> {
    let fast = run(c, HostMatmulPath::SmallM);
    let general = run(c, HostMatmulPath::General);
    same_bits(&fast, &general, what);
    // The second call uses the cached prepared weight.
    same_bits(&run(c, HostMatmulPath::SmallM), &fast, &format!("{what} (cached)"));
    fast
}

#[test]
fn small_m_matches_general_path_across_numerics() {
    let dev = device();
    let (k, n) = (256u32, 200u32); // N ragged: not a multiple of 16 or 32
    let mut r = Rng(0x5EED);
    let wv = r.vec((k * n) as usize);
    let bias = up(&dev, &bf16v(&r.vec(n as usize)), &[1, n], DataType::Bfloat16);
    let mut cases = 0;
    for wdt in [DataType::Bfloat16, DataType::Bfloat8B, DataType::Bfloat4B, DataType::Float32] {
        let w = up(&dev, &wv, &[k, n], wdt);
        for m in [1u32, 5, 32] {
            let x = up(&dev, &r.vec((m * k) as usize), &[1, 1, m, k], DataType::Bfloat16);
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
                            let c = Case {
                                x: &x,
                                w: &w,
                                bias: with_bias.then_some(&bias),
                                m,
                                k,
                                n,
                                pc: mc1d(bw, 1, act),
                                cc: ckc(f, fp32, l1),
                                out_mem: MemoryConfig::DRAM_INTERLEAVED,
                                out_dtype,
                            };
                            both(
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
fn small_m_matches_general_path_for_every_family() {
    let dev = device();
    let mut r = Rng(42);
    for m in [1u32, 5, 32] {
        // MultiCore (whole K in dest), Reuse, 2D multicast, 1D multicast: interleaved; K ragged.
        let (k, n) = (160u32, 96u32);
        let x = up(&dev, &r.vec((m * k) as usize), &[m, k], DataType::Bfloat16);
        let w = up(&dev, &r.vec((k * n) as usize), &[k, n], DataType::Bfloat8B);
        let reuse = MatmulProgramConfig::Reuse(MatmulMultiCoreReuseProgramConfig {
            compute_with_storage_grid_size: CoreCoord::new(8, 8),
            in0_block_w: 1,
            out_subblock_h: 1,
            out_subblock_w: 1,
            per_core_M: 1,
            per_core_N: 3,
        });
        let mc2d = MatmulProgramConfig::MultiCast2D(MatmulMultiCoreReuseMultiCastProgramConfig {
            compute_with_storage_grid_size: CoreCoord::new(8, 8),
            in0_block_w: 5,
            out_subblock_h: 1,
            out_subblock_w: 1,
            out_block_h: 1,
            out_block_w: 1,
            per_core_M: 1,
            per_core_N: 1,
            transpose_mcast: false,
            fused_activation: None,
            fuse_batch: true,
        });
        for (name, pc) in [
            ("MultiCore", MatmulProgramConfig::MultiCore(MatmulMultiCoreProgramConfig {})),
            ("Reuse", reuse),
            ("MultiCast2D", mc2d),
        ] {
            for fp32 in [false, true] {
                let c = Case {
                    x: &x,
                    w: &w,
                    bias: None,
                    m,
                    k,
                    n,
                    pc,
                    cc: ckc(MathFidelity::HiFi2, fp32, true),
                    out_mem: MemoryConfig::DRAM_INTERLEAVED,
                    out_dtype: DataType::Bfloat16,
                };
                both(&c, &format!("{name} m {m} fp32 {fp32}"));
            }
        }
        // DRAM-sharded, as the decode plan runs it: in0 L1 WIDTH_SHARDED, in1 DRAM WIDTH_SHARDED on
        // the 12 banks, output L1 WIDTH_SHARDED.
        let (k, n) = (256u32, 384u32);
        let rows = 32;
        let a_mem = sharded(TensorMemoryLayout::WidthSharded, BufferType::L1, (8, 8), 4, [rows, 64]);
        let b_mem = sharded(TensorMemoryLayout::WidthSharded, BufferType::Dram, (12, 1), 12, [k, 32]);
        let o_mem = sharded(TensorMemoryLayout::WidthSharded, BufferType::L1, (8, 8), 12, [rows, 32]);
        let x =
            Tensor::from_f32(&dev, &r.vec((m * k) as usize), &[1, 1, m, k], DataType::Bfloat16, Layout::Tile, &a_mem)
                .unwrap();
        let w = Tensor::from_f32(&dev, &r.vec((k * n) as usize), &[k, n], DataType::Bfloat8B, Layout::Tile, &b_mem)
            .unwrap();
        let pc = MatmulProgramConfig::DramSharded(MatmulMultiCoreReuseMultiCastDRAMShardedProgramConfig {
            in0_block_w: 2,
            per_core_M: 1,
            per_core_N: 1,
            fused_activation: None,
        });
        for (f, fp32, l1) in
            [(MathFidelity::HiFi2, false, true), (MathFidelity::LoFi, true, false), (MathFidelity::HiFi4, false, false)]
        {
            let c = Case {
                x: &x,
                w: &w,
                bias: None,
                m,
                k,
                n,
                pc,
                cc: ckc(f, fp32, l1),
                out_mem: o_mem,
                out_dtype: DataType::Bfloat16,
            };
            both(&c, &format!("DramSharded m {m} {f:?}"));
        }
    }
}

#[test]
fn small_m_handles_non_finite_values_like_the_general_path() {
    // An inf weight and a NaN activation: NaN/inf propagate through dest rounding and block-float
    // partials the same way on both paths (and the zero padding columns past N do not turn into
    // NaN inside a bfp8 shared exponent).
    let dev = device();
    let (m, k, n) = (3u32, 128u32, 40u32);
    let mut r = Rng(7);
    let mut wv = r.vec((k * n) as usize);
    wv[5 * n as usize + 3] = f32::INFINITY;
    let mut xv = r.vec((m * k) as usize);
    xv[(2 * k + 17) as usize] = f32::NAN;
    let x = up(&dev, &xv, &[m, k], DataType::Float32);
    for wdt in [DataType::Float32, DataType::Bfloat16] {
        let w = up(&dev, &wv, &[k, n], wdt);
        for f in [MathFidelity::LoFi, MathFidelity::HiFi3] {
            let c = Case {
                x: &x,
                w: &w,
                bias: None,
                m,
                k,
                n,
                pc: mc1d(1, 1, None),
                cc: ckc(f, false, false),
                out_mem: MemoryConfig::DRAM_INTERLEAVED,
                out_dtype: DataType::Bfloat8B,
            };
            let got = both(&c, &format!("non-finite {wdt:?} {f:?}"));
            assert!(got[(2 * n) as usize].is_nan(), "row 2 meets the NaN");
        }
    }
}

#[test]
fn small_m_matches_f64_reference() {
    // HiFi4 + fp32 dest on bf16 operands: the only errors are f32 summation and the output's bf16
    // rounding (the bound of host_matmul.rs's check_family).
    let dev = device();
    let (k, n) = (512u32, 320u32);
    for m in [1u32, 5, 32] {
        let mut r = Rng(100 + m as u64);
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
            pc: mc1d(4, 1, None),
            cc: ckc(MathFidelity::HiFi4, true, false),
            out_mem: MemoryConfig::DRAM_INTERLEAVED,
            out_dtype: DataType::Bfloat16,
        };
        let got = run(&c, HostMatmulPath::SmallM);
        let (want, abs) = matmul_ref(&a, &b, m as usize, k as usize, n as usize);
        for i in 0..got.len() {
            let e = (got[i] as f64 - want[i]).abs();
            let bound = BF16_HALF_ULP * want[i].abs() + 1e-5 * abs[i];
            assert!(e <= bound, "m {m}: element {i}: got {}, want {} (err {e} > {bound})", got[i], want[i]);
        }
        // Padding rows never reach the result: the output has exactly M logical rows.
        assert_eq!(got.len(), (m * n) as usize);
    }
}

#[test]
fn small_m_path_refuses_large_m_when_forced() {
    let dev = device();
    let (m, k, n) = (64u32, 64u32, 64u32);
    let mut r = Rng(1);
    let x = up(&dev, &r.vec((m * k) as usize), &[m, k], DataType::Bfloat16);
    let w = up(&dev, &r.vec((k * n) as usize), &[k, n], DataType::Bfloat16);
    set_host_matmul_path(HostMatmulPath::SmallM).unwrap();
    let pc = MatmulProgramConfig::MultiCore(MatmulMultiCoreProgramConfig {});
    let e = ops::matmul(&x, &w, &pc, &hifi4(true), &MemoryConfig::DRAM_INTERLEAVED, DataType::Bfloat16);
    set_host_matmul_path(HostMatmulPath::Auto).unwrap();
    assert!(e.unwrap_err().to_string().contains("small-M"));
}
