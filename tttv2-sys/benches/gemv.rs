//! Decode-shaped linears on the host backend, through the public API (`tttv2_sys::ops::linear`),
//! side by side with a plain f32 GEMV loop on the same shapes (what an f32 CPU runtime such as
//! candle streams per token: 4 bytes per weight).
//!
//! Shapes: Llama-3.2-1B's MLP (2048 x 8192 up/gate, 8192 x 2048 down) at M = 1 and M = 32 (one
//! tile row of users), weights bfloat8_b and bf16. Configs: the decode plan's DRAM-sharded matmul
//! (activation L1 WIDTH_SHARDED, weight DRAM WIDTH_SHARDED over the 12 banks, output L1
//! WIDTH_SHARDED) and a 1D-multicast one on interleaved tensors. Each runs on the small-M path
//! (default for M <= 32) and, for comparison, on the general per-region path.
//!
//! Effective GB/s = the bytes of weight the variant must read per call / time: 2 bytes per element
//! for the host backend's prepared operand (bf16 bits), 4 for the f32 loop. The general path
//! rebuilds f32 copies per call, so its figure uses 2 bytes too, for comparability.
//!
//! Run: `CARGO_TARGET_DIR=/work/target-host cargo bench -p tttv2-sys --bench gemv`
//! (a summary table is printed at the end).

use criterion::{Criterion, Throughput};
use std::hint::black_box;
use std::time::Duration;
use tttv2_core::device::DeviceProfile;
use tttv2_core::op::LinearConfig;
use tttv2_core::ttnn::*;
use tttv2_sys::ops::diag::{HostMatmulPath, set_host_matmul_path};
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

fn sharded(
    layout: TensorMemoryLayout,
    buffer: BufferType,
    grid: (u32, u32),
    num_cores: u32,
    shape: [u32; 2],
) -> MemoryConfig {
    MemoryConfig::sharded(
        layout,
        buffer,
        ShardSpec {
            grid: ShardGrid { bounding_box: CoreRange::from_grid(CoreCoord::new(grid.0, grid.1)), num_cores },
            shape,
            orientation: ShardOrientation::RowMajor,
        },
    )
}

fn ckc(dt: DataType) -> ComputeKernelConfig {
    // tt-transformers' pairing: bf16 weights HiFi4, bfloat8_b HiFi2; fp32 dest off, packer_l1_acc on.
    let f = if dt == DataType::Bfloat16 { MathFidelity::HiFi4 } else { MathFidelity::HiFi2 };
    ComputeKernelConfig {
        math_fidelity: f,
        math_approx_mode: false,
        fp32_dest_acc_en: false,
        packer_l1_acc: true,
        dst_full_sync_en: true,
    }
}

struct Setup {
    x: Tensor,
    w: Tensor,
    cfg: LinearConfig,
}

/// The decode plan's DRAM-sharded linear: K split over `in_cores` (in0 L1 WIDTH_SHARDED), weight
/// DRAM WIDTH_SHARDED over the banks, output L1 WIDTH_SHARDED with per_core_N tiles per core.
fn dram_sharded(dev: &Device, m: u32, k: u32, n: u32, dt: DataType, xv: &[f32], wv: &[f32]) -> Setup {
    let banks = 12;
    let (kt, nt) = (k / 32, n / 32);
    let in_cores = (1..=64).rev().find(|c| kt % c == 0).unwrap();
    let in_w = kt / in_cores;
    let per_core_n = nt.div_ceil(64);
    let out_cores = nt / per_core_n;
    let a_mem = sharded(TensorMemoryLayout::WidthSharded, BufferType::L1, (8, 8), in_cores, [32, in_w * 32]);
    let b_mem =
        sharded(TensorMemoryLayout::WidthSharded, BufferType::Dram, (banks, 1), banks, [k, nt.div_ceil(banks) * 32]);
    let o_mem = sharded(TensorMemoryLayout::WidthSharded, BufferType::L1, (8, 8), out_cores, [32, per_core_n * 32]);
    let x = Tensor::from_f32(dev, xv, &[1, 1, m, k], DataType::Bfloat16, Layout::Tile, &a_mem).unwrap();
    let w = Tensor::from_f32(dev, wv, &[1, 1, k, n], dt, Layout::Tile, &b_mem).unwrap();
    let pc = MatmulProgramConfig::DramSharded(MatmulMultiCoreReuseMultiCastDRAMShardedProgramConfig {
        in0_block_w: in_w,
        per_core_M: 1,
        per_core_N: per_core_n,
        fused_activation: None,
    });
    let cfg = LinearConfig {
        m,
        k,
        n,
        bias: false,
        input_dtype: DataType::Bfloat16,
        input_memory_config: a_mem,
        weight_dtype: dt,
        weight_memory_config: b_mem,
        program_config: pc,
        compute_kernel_config: ckc(dt),
        memory_config: o_mem,
        dtype: DataType::Bfloat16,
    };
    Setup { x, w, cfg }
}

/// A 1D-multicast (mcast_in0) linear on DRAM-interleaved tensors.
fn interleaved(dev: &Device, m: u32, k: u32, n: u32, dt: DataType, xv: &[f32], wv: &[f32]) -> Setup {
    let mem = MemoryConfig::DRAM_INTERLEAVED;
    let x = Tensor::from_f32(dev, xv, &[1, 1, m, k], DataType::Bfloat16, Layout::Tile, &mem).unwrap();
    let w = Tensor::from_f32(dev, wv, &[1, 1, k, n], dt, Layout::Tile, &mem).unwrap();
    let per_core_n = (n / 32).div_ceil(64);
    let pc = MatmulProgramConfig::MultiCast1D(MatmulMultiCoreReuseMultiCast1DProgramConfig {
        compute_with_storage_grid_size: CoreCoord::new(8, 8),
        in0_block_w: 2,
        out_subblock_h: 1,
        out_subblock_w: 1,
        out_block_h: 1,
        out_block_w: per_core_n,
        per_core_M: 1,
        per_core_N: per_core_n,
        fuse_batch: true,
        fused_activation: None,
        mcast_in0: true,
    });
    let cfg = LinearConfig {
        m,
        k,
        n,
        bias: false,
        input_dtype: DataType::Bfloat16,
        input_memory_config: mem,
        weight_dtype: dt,
        weight_memory_config: mem,
        program_config: pc,
        compute_kernel_config: ckc(dt),
        memory_config: mem,
        dtype: DataType::Bfloat16,
    };
    Setup { x, w, cfg }
}

/// The plain f32 reference: y[m] = x[m] · W, W row-major [k, n], streamed row by row.
fn gemv_f32(m: usize, k: usize, n: usize, x: &[f32], w: &[f32], y: &mut [f32]) {
    y.fill(0.0);
    for kk in 0..k {
        let wr = &w[kk * n..(kk + 1) * n];
        for r in 0..m {
            let xv = x[r * k + kk];
            let yr = &mut y[r * n..(r + 1) * n];
            for (yv, &wv) in yr.iter_mut().zip(wr) {
                *yv += xv * wv;
            }
        }
    }
}

/// The same loop on every core, N split in contiguous halves (as a multi-threaded f32 runtime
/// would split a GEMV).
fn gemv_f32_mt(m: usize, k: usize, n: usize, x: &[f32], w: &[f32], y: &mut [f32], threads: usize) {
    let cols = n.div_ceil(threads);
    let mut parts: Vec<Vec<f32>> = vec![Vec::new(); threads];
    std::thread::scope(|s| {
        for (t, part) in parts.iter_mut().enumerate() {
            s.spawn(move || {
                let (c0, c1) = (t * cols, ((t + 1) * cols).min(n));
                *part = vec![0.0; m * (c1 - c0)];
                let nw = c1 - c0;
                for kk in 0..k {
                    let wr = &w[kk * n + c0..kk * n + c1];
                    for r in 0..m {
                        let xv = x[r * k + kk];
                        for (yv, &wv) in part[r * nw..(r + 1) * nw].iter_mut().zip(wr) {
                            *yv += xv * wv;
                        }
                    }
                }
            });
        }
    });
    for (t, part) in parts.iter().enumerate() {
        let (c0, c1) = (t * cols, ((t + 1) * cols).min(n));
        for r in 0..m {
            y[r * n + c0..r * n + c1].copy_from_slice(&part[r * (c1 - c0)..(r + 1) * (c1 - c0)]);
        }
    }
}

fn bench(c: &mut Criterion, rows: &mut Vec<(String, String, u64)>) {
    let dev = Device::open(&DeviceProfile::N150).unwrap();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    for (k, n, dt) in
        [(2048u32, 8192u32, DataType::Bfloat8B), (2048, 8192, DataType::Bfloat16), (8192, 2048, DataType::Bfloat8B)]
    {
        let wv = rng_vec((k * n) as usize, 0xABCD + k as u64);
        for m in [1u32, 32] {
            let xv = rng_vec((m * k) as usize, 0x1234 + m as u64);
            let group = format!("linear_m{m}_{k}x{n}_{dt:?}");
            let mut g = c.benchmark_group(&group);
            g.sample_size(10).warm_up_time(Duration::from_millis(500)).measurement_time(Duration::from_secs(3));
            let bf16_bytes = 2 * k as u64 * n as u64;
            g.throughput(Throughput::Bytes(bf16_bytes));
            for (name, s) in [
                ("dram_sharded", dram_sharded(&dev, m, k, n, dt, &xv, &wv)),
                ("interleaved", interleaved(&dev, m, k, n, dt, &xv, &wv)),
            ] {
                for (path, pname) in [(HostMatmulPath::SmallM, "small_m"), (HostMatmulPath::General, "general")] {
                    // The general path rebuilds everything per call; time it on the DRAM-sharded
                    // config only (the interleaved one costs the same).
                    if path == HostMatmulPath::General && name == "interleaved" {
                        continue;
                    }
                    set_host_matmul_path(path).unwrap();
                    let id = format!("{pname}_{name}");
                    g.bench_function(&id, |b| b.iter(|| ops::linear(black_box(&s.x), &s.w, None, &s.cfg).unwrap()));
                    rows.push((group.clone(), id, bf16_bytes));
                }
                set_host_matmul_path(HostMatmulPath::Auto).unwrap();
            }
            let mut y = vec![0f32; (m * n) as usize];
            g.throughput(Throughput::Bytes(2 * bf16_bytes));
            g.bench_function("f32_loop_1t", |b| {
                b.iter(|| gemv_f32(m as usize, k as usize, n as usize, black_box(&xv), &wv, &mut y))
            });
            rows.push((group.clone(), "f32_loop_1t".into(), 2 * bf16_bytes));
            g.bench_function("f32_loop_mt", |b| {
                b.iter(|| gemv_f32_mt(m as usize, k as usize, n as usize, black_box(&xv), &wv, &mut y, threads))
            });
            rows.push((group.clone(), "f32_loop_mt".into(), 2 * bf16_bytes));
            g.finish();
        }
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

fn main() {
    let mut c = Criterion::default().configure_from_args();
    let mut rows = Vec::new();
    bench(&mut c, &mut rows);
    c.final_summary();
    println!("\n{:<34} {:<24} {:>10} {:>10}", "shape", "variant", "median ms", "GB/s");
    for (group, id, bytes) in rows {
        if let Some(ns) = median_ns(&group, &id) {
            println!("{:<34} {:<24} {:>10.3} {:>10.2}", group, id, ns / 1e6, bytes as f64 / ns);
        }
    }
}
