//! TT-NN's memory-layout rules for the weight (in1, operand B) of the non-DRAM-sharded matmul
//! program configs, with TT-NN's texts (ttnn/cpp/ttnn/operations/matmul/device/
//! matmul_device_operation.cpp @ 13adda80: 2D ~L1520-1615, 1D ~L1258 and ~L1333, Reuse
//! ~L1640-1745; matmul-rules.md §2-§4), the combinations they accept, and the numerics of a
//! DRAM WIDTH_SHARDED weight (the decode plans' copy, read by prefill matmuls too): exactly the
//! result of the same weight DRAM-interleaved, gathered once per tensor.
mod common;
use common::*;
use tttv2_core::op::LinearConfig;
use tttv2_core::ttnn::*;
use tttv2_sys::ops::diag::{HostMatmulPath, host_sharded_gathers, set_host_matmul_path};
use tttv2_sys::{Device, Tensor, ops};

const L1: BufferType = BufferType::L1;
const DRAM: BufferType = BufferType::Dram;
const WIDTH: TensorMemoryLayout = TensorMemoryLayout::WidthSharded;
const HEIGHT: TensorMemoryLayout = TensorMemoryLayout::HeightSharded;
const BLOCK: TensorMemoryLayout = TensorMemoryLayout::BlockSharded;

// The small problem of the rule tests: A [64, 64], B [64, 128] (Mt 2, Kt 2, Nt 4).
const M: u32 = 64;
const K: u32 = 64;
const N: u32 = 128;

fn mc2d(pm: u32, pn: u32, transpose_mcast: bool, fuse_batch: bool) -> MatmulProgramConfig {
    MatmulProgramConfig::MultiCast2D(MatmulMultiCoreReuseMultiCastProgramConfig {
        compute_with_storage_grid_size: CoreCoord::new(8, 8),
        in0_block_w: 1,
        out_subblock_h: 1,
        out_subblock_w: 1,
        out_block_h: pm,
        out_block_w: pn,
        per_core_M: pm,
        per_core_N: pn,
        transpose_mcast,
        fused_activation: None,
        fuse_batch,
    })
}

fn mc1d(bw: u32, pm: u32, pn: u32, mcast_in0: bool) -> MatmulProgramConfig {
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
        mcast_in0,
    })
}

fn reuse(bw: u32, pm: u32) -> MatmulProgramConfig {
    MatmulProgramConfig::Reuse(MatmulMultiCoreReuseProgramConfig {
        compute_with_storage_grid_size: CoreCoord::new(8, 8),
        in0_block_w: bw,
        out_subblock_h: 1,
        out_subblock_w: 1,
        per_core_M: pm,
        per_core_N: N / 32,
    })
}

struct Fixture {
    dev: Device,
    av: Vec<f32>,
    bv: Vec<f32>,
}

impl Fixture {
    fn new() -> Self {
        let mut r = Rng(0x1A70);
        Fixture { dev: device(), av: r.vec((M * K) as usize), bv: r.vec((K * N) as usize) }
    }
    fn a(&self, mem: &MemoryConfig) -> Tensor {
        Tensor::from_f32(&self.dev, &self.av, &[M, K], DataType::Bfloat16, Layout::Tile, mem).unwrap()
    }
    fn b(&self, mem: &MemoryConfig) -> Tensor {
        Tensor::from_f32(&self.dev, &self.bv, &[K, N], DataType::Bfloat8B, Layout::Tile, mem).unwrap()
    }
    fn run(&self, a: &Tensor, b: &Tensor, pc: &MatmulProgramConfig) -> Result<Vec<f32>, String> {
        ops::matmul(a, b, pc, &hifi4(false), &MemoryConfig::DRAM_INTERLEAVED, DataType::Bfloat16)
            .map(|t| t.to_f32().unwrap())
            .map_err(|e| e.to_string())
    }
    /// The matmul fails with `text` in its message.
    fn rejects(&self, a_mem: &MemoryConfig, b_mem: &MemoryConfig, pc: MatmulProgramConfig, text: &str) {
        let e = self.run(&self.a(a_mem), &self.b(b_mem), &pc).expect_err(text);
        assert!(e.contains(text), "expected {text:?}, got {e:?}");
    }
    /// The matmul is accepted and gives exactly the result of the same weight interleaved.
    fn accepts(&self, a_mem: &MemoryConfig, b_mem: &MemoryConfig, pc: MatmulProgramConfig, what: &str) {
        let a = self.a(a_mem);
        let got = self.run(&a, &self.b(b_mem), &pc).unwrap_or_else(|e| panic!("{what}: {e}"));
        let want = self.run(&a, &self.b(&MemoryConfig::DRAM_INTERLEAVED), &pc).unwrap();
        assert!(
            got.iter().zip(&want).all(|(x, y)| x.to_bits() == y.to_bits()),
            "{what}: differs from the interleaved weight"
        );
    }
}

fn il() -> MemoryConfig {
    MemoryConfig::DRAM_INTERLEAVED
}

#[test]
fn mcast_2d_in1_rules() {
    let f = Fixture::new();
    let dram_w = sharded(WIDTH, DRAM, (12, 1), 12, [K, 32]);
    // Sharded B: no transpose_mcast.
    f.rejects(&il(), &dram_w, mc2d(1, 1, true, true), "Transpose MCAST not supported when input B is sharded");
    f.accepts(&il(), &dram_w, mc2d(1, 1, false, true), "2D, DRAM WIDTH_SHARDED B");
    // Layout: WIDTH or HEIGHT (DRAM).
    f.rejects(
        &il(),
        &sharded(BLOCK, L1, (4, 2), 8, [32, 32]),
        mc2d(1, 1, false, true),
        "Input B memory layout must be WIDTH_SHARDED, HEIGHT_SHARDED, or DRAM ND_SHARDED, got: BLOCK_SHARDED",
    );
    f.rejects(
        &il(),
        &sharded(HEIGHT, L1, (2, 1), 2, [32, N]),
        mc2d(1, 1, false, false),
        "HEIGHT_SHARDED input B is only supported in DRAM, got: L1",
    );
    // HEIGHT_SHARDED B (DRAM): fuse_batch=false, whole [K, N] matrices per bank.
    let dram_h = sharded(HEIGHT, DRAM, (1, 1), 1, [K, N]);
    f.rejects(
        &il(),
        &dram_h,
        mc2d(1, 1, false, true),
        "HEIGHT_SHARDED input B requires fuse_batch=false for batched matmul",
    );
    f.rejects(
        &il(),
        &sharded(HEIGHT, DRAM, (2, 1), 2, [32, N]),
        mc2d(1, 1, false, false),
        "HEIGHT_SHARDED input B shard height (1 tiles) must be >= K (2 tiles)",
    );
    f.rejects(&il(), &sharded(HEIGHT, DRAM, (1, 1), 1, [96, N]), mc2d(1, 1, false, false),
        "HEIGHT_SHARDED input B shard height (3 tiles) must be divisible by K (2 tiles) so each bank holds complete [K, N] matrices");
    f.accepts(&il(), &dram_h, mc2d(1, 1, false, false), "2D, DRAM HEIGHT_SHARDED B");
    // L1 WIDTH_SHARDED B: per_core_N == shard width, A interleaved or height sharded, one grid row.
    let l1_w = sharded(WIDTH, L1, (4, 1), 4, [K, 32]);
    f.rejects(
        &il(),
        &l1_w,
        mc2d(1, 2, false, true),
        "per_core_N (2) must equal input tensor B shard shape[1] / in1_tile.get_width() (1)",
    );
    f.accepts(&il(), &l1_w, mc2d(1, 1, false, true), "2D, L1 WIDTH_SHARDED B");
    f.rejects(&sharded(BLOCK, L1, (2, 2), 4, [32, 32]), &l1_w, mc2d(1, 1, false, true),
        "Error - non-DRAM width sharded input B requires input A to be interleaved or height sharded, rather than BLOCK_SHARDED");
    f.rejects(&il(), &sharded(WIDTH, L1, (2, 2), 4, [K, 32]), mc2d(1, 1, false, true),
        "Width-sharded input tensor B grid bounding box must have equal start and end y coordinates, got start: 0 vs end: 1");
    // Three cores of a 2x2 box still span two rows; two of them one.
    f.rejects(&il(), &sharded(WIDTH, L1, (2, 2), 3, [K, 64]), mc2d(1, 2, false, true), "got start: 0 vs end: 1");
    f.accepts(
        &il(),
        &sharded(WIDTH, L1, (2, 2), 2, [K, 64]),
        mc2d(1, 2, false, true),
        "2D, L1 WIDTH_SHARDED B on one row of a 2x2 box",
    );
}

#[test]
fn mcast_1d_in1_rules() {
    let f = Fixture::new();
    // mcast_in0: B interleaved, L1 WIDTH_SHARDED with per_core_N == shard width, or DRAM sharded.
    f.rejects(
        &il(),
        &sharded(HEIGHT, L1, (2, 1), 2, [32, N]),
        mc1d(1, 2, 1, true),
        "Operand B can only be interleaved or L1 width sharded.",
    );
    f.rejects(
        &il(),
        &sharded(BLOCK, L1, (4, 2), 8, [32, 32]),
        mc1d(1, 2, 1, true),
        "Operand B can only be interleaved or L1 width sharded.",
    );
    let l1_w = sharded(WIDTH, L1, (4, 1), 4, [K, 32]);
    f.rejects(&il(), &l1_w, mc1d(1, 2, 2, true), "Shard width must match per core N.");
    f.accepts(&il(), &l1_w, mc1d(1, 2, 1, true), "1D mcast_in0, L1 WIDTH_SHARDED B");
    f.accepts(
        &il(),
        &sharded(WIDTH, DRAM, (12, 1), 12, [K, 32]),
        mc1d(1, 2, 2, true),
        "1D mcast_in0, DRAM WIDTH_SHARDED B",
    );
    f.accepts(&il(), &il(), mc1d(1, 2, 1, true), "1D mcast_in0, interleaved B");
    // mcast_in1 (mcast_in0 = false): B interleaved only.
    for b_mem in [sharded(WIDTH, DRAM, (12, 1), 12, [K, 32]), l1_w, sharded(HEIGHT, DRAM, (1, 1), 1, [K, N])] {
        f.rejects(&il(), &b_mem, mc1d(1, 1, N / 32, false), "Error: Operand B must be interleaved.");
    }
    f.accepts(&il(), &MemoryConfig::L1_INTERLEAVED, mc1d(1, 1, N / 32, false), "1D mcast_in1, L1 interleaved B");
}

#[test]
fn reuse_in1_rules() {
    let f = Fixture::new();
    f.rejects(
        &il(),
        &sharded(WIDTH, L1, (4, 1), 4, [K, 32]),
        reuse(1, 2),
        "Input B memory layout must not be WIDTH_SHARDED, got: WIDTH_SHARDED",
    );
    f.rejects(
        &il(),
        &sharded(HEIGHT, L1, (1, 1), 1, [K, N]),
        reuse(1, 1),
        "per_core_M must be a multiple of M if input b is sharded!",
    );
    f.rejects(
        &il(),
        &sharded(BLOCK, L1, (2, 1), 2, [K, 64]),
        reuse(1, 2),
        "Input B shard shape[1] (64) must equal padded shape[-1] (128)",
    );
    f.rejects(
        &il(),
        &sharded(HEIGHT, L1, (2, 1), 2, [32, N]),
        reuse(1, 2),
        "Input B shard shape[0] (32) must be divisible by K (64)",
    );
    f.accepts(&il(), &sharded(HEIGHT, L1, (1, 1), 1, [K, N]), reuse(1, 2), "Reuse, L1 HEIGHT_SHARDED B");
    f.accepts(&il(), &sharded(HEIGHT, DRAM, (1, 1), 1, [K, N]), reuse(1, 2), "Reuse, DRAM HEIGHT_SHARDED B");
    // Both sharded: the same layout (and buffer, grid, orientation).
    let a_h = sharded(HEIGHT, L1, (1, 1), 1, [M, K]);
    f.rejects(
        &a_h,
        &sharded(BLOCK, L1, (1, 1), 1, [K, N]),
        reuse(K / 32, 2),
        "Input tensors A and B must have matching memory layouts, got A: HEIGHT_SHARDED vs B: BLOCK_SHARDED",
    );
    f.rejects(
        &a_h,
        &sharded(HEIGHT, DRAM, (1, 1), 1, [K, N]),
        reuse(K / 32, 2),
        "Input tensors A and B must have matching buffer types, got A: L1 vs B: DRAM",
    );
    f.accepts(&a_h, &sharded(HEIGHT, L1, (1, 1), 1, [K, N]), reuse(K / 32, 2), "Reuse, A and B L1 HEIGHT_SHARDED");
}

/// The decode plans' weight placement (tttv2-core plan/linear.rs `dram_sharded_with`): WIDTH_SHARDED
/// over the 12 DRAM banks, shard [K, ceil(Nt / 12) * 32], single-row grid of 12 cores; the last
/// shards are partly or wholly padding when Nt is not a multiple of 12.
fn dram_sharded_weight(k: u32, n: u32) -> MemoryConfig {
    sharded(WIDTH, DRAM, (12, 1), 12, [k, n.div_ceil(32).div_ceil(12) * 32])
}

fn prefill_cfg(
    m: u32,
    k: u32,
    n: u32,
    wdt: DataType,
    w_mem: MemoryConfig,
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
        weight_memory_config: w_mem,
        program_config: pc,
        compute_kernel_config: ComputeKernelConfig {
            math_fidelity: f,
            math_approx_mode: false,
            fp32_dest_acc_en: false,
            packer_l1_acc: true,
            dst_full_sync_en: false,
        },
        memory_config: MemoryConfig::DRAM_INTERLEAVED,
        dtype: DataType::Bfloat16,
    }
}

fn prefill_2d(m: u32, n: u32) -> MatmulProgramConfig {
    let (pm, pn) = ((m / 32).div_ceil(8), n.div_ceil(32).div_ceil(8));
    MatmulProgramConfig::MultiCast2D(MatmulMultiCoreReuseMultiCastProgramConfig {
        compute_with_storage_grid_size: CoreCoord::new(8, 8),
        in0_block_w: 2,
        out_subblock_h: 1,
        out_subblock_w: 1,
        out_block_h: pm,
        out_block_w: pn,
        per_core_M: pm,
        per_core_N: pn,
        transpose_mcast: false,
        fused_activation: None,
        fuse_batch: true,
    })
}

#[test]
fn dram_width_sharded_weight_gives_the_interleaved_result_in_prefill_matmuls() {
    let dev = device();
    let (m, k) = (128u32, 256u32);
    let mut r = Rng(0xD7A);
    let x = up(&dev, &r.vec((m * k) as usize), &[1, 1, m, k], DataType::Bfloat16);
    // N: ragged (not a multiple of 32), Nt not a multiple of 12 (the last bank holds padding only
    // or part of a shard), and a multiple of 12 tiles.
    for n in [1000u32, 2048, 3072, 5120] {
        let wv = r.vec((k * n) as usize);
        let nt = n.div_ceil(32);
        for (wdt, f) in [
            (DataType::Bfloat8B, MathFidelity::HiFi2),
            (DataType::Bfloat4B, MathFidelity::LoFi),
            (DataType::Bfloat16, MathFidelity::HiFi4),
        ] {
            let w_il = up(&dev, &wv, &[1, 1, k, n], wdt);
            let w_sh =
                Tensor::from_f32(&dev, &wv, &[1, 1, k, n], wdt, Layout::Tile, &dram_sharded_weight(k, n)).unwrap();
            // The shards really hold the weight: 12 of them, each ceil(Nt / 12) tiles wide.
            assert_eq!(w_sh.shards().len(), 12, "n {n}");
            for (name, pc) in [("2d", prefill_2d(m, n)), ("1d", mc1d(2, m / 32, nt.div_ceil(64), true))] {
                let what = format!("n {n} {wdt:?} {f:?} {name}");
                let want =
                    ops::linear(&x, &w_il, None, &prefill_cfg(m, k, n, wdt, MemoryConfig::DRAM_INTERLEAVED, pc, f))
                        .unwrap()
                        .to_f32()
                        .unwrap();
                let cfg = prefill_cfg(m, k, n, wdt, dram_sharded_weight(k, n), pc, f);
                let got = ops::linear(&x, &w_sh, None, &cfg).unwrap().to_f32().unwrap();
                assert_eq!(got.len(), (m * n) as usize, "{what}");
                assert!(
                    got.iter().zip(&want).all(|(a, b)| a.to_bits() == b.to_bits()),
                    "{what}: sharded weight differs from interleaved"
                );
                // The general (reference) path, which gathers the shards per call, agrees too.
                set_host_matmul_path(HostMatmulPath::General).unwrap();
                let general = ops::linear(&x, &w_sh, None, &cfg).map(|t| t.to_f32().unwrap());
                set_host_matmul_path(HostMatmulPath::Auto).unwrap();
                assert!(
                    general.unwrap().iter().zip(&want).all(|(a, b)| a.to_bits() == b.to_bits()),
                    "{what}: general path"
                );
            }
        }
    }
}

#[test]
fn dram_width_sharded_weight_matches_f64_reference() {
    // bf16 operands, HiFi4, fp32 dest: only f32 summation and the output's bf16 rounding.
    let dev = device();
    let (m, k, n) = (96u32, 256u32, 2080u32);
    let mut r = Rng(0xBEEF);
    let a = bf16v(&r.vec((m * k) as usize));
    let b = bf16v(&r.vec((k * n) as usize));
    let x = up(&dev, &a, &[m, k], DataType::Bfloat16);
    let w = Tensor::from_f32(&dev, &b, &[k, n], DataType::Bfloat16, Layout::Tile, &dram_sharded_weight(k, n)).unwrap();
    let out = ops::matmul(&x, &w, &prefill_2d(m, n), &hifi4(true), &MemoryConfig::DRAM_INTERLEAVED, DataType::Bfloat16)
        .unwrap();
    let got = out.to_f32().unwrap();
    let (want, abs) = matmul_ref(&a, &b, m as usize, k as usize, n as usize);
    for i in 0..got.len() {
        let e = (got[i] as f64 - want[i]).abs();
        let bound = BF16_HALF_ULP * want[i].abs() + 1e-5 * abs[i];
        assert!(e <= bound, "element {i}: got {}, want {} (err {e} > {bound})", got[i], want[i]);
    }
}

#[test]
fn dram_width_sharded_weight_is_gathered_once_per_tensor() {
    let dev = device();
    let (m, k, n) = (128u32, 256u32, 2048u32);
    let mut r = Rng(5);
    let x = up(&dev, &r.vec((m * k) as usize), &[1, 1, m, k], DataType::Bfloat16);
    let w = Tensor::from_f32(
        &dev,
        &r.vec((k * n) as usize),
        &[1, 1, k, n],
        DataType::Bfloat8B,
        Layout::Tile,
        &dram_sharded_weight(k, n),
    )
    .unwrap();
    let cfg =
        prefill_cfg(m, k, n, DataType::Bfloat8B, dram_sharded_weight(k, n), prefill_2d(m, n), MathFidelity::HiFi2);
    let g0 = host_sharded_gathers();
    for _ in 0..3 {
        ops::linear(&x, &w, None, &cfg).unwrap();
    }
    assert_eq!(host_sharded_gathers() - g0, 1, "prefill calls: one gather, when the prepared weight is built");
    // Another fidelity prepares (and gathers) once more; the counter does count per-call gathers
    // (the general path reads the weight every call).
    let lofi =
        prefill_cfg(m, k, n, DataType::Bfloat8B, dram_sharded_weight(k, n), prefill_2d(m, n), MathFidelity::LoFi);
    ops::linear(&x, &w, None, &lofi).unwrap();
    ops::linear(&x, &w, None, &lofi).unwrap();
    assert_eq!(host_sharded_gathers() - g0, 2);
    set_host_matmul_path(HostMatmulPath::General).unwrap();
    let r1 = ops::linear(&x, &w, None, &cfg).map(|_| ());
    let r2 = ops::linear(&x, &w, None, &cfg).map(|_| ());
    set_host_matmul_path(HostMatmulPath::Auto).unwrap();
    r1.unwrap();
    r2.unwrap();
    assert_eq!(host_sharded_gathers() - g0, 4);
}
