//! Invalid configs and shapes pushed through the FFI come back as `Err` with TT-NN-style
//! messages (the TT_FATAL texts of tt-metal @ 13adda80 where we have them), never as an abort.
mod common;
use common::*;
use tttv2_core::ttnn::*;
use tttv2_sys::{Error, Tensor, ops};

const DRAM: MemoryConfig = MemoryConfig::DRAM_INTERLEAVED;

fn msg<T: std::fmt::Debug>(r: tttv2_sys::Result<T>) -> String {
    match r {
        Err(Error::Backend { message, .. }) => message,
        other => panic!("expected a backend error, got {other:?}"),
    }
}

fn pc2d(sh: u32, sw: u32, bw: u32) -> MatmulProgramConfig {
    MatmulProgramConfig::MultiCast2D(MatmulMultiCoreReuseMultiCastProgramConfig {
        compute_with_storage_grid_size: CoreCoord::new(8, 8),
        in0_block_w: bw,
        out_subblock_h: sh,
        out_subblock_w: sw,
        out_block_h: 4,
        out_block_w: 4,
        per_core_M: 4,
        per_core_N: 4,
        transpose_mcast: false,
        fused_activation: None,
        fuse_batch: true,
    })
}

#[test]
fn matmul_config_errors() {
    let dev = device();
    let a = up(&dev, &vec![0.5; 128 * 128], &[128, 128], DataType::Bfloat16);
    let b = up(&dev, &vec![0.5; 128 * 128], &[128, 128], DataType::Bfloat16);
    let mm = |pc: MatmulProgramConfig, cc: ComputeKernelConfig| {
        msg(ops::matmul(&a, &b, &pc, &cc, &DRAM, DataType::Bfloat16))
    };
    assert_eq!(
        mm(pc2d(4, 4, 1), hifi4(false)),
        "out_subblock_w 4 times out_subblock_h 4 needs to be at most 8 to fit in hardware"
    );
    assert_eq!(
        mm(pc2d(2, 4, 1), hifi4(true)),
        "out_subblock_w 4 times out_subblock_h 2 needs to be at most 4 to fit in hardware"
    );
    assert_eq!(mm(pc2d(1, 4, 3), hifi4(false)), "Kt 4 must be divisible by in0_block_w 3");
    assert_eq!(mm(pc2d(1, 3, 1), hifi4(false)), "out_block_w 4 must be divisible by out_subblock_w 3");
    // Shapes: K mismatch, row-major input, bfp8 row-major.
    let c = up(&dev, &vec![0.5; 64 * 128], &[64, 128], DataType::Bfloat16);
    assert!(
        msg(ops::matmul(&a, &c, &pc2d(1, 4, 1), &hifi4(false), &DRAM, DataType::Bfloat16))
            .starts_with("The width of the first tensor must be equal to the height of the second tensor")
    );
    let rm = Tensor::from_f32(&dev, &vec![0.5; 128 * 128], &[128, 128], DataType::Bfloat16, Layout::RowMajor, &DRAM)
        .unwrap();
    assert_eq!(
        msg(ops::matmul(&rm, &b, &pc2d(1, 4, 1), &hifi4(false), &DRAM, DataType::Bfloat16)),
        "Inputs to matmul must be tilized"
    );
    assert_eq!(
        msg(Tensor::from_f32(&dev, &[0.0; 1024], &[32, 32], DataType::Bfloat8B, Layout::RowMajor, &DRAM)),
        "Tensor with dtype BFLOAT8_B must be in TILE layout"
    );
}

#[test]
fn shard_spec_errors() {
    let dev = device();
    let x = up(&dev, &vec![1.0; 64 * 64], &[64, 64], DataType::Bfloat16);
    let mc = |l, shape, n| ops::to_memory_config(&x, &sharded(l, BufferType::L1, (8, 8), n, shape));
    assert_eq!(
        msg(mc(TensorMemoryLayout::HeightSharded, [32, 32], 2)),
        "Shard width 32 must match physical width 64 for height sharded"
    );
    assert_eq!(
        msg(mc(TensorMemoryLayout::HeightSharded, [32, 64], 1)),
        "Number of shards along height 2 must not exceed number of cores 1"
    );
    assert_eq!(
        msg(mc(TensorMemoryLayout::WidthSharded, [32, 32], 2)),
        "Shard height 32 must match physical height 64 for width sharded"
    );
    assert_eq!(
        msg(mc(TensorMemoryLayout::HeightSharded, [16, 64], 4)),
        "Physical shard shape [16, 64] must be tile [32, 32] sized!"
    );
    let blk = sharded(TensorMemoryLayout::BlockSharded, BufferType::L1, (1, 2), 2, [32, 32]);
    assert_eq!(
        msg(ops::to_memory_config(&x, &blk)),
        "Number of shards along width 2 must not exceed number of columns 1 for row major orientation!"
    );
    let off = sharded(TensorMemoryLayout::HeightSharded, BufferType::L1, (9, 1), 2, [32, 64]);
    assert!(msg(ops::to_memory_config(&x, &off)).contains("is outside the compute grid 8x8"));
}

#[test]
fn transformer_op_errors() {
    let dev = device();
    let q = up(&dev, &vec![0.1; 2 * 64 * 32], &[1, 2, 64, 32], DataType::Bfloat16);
    let k = up(&dev, &vec![0.1; 3 * 64 * 32], &[1, 3, 64, 32], DataType::Bfloat16);
    let v = up(&dev, &vec![0.1; 2 * 64 * 32], &[1, 2, 64, 32], DataType::Bfloat16);
    let cfg = SDPAProgramConfig {
        compute_with_storage_grid_size: CoreCoord::new(8, 8),
        q_chunk_size: 32,
        k_chunk_size: 32,
        exp_approx_mode: None,
        max_cores_per_head_batch: 16,
    };
    assert_eq!(
        msg(ops::scaled_dot_product_attention(&q, &k, &v, None, true, None, &cfg, &DRAM, &hifi4(true))),
        "K and V num_heads must match. Got K: 3, V: 2"
    );
    let bad = SDPAProgramConfig { q_chunk_size: 48, ..cfg };
    assert_eq!(
        msg(ops::scaled_dot_product_attention(&q, &v, &v, None, true, None, &bad, &DRAM, &hifi4(true))),
        "q_chunk_size must be divisible by 32. Got q_chunk_size: 48"
    );
    assert_eq!(
        msg(ops::scaled_dot_product_attention_decode(&q, &v, &v, &[1, 2], None, &cfg, &DRAM, &hifi4(true))),
        "K batch 1 must match Q batch 2"
    );
    let w = up(&dev, &vec![0.1; 64 * 32], &[64, 32], DataType::Float32);
    let ids = Tensor::from_u32(&dev, &[1, 2], &[1, 2], Layout::RowMajor, &DRAM).unwrap();
    assert_eq!(
        msg(ops::embedding(&ids, &w, &DRAM, DataType::Bfloat16, Layout::Tile)),
        "Weights tensor must have BFLOAT16 dtype"
    );
    let mut cache = up(&dev, &vec![0.0; 2 * 64 * 32], &[1, 2, 64, 32], DataType::Bfloat16);
    let inp = up(&dev, &vec![0.0; 2 * 32 * 32], &[1, 2, 32, 32], DataType::Float32);
    assert_eq!(msg(ops::fill_cache(&mut cache, &inp, 0, 0)), "Input and cache tensors must have same dtype!");
    // head_dim 288 > 256.
    let big = up(&dev, &vec![0.0; 32 * 288], &[1, 1, 32, 288], DataType::Bfloat16);
    let tm = up(&dev, &vec![0.0; 1024], &[1, 1, 32, 32], DataType::Bfloat16);
    assert_eq!(
        msg(ops::rotary_embedding_llama(&big, &big, &big, &tm, false, &DRAM, &hifi4(false))),
        "Head dim must be less than 256"
    );
    let x = up(&dev, &vec![0.0; 32 * 102], &[1, 1, 32, 102], DataType::Bfloat16);
    assert!(
        msg(ops::nlp_create_qkv_heads(&x, 3, 1, false, &DRAM))
            .contains("must be divisible by (num_q_heads + 2 * num_kv_heads)")
    );
}
