//! Decode-path ops that now work in place: KV-cache updates write only the new rows (quantized on
//! their own, which must equal quantizing the whole cache), and a tensor changed in place must
//! not keep a stale matmul-operand cache.
mod common;
use common::*;
use tttv2_core::ttnn::*;
use tttv2_sys::{Tensor, ops};

fn same_bits(a: &[f32], b: &[f32], what: &str) {
    assert_eq!(a.len(), b.len());
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert_eq!(x.to_bits(), y.to_bits(), "{what}: element {i}: {x} vs {y}");
    }
}

#[test]
fn in_place_cache_updates_quantize_like_the_whole_tensor() {
    let dev = device();
    let (b, h, s, d) = (2u32, 2u32, 64u32, 64u32);
    for dt in [DataType::Bfloat16, DataType::Bfloat8B, DataType::Bfloat4B] {
        let mut r = Rng(21);
        let init = r.vec((b * h * s * d) as usize);
        let mut cache = up(&dev, &init, &[b, h, s, d], dt);
        let mut want = cache.to_f32().unwrap();
        let at = |bi: u32, hi: u32, si: u32| ((bi * h + hi) * s + si) as usize * d as usize;
        // fill_cache: 32 rows of user 1 at position 32.
        let fill = r.vec((h * 32 * d) as usize);
        ops::fill_cache(&mut cache, &up(&dev, &fill, &[1, h, 32, d], dt), 1, 32).unwrap();
        for hi in 0..h {
            let src = &fill[(hi * 32 * d) as usize..((hi + 1) * 32 * d) as usize];
            want[at(1, hi, 32)..at(1, hi, 32) + (32 * d) as usize].copy_from_slice(src);
        }
        // update_cache: one row per user at position 3.
        // TT-NN's update_cache takes FLOAT32/BFLOAT16/BFLOAT8_B inputs and caches (no
        // BFLOAT4_B cache); paged_update_cache takes FLOAT32/BFLOAT16 inputs. The expected rows are
        // what the input tensor holds.
        if dt != DataType::Bfloat4B {
            let upd_t = up(&dev, &r.vec((h * b * d) as usize), &[1, h, b, d], dt);
            let upd = upd_t.to_f32().unwrap();
            ops::update_cache(&mut cache, &upd_t, 3, 0).unwrap();
            for hi in 0..h {
                for bi in 0..b {
                    want[at(bi, hi, 3)..at(bi, hi, 3) + d as usize]
                        .copy_from_slice(&upd[((hi * b + bi) * d) as usize..((hi * b + bi + 1) * d) as usize]);
                }
            }
        }
        // paged_update_cache: one row per user at its own position.
        let per_t = Tensor::from_f32(
            &dev,
            &r.vec((b * h * d) as usize),
            &[1, b, h, d],
            DataType::Bfloat16,
            Layout::Tile,
            &sharded(TensorMemoryLayout::HeightSharded, BufferType::L1, (8, 8), b, [32, d]),
        )
        .unwrap();
        let per = per_t.to_f32().unwrap();
        ops::paged_update_cache(&mut cache, &per_t, &[5, 40]).unwrap();
        for bi in 0..b {
            for hi in 0..h {
                let p = [5, 40][bi as usize];
                want[at(bi, hi, p)..at(bi, hi, p) + d as usize]
                    .copy_from_slice(&per[((bi * h + hi) * d) as usize..((bi * h + hi + 1) * d) as usize]);
            }
        }
        // The reference: the whole expected cache uploaded (quantized as one tensor).
        let want = up(&dev, &want, &[b, h, s, d], dt).to_f32().unwrap();
        same_bits(&cache.to_f32().unwrap(), &want, &format!("{dt:?} cache"));
    }
}

#[test]
fn matmul_after_an_in_place_update_sees_the_new_values() {
    let dev = device();
    let (k, n) = (64u32, 64u32);
    let mut r = Rng(5);
    let mut wv = bf16v(&r.vec((k * n) as usize));
    let x = bf16v(&r.vec(k as usize));
    let tx = up(&dev, &x, &[1, k], DataType::Bfloat16);
    // A [1, 1, K, N] cache tensor used as a matmul weight (the small-M path caches its operand).
    let mut w = up(&dev, &wv, &[1, 1, k, n], DataType::Bfloat16);
    let pc = MatmulProgramConfig::MultiCore(MatmulMultiCoreProgramConfig {});
    let mm = |w: &Tensor| {
        ops::matmul(&tx, w, &pc, &hifi4(true), &MemoryConfig::DRAM_INTERLEAVED, DataType::Float32)
            .unwrap()
            .to_f32()
            .unwrap()
    };
    let before = mm(&w);
    let row = bf16v(&r.vec(n as usize));
    ops::update_cache(&mut w, &up(&dev, &row, &[1, 1, 1, n], DataType::Bfloat16), 7, 0).unwrap();
    wv[(7 * n) as usize..(8 * n) as usize].copy_from_slice(&row);
    let after = mm(&w);
    let fresh = mm(&up(&dev, &wv, &[1, 1, k, n], DataType::Bfloat16));
    same_bits(&after, &fresh, "after update");
    assert_ne!(before, after);
}

/// TT-NN refuses a sharded SDPA-decode output whenever K has more than one head ("GQA",
/// tt-metal 13adda80 `sdpa_decode_device_operation.cpp:403-405`); the host backend does too, with
/// TT-NN's text, and accepts the same call with an interleaved output.
#[test]
fn sdpa_decode_refuses_a_sharded_output_for_gqa() {
    let dev = device();
    let (b, qh, kvh, s, d) = (4u32, 8u32, 2u32, 64u32, 64u32);
    let mut r = Rng(5);
    let q = up(&dev, &r.vec((b * qh * d) as usize), &[1, b, qh, d], DataType::Bfloat16);
    let k = up(&dev, &r.vec((b * kvh * s * d) as usize), &[b, kvh, s, d], DataType::Bfloat16);
    let v = up(&dev, &r.vec((b * kvh * s * d) as usize), &[b, kvh, s, d], DataType::Bfloat16);
    let pc = SDPAProgramConfig {
        compute_with_storage_grid_size: CoreCoord::new(8, 8),
        q_chunk_size: 0,
        k_chunk_size: 0,
        exp_approx_mode: Some(false),
        max_cores_per_head_batch: 16,
    };
    let sharded = MemoryConfig::sharded(
        TensorMemoryLayout::HeightSharded,
        BufferType::L1,
        ShardSpec {
            grid: ShardGrid::row_wise(b, CoreCoord::new(8, 8)),
            shape: [32, d],
            orientation: ShardOrientation::RowMajor,
        },
    );
    let pos = vec![s - 1; b as usize];
    let err = ops::scaled_dot_product_attention_decode(&q, &k, &v, &pos, None, &pc, &sharded, &hifi4(false))
        .expect_err("a sharded GQA output must be refused");
    assert!(err.to_string().contains("Sharded output not supported for GQA"), "{err}");
    ops::scaled_dot_product_attention_decode(
        &q,
        &k,
        &v,
        &pos,
        None,
        &pc,
        &MemoryConfig::DRAM_INTERLEAVED,
        &hifi4(false),
    )
    .unwrap();
}
