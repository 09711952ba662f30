//! Host sgemm vs OpenBLAS `cblas_sgemm`, side by side on the two shapes of the GEMM bar
//! (decode-like [32x4096]·[4096x14336] and prefill-like [1024x4096]·[4096x4096]), both on all
//! cores, row-major, same FLOPs (2·M·N·K). Needs Debian's `libopenblas-dev`.
//!
//! Run: `CARGO_TARGET_DIR=/work/target-sys cargo bench -p tttv2-sys --bench gemm`

use criterion::{Criterion, Throughput};
use std::hint::black_box;
use tttv2_sys::ops::diag::host_sgemm;

#[link(name = "openblas")]
unsafe extern "C" {
    fn cblas_sgemm(
        order: i32,
        transa: i32,
        transb: i32,
        m: i32,
        n: i32,
        k: i32,
        alpha: f32,
        a: *const f32,
        lda: i32,
        b: *const f32,
        ldb: i32,
        beta: f32,
        c: *mut f32,
        ldc: i32,
    );
}

const ROW_MAJOR: i32 = 101;
const NO_TRANS: i32 = 111;

fn openblas(m: u32, n: u32, k: u32, a: &[f32], b: &[f32], c: &mut [f32]) {
    // SAFETY: slices hold m*k, k*n and m*n values, row-major with the given leading dims.
    unsafe {
        cblas_sgemm(
            ROW_MAJOR,
            NO_TRANS,
            NO_TRANS,
            m as i32,
            n as i32,
            k as i32,
            1.0,
            a.as_ptr(),
            k as i32,
            b.as_ptr(),
            n as i32,
            0.0,
            c.as_mut_ptr(),
            n as i32,
        )
    }
}

fn bench(c: &mut Criterion) {
    for (m, k, n) in [(32u32, 4096u32, 14336u32), (1024, 4096, 4096)] {
        let a: Vec<f32> = (0..m * k).map(|i| ((i * 7919) % 1000) as f32 * 1e-3 - 0.5).collect();
        let b: Vec<f32> = (0..k * n).map(|i| ((i * 104729) % 1000) as f32 * 1e-3 - 0.5).collect();
        let mut out = vec![0f32; (m * n) as usize];
        // Same answer from both (sanity).
        let mut ref_out = vec![0f32; (m * n) as usize];
        host_sgemm(m, n, k, &a, &b, &mut out, 0).unwrap();
        openblas(m, n, k, &a, &b, &mut ref_out);
        let worst = out.iter().zip(&ref_out).map(|(x, y)| (x - y).abs()).fold(0f32, f32::max);
        assert!(worst < 1e-2, "host sgemm and OpenBLAS disagree by {worst}");

        let mut g = c.benchmark_group(format!("sgemm_{m}x{k}x{n}"));
        g.throughput(Throughput::Elements(2 * m as u64 * n as u64 * k as u64)); // FLOPs
        g.sample_size(10);
        g.bench_function("tttv2_host", |bch| {
            bch.iter(|| host_sgemm(m, n, k, black_box(&a), black_box(&b), &mut out, 0).unwrap())
        });
        g.bench_function("openblas", |bch| bch.iter(|| openblas(m, n, k, black_box(&a), black_box(&b), &mut ref_out)));
        g.finish();
    }
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    bench(&mut c);
    c.final_summary();
}
