//! Every non-matmul host op against an independent plain-f32/f64 reference written here.
//! Tolerances: inputs are bf16-exact (we round them first), the reference runs in f64, and the
//! op's output is rounded once to bf16 => half a bf16 ulp (2^-8 relative) per rounding the
//! device makes, plus a small absolute slack for values near zero (documented per test).
mod common;
use common::*;
use tttv2_core::ttnn::*;
use tttv2_sys::{Tensor, ops};

const DRAM: MemoryConfig = MemoryConfig::DRAM_INTERLEAVED;

fn sdpa_cfg(q: u32, k: u32) -> SDPAProgramConfig {
    SDPAProgramConfig {
        compute_with_storage_grid_size: CoreCoord::new(8, 8),
        q_chunk_size: q,
        k_chunk_size: k,
        exp_approx_mode: Some(false),
        max_cores_per_head_batch: 16,
    }
}

#[test]
fn embedding_gathers_rows() {
    let dev = device();
    let (v, d) = (50u32, 64u32);
    let table = bf16v(&Rng(1).vec((v * d) as usize));
    let w = Tensor::from_f32(&dev, &table, &[v, d], DataType::Bfloat16, Layout::RowMajor, &DRAM).unwrap();
    let ids: Vec<u32> = vec![3, 0, 49, 7, 7, 12, 1, 2];
    let t = Tensor::from_u32(&dev, &ids, &[2, 4], Layout::RowMajor, &DRAM).unwrap();
    assert_eq!(t.to_u32().unwrap(), ids);
    let out = ops::embedding(&t, &w, &DRAM, DataType::Bfloat16, Layout::Tile).unwrap();
    assert_eq!(out.shape(), vec![2, 4, d]);
    let got = out.to_f32().unwrap();
    for (i, &id) in ids.iter().enumerate() {
        assert_eq!(&got[i * d as usize..(i + 1) * d as usize], &table[(id * d) as usize..((id + 1) * d) as usize]);
    }
    let bad = Tensor::from_u32(&dev, &[50], &[1, 1], Layout::RowMajor, &DRAM).unwrap();
    assert!(ops::embedding(&bad, &w, &DRAM, DataType::Bfloat16, Layout::Tile).is_err());
}

#[test]
fn eltwise_add_multiply_swiglu_silu_gelu() {
    let dev = device();
    let mut r = Rng(2);
    let (h, w) = (64u32, 96u32);
    let a = bf16v(&r.vec((h * w) as usize).iter().map(|x| x * 4.0).collect::<Vec<_>>());
    let b = bf16v(&r.vec((h * w) as usize));
    let row = bf16v(&r.vec(w as usize));
    let (ta, tb, trow) = (
        up(&dev, &a, &[h, w], DataType::Bfloat16),
        up(&dev, &b, &[h, w], DataType::Bfloat16),
        up(&dev, &row, &[1, w], DataType::Bfloat16),
    );
    let silu = |x: f64| x / (1.0 + (-x).exp());
    let n = (h * w) as usize;
    // One output rounding: 2^-8 relative.
    let add = ops::add(&ta, &tb, &DRAM, DataType::Bfloat16).unwrap().to_f32().unwrap();
    assert_close(&add, &(0..n).map(|i| a[i] as f64 + b[i] as f64).collect::<Vec<_>>(), BF16_HALF_ULP, 0.0, "add");
    let addb = ops::add(&ta, &trow, &DRAM, DataType::Bfloat16).unwrap().to_f32().unwrap();
    assert_close(
        &addb,
        &(0..n).map(|i| a[i] as f64 + row[i % w as usize] as f64).collect::<Vec<_>>(),
        BF16_HALF_ULP,
        0.0,
        "add bcast",
    );
    let mul = ops::multiply(&ta, &tb, &DRAM, DataType::Bfloat16, None).unwrap().to_f32().unwrap();
    assert_close(&mul, &(0..n).map(|i| a[i] as f64 * b[i] as f64).collect::<Vec<_>>(), BF16_HALF_ULP, 0.0, "multiply");
    // SwiGLU: silu(a) is rounded to bf16 before the multiply, then the product: two roundings
    // (2 * 2^-8), plus f32 exp error (1e-6 abs).
    let sw = ops::multiply(&ta, &tb, &DRAM, DataType::Bfloat16, Some(UnaryOpType::Silu)).unwrap().to_f32().unwrap();
    assert_close(
        &sw,
        &(0..n).map(|i| silu(a[i] as f64) * b[i] as f64).collect::<Vec<_>>(),
        2.0 * BF16_HALF_ULP,
        1e-6,
        "swiglu",
    );
    let s = ops::silu(&ta, &DRAM).unwrap().to_f32().unwrap();
    assert_close(&s, &(0..n).map(|i| silu(a[i] as f64)).collect::<Vec<_>>(), BF16_HALF_ULP, 1e-6, "silu");
    // gelu (erf form); reference erf via the tanh-free Abramowitz-Stegun 7.1.26 (|err| < 1.5e-7).
    let erf = |x: f64| {
        let t = 1.0 / (1.0 + 0.3275911 * x.abs());
        let y = 1.0
            - (((((1.061405429 * t - 1.453152027) * t) + 1.421413741) * t - 0.284496736) * t + 0.254829592)
                * t
                * (-x * x).exp();
        if x >= 0.0 { y } else { -y }
    };
    let g = ops::gelu(&ta, false, &DRAM).unwrap().to_f32().unwrap();
    assert_close(
        &g,
        &(0..n).map(|i| 0.5 * a[i] as f64 * (1.0 + erf(a[i] as f64 / 2f64.sqrt()))).collect::<Vec<_>>(),
        BF16_HALF_ULP,
        1e-6,
        "gelu",
    );
}

#[test]
fn rms_norm_layer_norm_softmax() {
    let dev = device();
    let mut r = Rng(3);
    let (h, w) = (32u32, 128u32);
    let x = bf16v(&r.vec((h * w) as usize));
    let gamma = bf16v(&r.vec(w as usize));
    let beta = bf16v(&r.vec(w as usize));
    let tx = up(&dev, &x, &[h, w], DataType::Bfloat16);
    let (tg, tbeta) = (up(&dev, &gamma, &[1, w], DataType::Bfloat16), up(&dev, &beta, &[1, w], DataType::Bfloat16));
    let eps = 1e-5f32;
    let cc = hifi4(true);
    let mut want_rms = vec![];
    let mut want_ln = vec![];
    for i in 0..h as usize {
        let row = &x[i * w as usize..(i + 1) * w as usize];
        let ms = row.iter().map(|&v| (v as f64).powi(2)).sum::<f64>() / w as f64;
        let mean = row.iter().map(|&v| v as f64).sum::<f64>() / w as f64;
        let var = row.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / w as f64;
        for j in 0..w as usize {
            want_rms.push(row[j] as f64 / (ms + eps as f64).sqrt() * gamma[j] as f64);
            want_ln.push((row[j] as f64 - mean) / (var + eps as f64).sqrt() * gamma[j] as f64 + beta[j] as f64);
        }
    }
    // One output rounding; 1e-5 abs for f32 arithmetic near zero.
    let rms = ops::rms_norm(&tx, eps, &tg, &LayerNormProgramConfig::Default(Default::default()), &DRAM, &cc)
        .unwrap()
        .to_f32()
        .unwrap();
    assert_close(&rms, &want_rms, BF16_HALF_ULP, 1e-5, "rms_norm");
    let ln = ops::layer_norm(&tx, eps, Some(&tg), Some(&tbeta), &DRAM, &cc).unwrap().to_f32().unwrap();
    assert_close(&ln, &want_ln, BF16_HALF_ULP, 1e-5, "layer_norm");

    // softmax(scale * x) with causal masking on a square [64, 64].
    let s = 64u32;
    let sx = bf16v(&r.vec((s * s) as usize).iter().map(|v| v * 3.0).collect::<Vec<_>>());
    let ts = up(&dev, &sx, &[1, 1, s, s], DataType::Bfloat16);
    let scale = 0.5f32;
    let got = ops::softmax(&ts, scale, None, true, &DRAM, &cc).unwrap().to_f32().unwrap();
    let mut want = vec![0.0f64; (s * s) as usize];
    for i in 0..s as usize {
        let m = (0..=i).map(|j| sx[i * s as usize + j] as f64 * scale as f64).fold(f64::MIN, f64::max);
        let z: f64 = (0..=i).map(|j| (sx[i * s as usize + j] as f64 * scale as f64 - m).exp()).sum();
        for j in 0..=i {
            want[i * s as usize + j] = (sx[i * s as usize + j] as f64 * scale as f64 - m).exp() / z;
        }
    }
    assert_close(&got, &want, BF16_HALF_ULP, 1e-6, "causal softmax");
}

/// Llama RoPE reference in the complex form: pairs (x[2k], x[2k+1]) rotated by theta_k * pos.
#[test]
#[allow(clippy::needless_range_loop)] // indices mirror the reference formula's
fn rotary_embedding_llama_prefill_and_decode() {
    let dev = device();
    let (b, nh, s, d) = (1u32, 2u32, 32u32, 64u32);
    let x = bf16v(&Rng(4).vec((b * nh * s * d) as usize));
    let theta = |k: u32| 10000f64.powf(-2.0 * k as f64 / d as f64);
    let mut cos = vec![0f32; (s * d) as usize];
    let mut sin = vec![0f32; (s * d) as usize];
    for p in 0..s {
        for j in 0..d {
            cos[(p * d + j) as usize] = bf16((p as f64 * theta(j / 2)).cos() as f32);
            sin[(p * d + j) as usize] = bf16((p as f64 * theta(j / 2)).sin() as f32);
        }
    }
    // trans_mat (tt-transformers get_rot_transformation_mat): T[2k][2k+1] = 1, T[2k+1][2k] = -1.
    let mut tm = vec![0f32; 1024];
    for k in 0..16 {
        tm[(2 * k) * 32 + 2 * k + 1] = 1.0;
        tm[(2 * k + 1) * 32 + 2 * k] = -1.0;
    }
    let tx = up(&dev, &x, &[b, nh, s, d], DataType::Bfloat16);
    let (tc, ts) =
        (up(&dev, &cos, &[1, 1, s, d], DataType::Bfloat16), up(&dev, &sin, &[1, 1, s, d], DataType::Bfloat16));
    let tt = up(&dev, &tm, &[1, 1, 32, 32], DataType::Bfloat16);
    let got = ops::rotary_embedding_llama(&tx, &tc, &ts, &tt, false, &DRAM, &hifi4(true)).unwrap().to_f32().unwrap();
    let mut want = vec![0f64; x.len()];
    for h in 0..nh {
        for p in 0..s {
            let o = ((h * s + p) * d) as usize;
            for k in 0..(d / 2) as usize {
                let (c, sn) = (cos[(p * d) as usize + 2 * k] as f64, sin[(p * d) as usize + 2 * k] as f64);
                let (x0, x1) = (x[o + 2 * k] as f64, x[o + 2 * k + 1] as f64);
                want[o + 2 * k] = x0 * c - x1 * sn;
                want[o + 2 * k + 1] = x1 * c + x0 * sn;
            }
        }
    }
    // Two products each rounded to bf16 (2^-8 of |x|, |x| <= 1) then summed: abs 2 * 2^-8.
    assert_close(&got, &want, 0.0, 2.0 * BF16_HALF_ULP, "rope prefill");

    // Decode: x [1, batch=2, heads=2, d] HEIGHT_SHARDED (one [32, d] shard per user); each user
    // at its own position (cos/sin rows per user).
    let users = 2u32;
    let xd = bf16v(&Rng(5).vec((users * nh * d) as usize));
    let pos = [5u32, 17];
    let mut cd = vec![0f32; (users * 32 * d) as usize];
    let mut sd = vec![0f32; (users * 32 * d) as usize];
    for u in 0..users {
        for row in 0..32 {
            for j in 0..d {
                let i = ((u * 32 + row) * d + j) as usize;
                cd[i] = cos[(pos[u as usize] * d + j) as usize];
                sd[i] = sin[(pos[u as usize] * d + j) as usize];
            }
        }
    }
    let hs = |rows: u32, n: u32| sharded(TensorMemoryLayout::HeightSharded, BufferType::L1, (8, 8), n, [rows, d]);
    let txd =
        Tensor::from_f32(&dev, &xd, &[1, users, nh, d], DataType::Bfloat16, Layout::Tile, &hs(32, users)).unwrap();
    let tcd =
        Tensor::from_f32(&dev, &cd, &[1, users, 32, d], DataType::Bfloat16, Layout::Tile, &hs(32, users)).unwrap();
    let tsd =
        Tensor::from_f32(&dev, &sd, &[1, users, 32, d], DataType::Bfloat16, Layout::Tile, &hs(32, users)).unwrap();
    let ttd = Tensor::from_f32(
        &dev,
        &tm,
        &[1, 1, 32, 32],
        DataType::Bfloat16,
        Layout::Tile,
        &sharded(TensorMemoryLayout::HeightSharded, BufferType::L1, (8, 8), 1, [32, 32]),
    )
    .unwrap();
    let got = ops::rotary_embedding_llama(&txd, &tcd, &tsd, &ttd, true, &DRAM, &hifi4(true)).unwrap().to_f32().unwrap();
    for u in 0..users as usize {
        for h in 0..nh as usize {
            let o = (u * nh as usize + h) * d as usize;
            for k in 0..(d / 2) as usize {
                let p = pos[u] as usize;
                let (c, sn) = (cos[p * d as usize + 2 * k] as f64, sin[p * d as usize + 2 * k] as f64);
                let (x0, x1) = (xd[o + 2 * k] as f64, xd[o + 2 * k + 1] as f64);
                assert!((got[o + 2 * k] as f64 - (x0 * c - x1 * sn)).abs() <= 2.0 * BF16_HALF_ULP);
                assert!((got[o + 2 * k + 1] as f64 - (x1 * c + x0 * sn)).abs() <= 2.0 * BF16_HALF_ULP);
            }
        }
    }
    // Decode mode rejects interleaved inputs, as TT-NN does.
    assert!(ops::rotary_embedding_llama(&tx, &tc, &ts, &tt, true, &DRAM, &hifi4(true)).is_err());
}

fn attention_ref(
    q: &[f32],
    k: &[f32],
    v: &[f32],
    d: usize,
    rows: &[usize],
    keys: usize,
    visible: impl Fn(usize) -> usize,
) -> Vec<f64> {
    // q rows (indices into q), k/v [keys, d]; row i sees keys 0..=visible(i).
    let mut out = vec![];
    for (i, &qi) in rows.iter().enumerate() {
        let last = visible(i).min(keys - 1);
        let sc: Vec<f64> = (0..=last)
            .map(|j| (0..d).map(|t| q[qi * d + t] as f64 * k[j * d + t] as f64).sum::<f64>() / (d as f64).sqrt())
            .collect();
        let m = sc.iter().cloned().fold(f64::MIN, f64::max);
        let z: f64 = sc.iter().map(|s| (s - m).exp()).sum();
        for t in 0..d {
            out.push((0..=last).map(|j| (sc[j] - m).exp() / z * v[j * d + t] as f64).sum::<f64>());
        }
    }
    out
}

#[test]
#[allow(clippy::needless_range_loop)] // indices mirror the reference formula's
fn sdpa_prefill_causal_gqa_and_decode() {
    let dev = device();
    let (nq, nkv, s, d) = (4u32, 2u32, 128u32, 64u32);
    let mut r = Rng(6);
    let q = bf16v(&r.vec((nq * s * d) as usize));
    let k = bf16v(&r.vec((nkv * s * d) as usize));
    let v = bf16v(&r.vec((nkv * s * d) as usize));
    let (tq, tk, tv) = (
        up(&dev, &q, &[1, nq, s, d], DataType::Bfloat16),
        up(&dev, &k, &[1, nkv, s, d], DataType::Bfloat16),
        up(&dev, &v, &[1, nkv, s, d], DataType::Bfloat16),
    );
    let got =
        ops::scaled_dot_product_attention(&tq, &tk, &tv, None, true, None, &sdpa_cfg(64, 32), &DRAM, &hifi4(true))
            .unwrap()
            .to_f32()
            .unwrap();
    // Scores and probabilities are rounded to bf16 in the kernel's intermediate CBs and the output
    // once more: a few bf16 roundings on values bounded by max|v| <= 1 => 4 * 2^-8 absolute.
    for h in 0..nq as usize {
        let g = h / (nq / nkv) as usize;
        let rows: Vec<usize> = (0..s as usize).map(|i| h * s as usize + i).collect();
        let kk = &k[g * (s * d) as usize..(g + 1) * (s * d) as usize];
        let vv = &v[g * (s * d) as usize..(g + 1) * (s * d) as usize];
        let want = attention_ref(&q, kk, vv, d as usize, &rows, s as usize, |i| i);
        assert_close(
            &got[h * (s * d) as usize..(h + 1) * (s * d) as usize],
            &want,
            0.0,
            4.0 * BF16_HALF_ULP,
            "sdpa prefill",
        );
    }

    // Decode: q [1, users, nq, d], caches [users, nkv, max_seq, d], one position per user.
    let (users, max_s) = (2u32, 96u32);
    let qd = bf16v(&r.vec((users * nq * d) as usize));
    let kc = bf16v(&r.vec((users * nkv * max_s * d) as usize));
    let vc = bf16v(&r.vec((users * nkv * max_s * d) as usize));
    let cur = [10u32, 70];
    let (tqd, tkc, tvc) = (
        up(&dev, &qd, &[1, users, nq, d], DataType::Bfloat16),
        up(&dev, &kc, &[users, nkv, max_s, d], DataType::Bfloat16),
        up(&dev, &vc, &[users, nkv, max_s, d], DataType::Bfloat16),
    );
    let got =
        ops::scaled_dot_product_attention_decode(&tqd, &tkc, &tvc, &cur, None, &sdpa_cfg(0, 32), &DRAM, &hifi4(true))
            .unwrap()
            .to_f32()
            .unwrap();
    for u in 0..users as usize {
        for h in 0..nq as usize {
            let g = h / (nq / nkv) as usize;
            let off = (u * nkv as usize + g) * (max_s * d) as usize;
            let kk = &kc[off..off + (max_s * d) as usize];
            let vv = &vc[off..off + (max_s * d) as usize];
            let row = u * nq as usize + h;
            let want = attention_ref(&qd, kk, vv, d as usize, &[row], max_s as usize, |_| cur[u] as usize);
            assert_close(
                &got[row * d as usize..(row + 1) * d as usize],
                &want,
                0.0,
                4.0 * BF16_HALF_ULP,
                "sdpa decode",
            );
        }
    }
}

#[test]
fn kv_cache_update_fill_and_per_user() {
    let dev = device();
    let (b, h, s, d) = (2u32, 2u32, 64u32, 32u32);
    let mut cache = up(&dev, &vec![0.0; (b * h * s * d) as usize], &[b, h, s, d], DataType::Bfloat16);
    let fill = bf16v(&Rng(7).vec((h * 32 * d) as usize));
    ops::fill_cache(&mut cache, &up(&dev, &fill, &[1, h, 32, d], DataType::Bfloat16), 1, 32).unwrap();
    let upd = bf16v(&Rng(8).vec((h * b * d) as usize));
    ops::update_cache(&mut cache, &up(&dev, &upd, &[1, h, b, d], DataType::Bfloat16), 3, 0).unwrap();
    let per = bf16v(&Rng(9).vec((b * h * d) as usize));
    let per_t = Tensor::from_f32(
        &dev,
        &per,
        &[1, b, h, d],
        DataType::Bfloat16,
        Layout::Tile,
        &sharded(TensorMemoryLayout::HeightSharded, BufferType::L1, (8, 8), b, [32, d]),
    )
    .unwrap();
    ops::paged_update_cache(&mut cache, &per_t, &[5, 20]).unwrap();
    let c = cache.to_f32().unwrap();
    let at = |bi: u32, hi: u32, si: u32| ((bi * h + hi) * s + si) as usize * d as usize;
    for hi in 0..h {
        for si in 0..32 {
            assert_eq!(
                &c[at(1, hi, 32 + si)..at(1, hi, 32 + si) + d as usize],
                &fill[((hi * 32 + si) * d) as usize..((hi * 32 + si + 1) * d) as usize]
            );
        }
        for bi in 0..b {
            assert_eq!(
                &c[at(bi, hi, 3)..at(bi, hi, 3) + d as usize],
                &upd[((hi * b + bi) * d) as usize..((hi * b + bi + 1) * d) as usize]
            );
            let p = [5, 20][bi as usize];
            assert_eq!(
                &c[at(bi, hi, p)..at(bi, hi, p) + d as usize],
                &per[((bi * h + hi) * d) as usize..((bi * h + hi + 1) * d) as usize]
            );
        }
    }
    assert!(c[at(0, 0, 0)..at(0, 0, 1)].iter().all(|&x| x == 0.0));
    assert!(ops::update_cache(&mut cache, &up(&dev, &upd, &[1, h, b, d], DataType::Bfloat16), 64, 0).is_err());
}

#[test]
fn create_and_concat_heads_prefill_and_decode() {
    let dev = device();
    let (b, s, nq, nkv, d) = (1u32, 32u32, 4u32, 2u32, 32u32);
    let w = (nq + 2 * nkv) * d;
    let x = bf16v(&Rng(10).vec((b * s * w) as usize));
    let tx = up(&dev, &x, &[b, 1, s, w], DataType::Bfloat16);
    let (q, k, v) = ops::nlp_create_qkv_heads(&tx, nq, nkv, true, &DRAM).unwrap();
    assert_eq!((q.shape(), k.shape(), v.shape()), (vec![b, nq, s, d], vec![b, nkv, d, s], vec![b, nkv, s, d]));
    let (qv, kv, vv) = (q.to_f32().unwrap(), k.to_f32().unwrap(), v.to_f32().unwrap());
    for si in 0..s as usize {
        for t in 0..d as usize {
            for h in 0..nq as usize {
                assert_eq!(qv[(h * s as usize + si) * d as usize + t], x[si * w as usize + h * d as usize + t]);
            }
            for h in 0..nkv as usize {
                assert_eq!(
                    kv[(h * d as usize + t) * s as usize + si],
                    x[si * w as usize + (nq as usize + h) * d as usize + t]
                );
                assert_eq!(
                    vv[(h * s as usize + si) * d as usize + t],
                    x[si * w as usize + (nq + nkv) as usize * d as usize + h * d as usize + t]
                );
            }
        }
    }
    let cat = ops::nlp_concat_heads(&q, &DRAM).unwrap();
    assert_eq!(cat.shape(), vec![b, 1, s, nq * d]);
    let cv = cat.to_f32().unwrap();
    for si in 0..s as usize {
        assert_eq!(
            &cv[si * (nq * d) as usize..(si + 1) * (nq * d) as usize],
            &x[si * w as usize..si * w as usize + (nq * d) as usize]
        );
    }
    // Decode: [1, 1, users, w] -> [1, users, nq, d] HEIGHT_SHARDED, one [32, d] shard per user.
    let users = 3u32;
    let xd = bf16v(&Rng(11).vec((users * w) as usize));
    let (qd, kd, _vd) =
        ops::nlp_create_qkv_heads_decode(&up(&dev, &xd, &[1, 1, users, w], DataType::Bfloat16), nq, nkv).unwrap();
    assert_eq!(qd.shape(), vec![1, users, nq, d]);
    assert_eq!(qd.shards().len(), users as usize);
    assert_eq!(qd.memory_config().memory_layout, TensorMemoryLayout::HeightSharded);
    let kdv = kd.to_f32().unwrap();
    for u in 0..users as usize {
        for h in 0..nkv as usize {
            assert_eq!(
                &kdv[(u * nkv as usize + h) * d as usize..][..d as usize],
                &xd[u * w as usize + (nq as usize + h) * d as usize..][..d as usize]
            );
        }
        // The user's shard holds its heads in rows 0..nq of a [32, d] buffer (padding zero).
        let sh = qd.shard_values(u as u32).unwrap();
        assert_eq!(&sh[..(nq * d) as usize], &xd[u * w as usize..u * w as usize + (nq * d) as usize]);
        assert!(sh[(nq * d) as usize..].iter().all(|&z| z == 0.0));
    }
    let cd = ops::nlp_concat_heads_decode(&qd, nq).unwrap();
    assert_eq!(cd.shape(), vec![1, 1, users, nq * d]);
    assert_eq!(cd.shards().len(), nq as usize);
    let cdv = cd.to_f32().unwrap();
    for u in 0..users as usize {
        assert_eq!(
            &cdv[u * (nq * d) as usize..(u + 1) * (nq * d) as usize],
            &xd[u * w as usize..u * w as usize + (nq * d) as usize]
        );
    }
}

#[test]
fn typecast_layout_and_sharding_move_data() {
    let dev = device();
    let (h, w) = (64u32, 64u32);
    let x: Vec<f32> = (0..h * w).map(|i| (i as f32) * 0.37 - 100.0).collect();
    let t = Tensor::from_f32(&dev, &x, &[h, w], DataType::Float32, Layout::Tile, &DRAM).unwrap();
    // typecast to bf16 = RNE of each value (reference: common::bf16).
    let tb = ops::typecast(&t, DataType::Bfloat16, &DRAM).unwrap();
    assert_eq!(tb.to_f32().unwrap(), bf16v(&x));
    // Untilize: the row-major pages are rows, two bf16 per word (first value low half).
    let rm = ops::to_layout(&tb, Layout::RowMajor, DataType::Bfloat16, &DRAM).unwrap();
    let words = rm.raw_words().unwrap();
    let bits = |v: f32| v.to_bits() >> 16;
    assert_eq!(words[0], bits(bf16(x[0])) | (bits(bf16(x[1])) << 16));
    // Tilize: tile 0 face 0 row 0 first, then face 0 row 1 (element (1, 0)) after 16 values;
    // face 1 (columns 16..31) starts after 256 values (128 words).
    let tl = ops::to_layout(&rm, Layout::Tile, DataType::Bfloat16, &DRAM).unwrap();
    let tw = tl.raw_words().unwrap();
    assert_eq!(tw[8] & 0xFFFF, bits(bf16(x[w as usize])));
    assert_eq!(tw[128] & 0xFFFF, bits(bf16(x[16])));
    assert!(ops::to_layout(&tb, Layout::RowMajor, DataType::Bfloat8B, &DRAM).is_err());

    // Height-sharded in L1 on 2 cores ([32, 64] shards), width-sharded, block-sharded 2x2, back.
    let hs = sharded(TensorMemoryLayout::HeightSharded, BufferType::L1, (8, 8), 2, [32, 64]);
    let ths = ops::to_memory_config(&tb, &hs).unwrap();
    let sh = ths.shards();
    assert_eq!((sh.len(), sh[1].core_x, sh[1].core_y, sh[1].row0), (2, 1, 0, 32));
    assert_eq!(ths.shard_values(1).unwrap()[..64], bf16v(&x[32 * 64..33 * 64]));
    let bs = sharded(TensorMemoryLayout::BlockSharded, BufferType::L1, (2, 2), 4, [32, 32]);
    let tbs = ops::to_memory_config(&ths, &bs).unwrap();
    let s3 = tbs.shards()[3];
    assert_eq!((s3.core_x, s3.core_y, s3.row0, s3.col0), (1, 1, 32, 32));
    assert_eq!(tbs.shard_values(3).unwrap()[0], bf16(x[32 * 64 + 32]));
    let ws = sharded(TensorMemoryLayout::WidthSharded, BufferType::Dram, (12, 1), 2, [64, 32]);
    let back = ops::to_memory_config(&ops::to_memory_config(&tbs, &ws).unwrap(), &DRAM).unwrap();
    assert!(back.shards().is_empty());
    assert_eq!(back.to_f32().unwrap(), bf16v(&x));
}

#[test]
fn slice_takes_the_sub_tensor() {
    let device = device();
    let (b, s, w) = (2u32, 64u32, 96u32);
    let data: Vec<f32> = (0..b * s * w).map(|i| (i % 251) as f32).collect();
    let x = Tensor::from_f32(
        &device,
        &data,
        &[1, b, s, w],
        DataType::Float32,
        Layout::Tile,
        &MemoryConfig::DRAM_INTERLEAVED,
    )
    .unwrap();
    let y = ops::slice(&x, &[0, 1, s - 1, 32], &[1, 2, s, 96], &MemoryConfig::DRAM_INTERLEAVED).unwrap();
    assert_eq!(y.shape(), vec![1, 1, 1, 64]);
    let want: Vec<f32> = (32..96).map(|c| data[((s + (s - 1)) * w + c) as usize]).collect();
    assert_eq!(y.to_f32().unwrap(), want);
    let err = ops::slice(&x, &[0, 0, 0, 0], &[1, 3, 1, 1], &MemoryConfig::DRAM_INTERLEAVED).unwrap_err();
    assert_eq!(err.to_string(), "slice: Slice range [0, 3) of dim 1 is empty or outside its size 2");
}

#[test]
fn reshape_keeps_values_and_checks_volume() {
    let device = device();
    let data: Vec<f32> = (0..2 * 64).map(|i| i as f32).collect();
    let x =
        Tensor::from_f32(&device, &data, &[2, 64], DataType::Float32, Layout::Tile, &MemoryConfig::DRAM_INTERLEAVED)
            .unwrap();
    let y = ops::reshape(&x, &[1, 1, 2, 64], &MemoryConfig::DRAM_INTERLEAVED).unwrap();
    assert_eq!((y.shape(), y.to_f32().unwrap()), (vec![1, 1, 2, 64], data));
    let err = ops::reshape(&x, &[1, 3, 64], &MemoryConfig::DRAM_INTERLEAVED).unwrap_err();
    assert!(err.to_string().starts_with("reshape: Invalid arguments to reshape"), "{err}");
}

#[test]
fn zeros_creates_a_tensor_without_an_upload() {
    let dev = device();
    let t = Tensor::zeros(&dev, &[2, 2, 64, 64], DataType::Bfloat8B, Layout::Tile, &DRAM).unwrap();
    assert_eq!((t.shape(), t.dtype(), t.layout()), (vec![2, 2, 64, 64], DataType::Bfloat8B, Layout::Tile));
    assert!(t.to_f32().unwrap().iter().all(|&v| v == 0.0));
    // The cache ops write into it like into an uploaded tensor.
    let mut cache = Tensor::zeros(&dev, &[1, 1, 64, 32], DataType::Bfloat16, Layout::Tile, &DRAM).unwrap();
    let rows = bf16v(&Rng(9).vec(32 * 32));
    let x = Tensor::from_f32(&dev, &rows, &[1, 1, 32, 32], DataType::Bfloat16, Layout::Tile, &DRAM).unwrap();
    ops::fill_cache(&mut cache, &x, 0, 32).unwrap();
    let back = cache.to_f32().unwrap();
    assert!(back[..32 * 32].iter().all(|&v| v == 0.0));
    assert_eq!(&back[32 * 32..], &rows[..]);
    // TT-NN's rules hold as for uploads: block floats only in TILE layout.
    let e = Tensor::zeros(&dev, &[32, 32], DataType::Bfloat4B, Layout::RowMajor, &DRAM).unwrap_err().to_string();
    assert!(e.contains("must be in TILE layout"), "{e}");
}

/// `rms_norm`'s program config is checked against its input as TT-NN checks it, and the variants
/// whose numerics the host does not model are refused rather than ignored.
#[test]
fn rms_norm_program_config_is_checked() {
    let dev = device();
    let mut r = Rng(5);
    let (h, w) = (32u32, 128u32);
    let tx = up(&dev, &bf16v(&r.vec((h * w) as usize)), &[h, w], DataType::Bfloat16);
    let tg = up(&dev, &bf16v(&r.vec(w as usize)), &[1, w], DataType::Bfloat16);
    let cc = hifi4(true);
    let default = LayerNormProgramConfig::Default(LayerNormDefaultProgramConfig::default());
    assert!(ops::rms_norm(&tx, 1e-5, &tg, &default, &DRAM, &cc).is_ok());
    let welford =
        LayerNormProgramConfig::Default(LayerNormDefaultProgramConfig { use_welford: true, ..Default::default() });
    let e = ops::rms_norm(&tx, 1e-5, &tg, &welford, &DRAM, &cc).unwrap_err().to_string();
    assert!(e.contains("Welford"), "{e}");
    let sharded = LayerNormProgramConfig::Sharded(LayerNormShardedMultiCoreProgramConfig {
        compute_with_storage_grid_size: CoreCoord::new(8, 8),
        subblock_w: 1,
        block_h: 1,
        block_w: 1,
        inplace: false,
        legacy_reduction: false,
        legacy_rsqrt: false,
        use_welford: false,
    });
    let e = ops::rms_norm(&tx, 1e-5, &tg, &sharded, &DRAM, &cc).unwrap_err().to_string();
    assert!(e.contains("L1-sharded input"), "{e}");
    // Sharded over 4 cores (K = 4 tiles): block_w must be 1; 2 is refused.
    let mc = MemoryConfig::sharded(
        TensorMemoryLayout::WidthSharded,
        BufferType::L1,
        ShardSpec {
            grid: ShardGrid::row_wise(4, CoreCoord::new(8, 8)),
            shape: [32, 32],
            orientation: ShardOrientation::RowMajor,
        },
    );
    let xs = ops::to_memory_config(&tx, &mc).unwrap();
    assert!(ops::rms_norm(&xs, 1e-5, &tg, &sharded, &mc, &cc).is_ok());
    let LayerNormProgramConfig::Sharded(s) = sharded else { unreachable!() };
    let wide =
        LayerNormProgramConfig::Sharded(LayerNormShardedMultiCoreProgramConfig { block_w: 2, subblock_w: 2, ..s });
    let e = ops::rms_norm(&xs, 1e-5, &tg, &wide, &mc, &cc).unwrap_err().to_string();
    assert!(e.contains("block_w (2)"), "{e}");
}
