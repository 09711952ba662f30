//! Prefill-shaped linears on the host backend (`tttv2_sys::ops::linear`, M > 32: the large-M path)
//! side by side, in the same run, with the host's plain f32 GEMM kernel (`diag::host_sgemm`, the
//! kernel of benches/gemm.rs) on the same M x K x N: the ratio linear / sgemm is the cost of the
//! TT numerics (fidelity masks, 16-deep bf16 dest rounding, K-block partials, block-float
//! weights) over a plain f32 GEMM.
//!
//! Shapes: Llama-3.2-1B prefill of 128 tokens (QKV 128x2048x3072, wo 128x2048x2048, w1/w3
//! 128x2048x8192, w2 128x8192x2048) and the LM head on the last token tile (32x2048x128256, which
//! is M <= 32: the small-M path). Weights bfloat8_b + HiFi2, bfloat4_b + LoFi and bf16 + HiFi4
//! (tt-transformers' pairings), activations bf16, fp32 dest off, packer_l1_acc on; configs: the
//! 2D multicast one a prefill plan uses on an 8x8 grid (M over rows, N over columns) and, for
//! QKV, 1D mcast_in0 and a DRAM WIDTH_SHARDED weight (the decode plans' copy of the weight).
//! `general` rows time the per-region path the large-M calls took before (`HostMatmulPath::General`),
//! on QKV only (it takes seconds per call).
//!
//! Run: `CARGO_TARGET_DIR=/work/target-host cargo bench -p tttv2-sys --bench prefill_matmul`
//! (a summary table with the ratios is printed at the end).

use criterion::{Criterion, Throughput};
use std::hint::black_box;
use std::time::Duration;
use tttv2_core::device::DeviceProfile;
use tttv2_core::op::LinearConfig;
use tttv2_core::ttnn::*;
use tttv2_sys::ops::diag::{HostMatmulPath, host_sgemm, set_host_matmul_path};
use tttv2_sys::{Device, Tensor, ops};

fn rng_vec(n: usize, seed: u64) -> Vec<f32> {
    let mut s = seed;
    (0..n)
        .map(|_| {
            s ^= s >> 12;
            s ^= s << 25;
            s ^= s >> 27;
            ((s.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        })
        .collect()
}

fn ckc(f: MathFidelity) -> ComputeKernelConfig {
    ComputeKernelConfig {
        math_fidelity: f,
        math_approx_mode: false,
        fp32_dest_acc_en: false,
        packer_l1_acc: true,
        dst_full_sync_en: false,
    }
}

/// The 2D multicast config on an 8x8 grid: M tiles over grid rows, N tiles over grid columns,
/// in0_block_w 2 (tt-transformers' prefill configs use small K blocks).
fn mc2d(m: u32, k: u32, n: u32) -> MatmulProgramConfig {
    let (mt, nt) = (m / 32, n.div_ceil(32));
    let pm = mt.div_ceil(8);
    let pn = nt.div_ceil(8);
    let sw = (1..=4).rev().find(|w| pn % w == 0).unwrap();
    let _ = k;
    MatmulProgramConfig::MultiCast2D(MatmulMultiCoreReuseMultiCastProgramConfig {
        compute_with_storage_grid_size: CoreCoord::new(8, 8),
        in0_block_w: 2,
        out_subblock_h: 1,
        out_subblock_w: sw,
        out_block_h: pm,
        out_block_w: pn,
        per_core_M: pm,
        per_core_N: pn,
        transpose_mcast: false,
        fused_activation: None,
        fuse_batch: true,
    })
}

/// 1D mcast_in0: all of M on every core, N over the 64 cores.
fn mc1d(m: u32, n: u32) -> MatmulProgramConfig {
    let (mt, nt) = (m / 32, n.div_ceil(32));
    let pn = nt.div_ceil(64);
    MatmulProgramConfig::MultiCast1D(MatmulMultiCoreReuseMultiCast1DProgramConfig {
        compute_with_storage_grid_size: CoreCoord::new(8, 8),
        in0_block_w: 2,
        out_subblock_h: 1,
        out_subblock_w: 1,
        out_block_h: mt,
        out_block_w: pn,
        per_core_M: mt,
        per_core_N: pn,
        fuse_batch: true,
        fused_activation: None,
        mcast_in0: true,
    })
}

fn dram_width_sharded(k: u32, n: u32) -> MemoryConfig {
    let banks = 12;
    MemoryConfig::sharded(
        TensorMemoryLayout::WidthSharded,
        BufferType::Dram,
        ShardSpec {
            grid: ShardGrid { bounding_box: CoreRange::from_grid(CoreCoord::new(banks, 1)), num_cores: banks },
            shape: [k, n.div_ceil(32).div_ceil(banks) * 32],
            orientation: ShardOrientation::RowMajor,
        },
    )
}

struct Variant {
    id: String,
    w: Tensor,
    cfg: LinearConfig,
    path: HostMatmulPath,
}

fn linear_cfg(
    m: u32,
    k: u32,
    n: u32,
    wdt: DataType,
    wmem: MemoryConfig,
    pc: MatmulProgramConfig,
    f: MathFidelity,
) -> LinearConfig {
    LinearConfig {
        m,
        k,
        n,
        bias: false,
        input_dtype: DataType::Bfloat16,
        input_memory_config: MemoryConfig::DRAM_INTERLEAVED,
        weight_dtype: wdt,
        weight_memory_config: wmem,
        program_config: pc,
        compute_kernel_config: ckc(f),
        memory_config: MemoryConfig::DRAM_INTERLEAVED,
        dtype: DataType::Bfloat16,
    }
}

fn up_w(dev: &Device, wv: &[f32], k: u32, n: u32, wdt: DataType) -> Tensor {
    Tensor::from_f32(dev, wv, &[1, 1, k, n], wdt, Layout::Tile, &MemoryConfig::DRAM_INTERLEAVED).unwrap()
}

fn dt_name(d: DataType) -> &'static str {
    match d {
        DataType::Bfloat8B => "bfp8",
        DataType::Bfloat4B => "bfp4",
        DataType::Bfloat16 => "bf16",
        _ => "other",
    }
}

fn bench(c: &mut Criterion, rows: &mut Vec<(String, String)>) {
    let dev = Device::open(&DeviceProfile::N150).unwrap();
    let shapes = [
        (128u32, 2048u32, 3072u32, "qkv"),
        (128, 2048, 2048, "wo"),
        (128, 2048, 8192, "w1"),
        (128, 8192, 2048, "w2"),
        (32, 2048, 128256, "lm_head"),
    ];
    for (m, k, n, name) in shapes {
        let wv = rng_vec((k * n) as usize, 0xABCD + k as u64 + n as u64);
        let xv = rng_vec((m * k) as usize, 0x1234 + m as u64);
        let x = Tensor::from_f32(
            &dev,
            &xv,
            &[1, 1, m, k],
            DataType::Bfloat16,
            Layout::Tile,
            &MemoryConfig::DRAM_INTERLEAVED,
        )
        .unwrap();
        let pairs: &[(DataType, MathFidelity)] = if name == "lm_head" {
            &[(DataType::Bfloat8B, MathFidelity::HiFi2)]
        } else {
            &[
                (DataType::Bfloat8B, MathFidelity::HiFi2),
                (DataType::Bfloat4B, MathFidelity::LoFi),
                (DataType::Bfloat16, MathFidelity::HiFi4),
            ]
        };
        let mut variants = Vec::new();
        for &(wdt, f) in pairs {
            let w = up_w(&dev, &wv, k, n, wdt);
            let pc = if m > 32 { mc2d(m, k, n) } else { mc1d(m, n) };
            let cfg = linear_cfg(m, k, n, wdt, MemoryConfig::DRAM_INTERLEAVED, pc, f);
            if name == "qkv" && wdt == DataType::Bfloat8B {
                variants.push(Variant {
                    id: format!("general_{}_{f:?}_2d", dt_name(wdt)),
                    w: up_w(&dev, &wv, k, n, wdt),
                    cfg,
                    path: HostMatmulPath::General,
                });
                let ws =
                    Tensor::from_f32(&dev, &wv, &[1, 1, k, n], wdt, Layout::Tile, &dram_width_sharded(k, n)).unwrap();
                let cfg_s = linear_cfg(m, k, n, wdt, dram_width_sharded(k, n), pc, f);
                variants.push(Variant {
                    id: format!("linear_{}_{f:?}_2d_dram_sharded_w", dt_name(wdt)),
                    w: ws,
                    cfg: cfg_s,
                    path: HostMatmulPath::Auto,
                });
                let cfg1 = linear_cfg(m, k, n, wdt, MemoryConfig::DRAM_INTERLEAVED, mc1d(m, n), f);
                variants.push(Variant {
                    id: format!("linear_{}_{f:?}_1d", dt_name(wdt)),
                    w: up_w(&dev, &wv, k, n, wdt),
                    cfg: cfg1,
                    path: HostMatmulPath::Auto,
                });
            }
            variants.push(Variant {
                id: format!("linear_{}_{f:?}_{}", dt_name(wdt), if m > 32 { "2d" } else { "1d" }),
                w,
                cfg,
                path: HostMatmulPath::Auto,
            });
        }
        let group = format!("prefill_{name}_{m}x{k}x{n}");
        let mut g = c.benchmark_group(&group);
        g.sample_size(10).warm_up_time(Duration::from_millis(500)).measurement_time(Duration::from_secs(3));
        g.throughput(Throughput::Elements(2 * m as u64 * k as u64 * n as u64)); // FLOPs
        let mut out = vec![0f32; (m * n) as usize];
        g.bench_function("sgemm_f32", |b| b.iter(|| host_sgemm(m, n, k, black_box(&xv), &wv, &mut out, 0).unwrap()));
        rows.push((group.clone(), "sgemm_f32".into()));
        for v in &variants {
            set_host_matmul_path(v.path).unwrap();
            g.bench_function(&v.id, |b| b.iter(|| ops::linear(black_box(&x), &v.w, None, &v.cfg).unwrap()));
            set_host_matmul_path(HostMatmulPath::Auto).unwrap();
            rows.push((group.clone(), v.id.clone()));
        }
        g.finish();
    }
}

/// The median (ns) criterion stored for a benchmark, from target/criterion/<group>/<id>/new/estimates.json.
fn median_ns(group: &str, id: &str) -> Option<f64> {
    let dir = std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "target".into());
    let path = format!("{dir}/criterion/{group}/{id}/new/estimates.json");
    let text = std::fs::read_to_string(path).ok()?;
    let at = text.find("\"median\"")?;
    let rest = &text[at..];
    let p = rest.find("\"point_estimate\":")? + "\"point_estimate\":".len();
    let num: String = rest[p..]
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.' || *c == 'e' || *c == '-' || *c == '+')
        .collect();
    num.parse().ok()
}

/// `PREFILL_QUICK=<n>`: instead of criterion, n rounds alternating sgemm and each linear, printing
/// the minimum per variant and its ratio to sgemm's minimum (robust on a shared, loaded machine).
fn quick(rounds: usize) {
    let dev = Device::open(&DeviceProfile::N150).unwrap();
    let filter = std::env::args().skip(1).find(|a| !a.starts_with('-')).unwrap_or_default();
    for (m, k, n, name) in [
        (128u32, 2048u32, 3072u32, "qkv"),
        (128, 2048, 2048, "wo"),
        (128, 2048, 8192, "w1"),
        (128, 8192, 2048, "w2"),
        (32, 2048, 128256, "lm_head"),
    ] {
        if !name.contains(filter.as_str()) {
            continue;
        }
        let wv = rng_vec((k * n) as usize, 0xABCD + k as u64 + n as u64);
        let xv = rng_vec((m * k) as usize, 0x1234 + m as u64);
        let x = Tensor::from_f32(
            &dev,
            &xv,
            &[1, 1, m, k],
            DataType::Bfloat16,
            Layout::Tile,
            &MemoryConfig::DRAM_INTERLEAVED,
        )
        .unwrap();
        let pc = if m > 32 { mc2d(m, k, n) } else { mc1d(m, n) };
        let vars: Vec<(String, Tensor, LinearConfig)> = [
            (DataType::Bfloat8B, MathFidelity::HiFi2),
            (DataType::Bfloat4B, MathFidelity::LoFi),
            (DataType::Bfloat16, MathFidelity::HiFi4),
        ]
        .into_iter()
        .map(|(wdt, f)| {
            (
                format!("linear_{}_{f:?}", dt_name(wdt)),
                up_w(&dev, &wv, k, n, wdt),
                linear_cfg(m, k, n, wdt, MemoryConfig::DRAM_INTERLEAVED, pc, f),
            )
        })
        .collect();
        let mut out = vec![0f32; (m * n) as usize];
        let mut best_s = f64::MAX;
        let mut best = vec![f64::MAX; vars.len()];
        for _ in 0..rounds {
            let t = std::time::Instant::now();
            host_sgemm(m, n, k, &xv, &wv, &mut out, 0).unwrap();
            best_s = best_s.min(t.elapsed().as_secs_f64());
            for (i, (_, w, cfg)) in vars.iter().enumerate() {
                let t = std::time::Instant::now();
                let _o = ops::linear(&x, w, None, cfg).unwrap();
                best[i] = best[i].min(t.elapsed().as_secs_f64());
            }
        }
        println!("{name} {m}x{k}x{n}: sgemm_f32 min {:.3} ms", best_s * 1e3);
        for (i, (id, _, _)) in vars.iter().enumerate() {
            println!("{name} {m}x{k}x{n}: {id} min {:.3} ms ({:.2}x sgemm)", best[i] * 1e3, best[i] / best_s);
        }
    }
}

fn main() {
    if let Some(r) = std::env::var("PREFILL_QUICK").ok().and_then(|s| s.parse().ok()) {
        quick(r);
        return;
    }
    let mut c = Criterion::default().configure_from_args();
    let mut rows = Vec::new();
    bench(&mut c, &mut rows);
    c.final_summary();
    println!("\n{:<34} {:<36} {:>10} {:>9} {:>12}", "shape", "variant", "median ms", "GFLOP/s", "vs sgemm_f32");
    for (group, id) in &rows {
        let Some(ns) = median_ns(group, id) else { continue };
        let dims: Vec<f64> = group.rsplit('_').next().unwrap().split('x').map(|s| s.parse().unwrap()).collect();
        let flops = 2.0 * dims[0] * dims[1] * dims[2];
        let ratio = median_ns(group, "sgemm_f32").map_or(String::from("-"), |s| format!("{:.2}x", ns / s));
        println!("{:<34} {:<36} {:>10.3} {:>9.1} {:>12}", group, id, ns / 1e6, flops / ns, ratio);
    }
}
