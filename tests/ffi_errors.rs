//! Invalid configs and shapes pushed through the FFI come back as `Err` with TT-NN's message,
//! never as an abort.

use tttv2::device::DeviceProfile;
use tttv2::nn::Weights;
use tttv2::op::LinearConfig;
use tttv2::ttnn::*;
use tttv2::{Device, Error, Tensor, ops, ttt_model};

#[ttt_model(device = "wormhole_b0", batch = 32)]
struct Tiny {
    #[linear(in = 64, out = 128)]
    proj: Linear,
}

fn upload(device: &Device, rows: u32, cols: u32) -> Tensor {
    let data = vec![0.5f32; (rows * cols) as usize];
    Tensor::from_f32(device, &data, &[rows, cols], DataType::Bfloat16, Layout::Tile, &MemoryConfig::DRAM_INTERLEAVED)
        .unwrap()
}

fn forced(pc: MatmulProgramConfig) -> LinearConfig {
    LinearConfig { program_config: pc, ..tiny_plan::PROJ }
}

fn one_d(in0_block_w: u32, sub_h: u32, sub_w: u32, per_core_n: u32) -> MatmulProgramConfig {
    MatmulProgramConfig::MultiCast1D(MatmulMultiCoreReuseMultiCast1DProgramConfig {
        compute_with_storage_grid_size: CoreCoord::new(8, 8),
        in0_block_w,
        out_subblock_h: sub_h,
        out_subblock_w: sub_w,
        out_block_h: 1,
        out_block_w: per_core_n,
        per_core_M: 1,
        per_core_N: per_core_n,
        fuse_batch: true,
        fused_activation: None,
        mcast_in0: true,
    })
}

fn backend_message(r: tttv2::Result<Tensor>) -> String {
    match r {
        Err(Error::Backend { op, message }) => {
            assert_eq!(op, "linear");
            message
        }
        other => panic!("expected a backend error, got {other:?}"),
    }
}

#[test]
fn subblock_over_dest_register_is_an_error_with_ttnn_text() {
    let device = Device::open(&DeviceProfile::N150).unwrap();
    let (x, w) = (upload(&device, 32, 64), upload(&device, 64, 128));
    let mut cfg = forced(one_d(2, 1, 4, 4));
    // 2 x 4 = 8 tiles is the half-sync bf16 limit; with fp32 accumulation it is 4.
    cfg.compute_kernel_config.fp32_dest_acc_en = true;
    if let MatmulProgramConfig::MultiCast1D(p) = &mut cfg.program_config {
        p.out_subblock_h = 1;
        p.out_subblock_w = 4;
    }
    assert!(ops::linear(&x, &w, None, &cfg).is_ok(), "1x4 fits the fp32 dest (4 tiles)");
    let mut big = forced(one_d(2, 1, 4, 4));
    big.compute_kernel_config.fp32_dest_acc_en = true;
    if let MatmulProgramConfig::MultiCast1D(p) = &mut big.program_config {
        p.out_block_h = 1;
        p.per_core_N = 4;
        p.out_subblock_w = 4;
        p.out_subblock_h = 2; // 8 tiles > 4
        p.per_core_M = 2;
        p.out_block_h = 2;
    }
    let msg = backend_message(ops::linear(&x, &w, None, &big));
    assert_eq!(msg, "out_subblock_w 4 times out_subblock_h 2 needs to be at most 4 to fit in hardware");
}

#[test]
fn in0_block_w_must_divide_k_tiles() {
    let device = Device::open(&DeviceProfile::N150).unwrap();
    let (x, w) = (upload(&device, 32, 64), upload(&device, 64, 128));
    let msg = backend_message(ops::linear(&x, &w, None, &forced(one_d(3, 1, 4, 4))));
    assert_eq!(msg, "Kt 2 must be divisible by in0_block_w 3");
}

#[test]
fn more_output_blocks_than_cores_is_rejected() {
    let device = Device::open(&DeviceProfile::N150).unwrap();
    let (x, w) = (upload(&device, 32, 64), upload(&device, 64, 128));
    let mut pc = one_d(2, 1, 1, 1);
    if let MatmulProgramConfig::MultiCast1D(p) = &mut pc {
        p.compute_with_storage_grid_size = CoreCoord::new(2, 1);
    }
    let msg = backend_message(ops::linear(&x, &w, None, &forced(pc)));
    assert_eq!(msg, "Number of output blocks 4 must be <= the number of cores 2");
}

#[test]
fn circular_buffers_beyond_l1_are_rejected_with_the_byte_count() {
    let device = Device::open(&DeviceProfile::N150).unwrap();
    let (k, n) = (8192u32, 8192u32);
    let x = upload(&device, 32, k);
    let w = Tensor::from_f32(
        &device,
        &vec![0.0; (k * n) as usize],
        &[k, n],
        DataType::Bfloat16,
        Layout::Tile,
        &MemoryConfig::DRAM_INTERLEAVED,
    )
    .unwrap();
    let cfg = LinearConfig { m: 32, k, n, program_config: one_d(256, 1, 8, 256), ..tiny_plan::PROJ };
    let msg = backend_message(ops::linear(&x, &w, None, &cfg));
    assert!(
        msg.starts_with("Statically allocated circular buffers on core range [(x=0,y=0) - (x=7,y=7)] grow to "),
        "{msg}"
    );
    assert!(msg.ends_with("B which is beyond max L1 size of 1499136 B"), "{msg}");
}

#[test]
fn wrong_input_shape_is_a_shape_error() {
    let device = Device::open(&tiny_plan::DEVICE).unwrap();
    let mut weights = Weights::new();
    weights.insert("proj.weight", vec![128, 64], vec![0.01; 128 * 64]);
    let model = Tiny::load(&device, &weights).unwrap();
    let x = upload(&device, 64, 64);
    match model.forward(&x) {
        Err(Error::Shape { op: "linear", message }) => {
            assert_eq!(message, "the plan was made for x of [32, 64] but x is [64, 64]")
        }
        other => panic!("expected a shape error, got {other:?}"),
    }
}

#[test]
fn missing_or_misshapen_weights_are_named() {
    let device = Device::open(&tiny_plan::DEVICE).unwrap();
    let err = Tiny::load(&device, &Weights::new()).err().unwrap();
    assert_eq!(err, Error::Weight { name: "proj.weight".into(), message: "not found".into() });
    let mut weights = Weights::new();
    weights.insert("proj.weight", vec![64, 128], vec![0.0; 64 * 128]);
    let err = Tiny::load(&device, &weights).err().unwrap();
    assert_eq!(err.to_string(), "weight `proj.weight`: expected shape [128, 64] ([out, in]) but found [64, 128]");
}

#[test]
fn block_float_needs_tile_layout() {
    let device = Device::open(&DeviceProfile::N150).unwrap();
    let r = Tensor::from_f32(
        &device,
        &[0.0; 1024],
        &[32, 32],
        DataType::Bfloat8B,
        Layout::RowMajor,
        &MemoryConfig::DRAM_INTERLEAVED,
    );
    match r {
        Err(Error::Backend { message, .. }) => {
            assert_eq!(message, "Tensor with dtype BFLOAT8_B must be in TILE layout")
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_model_for_another_device_is_refused_at_load() {
    let device = Device::open(&DeviceProfile::P150).unwrap();
    let err = Tiny::load(&device, &Weights::new()).err().unwrap();
    assert!(matches!(err, Error::Device(ref m) if m.starts_with("the model was compiled for `n150`")), "{err}");
}
