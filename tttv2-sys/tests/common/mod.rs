//! Test helpers: a deterministic RNG, bf16 rounding written independently of the backend
//! (IEEE round-to-nearest-even on the top 16 bits), plain-f64 references, upload helpers.
#![allow(dead_code)]

use tttv2_core::device::DeviceProfile;
use tttv2_core::ttnn::*;
use tttv2_sys::{Device, Tensor};

/// xorshift64*: deterministic, no dependency.
pub struct Rng(pub u64);
impl Rng {
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// Uniform in [-1, 1).
    pub fn f(&mut self) -> f32 {
        ((self.next_u64() >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    }
    pub fn vec(&mut self, n: usize) -> Vec<f32> {
        (0..n).map(|_| self.f()).collect()
    }
}

/// IEEE binary32 -> bfloat16 with round-to-nearest-even (NaN handling not needed here).
pub fn bf16(x: f32) -> f32 {
    let b = x.to_bits();
    let lsb = (b >> 16) & 1;
    f32::from_bits((b.wrapping_add(0x7FFF + lsb)) & 0xFFFF_0000)
}

pub fn bf16v(v: &[f32]) -> Vec<f32> {
    v.iter().map(|&x| bf16(x)).collect()
}

/// Half an ulp of bf16 (8 significant bits) relative: the error of one bf16 rounding.
pub const BF16_HALF_ULP: f64 = 1.0 / 256.0;

pub fn device() -> Device {
    Device::open(&DeviceProfile::N150).unwrap()
}

pub fn up(dev: &Device, data: &[f32], shape: &[u32], dt: DataType) -> Tensor {
    Tensor::from_f32(dev, data, shape, dt, Layout::Tile, &MemoryConfig::DRAM_INTERLEAVED).unwrap()
}

pub fn hifi4(fp32: bool) -> ComputeKernelConfig {
    ComputeKernelConfig {
        math_fidelity: MathFidelity::HiFi4,
        math_approx_mode: false,
        fp32_dest_acc_en: fp32,
        packer_l1_acc: false,
        dst_full_sync_en: false,
    }
}

/// f64 reference matmul of row-major a (m x k) and b (k x n).
pub fn matmul_ref(a: &[f32], b: &[f32], m: usize, k: usize, n: usize) -> (Vec<f64>, Vec<f64>) {
    let mut c = vec![0.0f64; m * n];
    let mut abs = vec![0.0f64; m * n];
    for i in 0..m {
        for p in 0..k {
            let x = a[i * k + p] as f64;
            for j in 0..n {
                c[i * n + j] += x * b[p * n + j] as f64;
                abs[i * n + j] += (x * b[p * n + j] as f64).abs();
            }
        }
    }
    (c, abs)
}

/// Asserts |got - want| <= rel * |want| + abs_tol for every element; returns the max error.
pub fn assert_close(got: &[f32], want: &[f64], rel: f64, abs_tol: f64, what: &str) -> f64 {
    assert_eq!(got.len(), want.len(), "{what}: length");
    let mut max = 0.0f64;
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        let e = (g as f64 - w).abs();
        assert!(
            e <= rel * w.abs() + abs_tol,
            "{what}: element {i}: got {g}, want {w} (err {e}, bound {})",
            rel * w.abs() + abs_tol
        );
        max = max.max(e);
    }
    max
}

pub fn sharded(
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
