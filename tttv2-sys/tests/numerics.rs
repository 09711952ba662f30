//! TT numerics through the bridge: bfp8_b / bfp4_b byte layout against known words, pack->unpack
//! on random and adversarial tiles, bf16 round-to-nearest-even known values.
//!
//! inf/NaN policy (tt-metal's, copied bit for bit; cpp/host/README.md): a row (16 values) holding
//! inf/NaN gets shared exponent 255; ±inf round-trips; a NaN whose top mantissa bits survive stays
//! NaN; every finite value in that row becomes 0. Zeros and denormals encode as code 0 (flushed).
mod common;
use common::*;
use tttv2_core::ttnn::*;
use tttv2_sys::{Tensor, ops::diag};

fn tile_with_row0(vals: &[f32]) -> Vec<f32> {
    let mut t = vec![0.0f32; 1024];
    t[..vals.len()].copy_from_slice(vals);
    t
}

#[test]
fn bfp8_and_bfp4_known_words() {
    let t = tile_with_row0(&[1.0, 0.5, -0.25, 0.75]);
    let w8 = diag::pack_block_float(&t, 32, 32, DataType::Bfloat8B).unwrap();
    assert_eq!(w8.len(), 16 + 256, "1088 bytes per tile");
    // Exponent of face-0 row 0 is byte 0 of word 0 (= 127, the exponent of 1.0); other rows 0.
    assert_eq!(w8[0], 0x0000_007F);
    assert!(w8[1..16].iter().all(|&w| w == 0));
    // Mantissas: sign | 7 bits with the explicit leading one, first value in the low byte:
    // 1.0 -> 0x40, 0.5 -> 0x20, -0.25 -> 0x80|0x10, 0.75 (0.11b) -> 0x30.
    assert_eq!(w8[16], 0x3090_2040);
    let w4 = diag::pack_block_float(&t, 32, 32, DataType::Bfloat4B).unwrap();
    assert_eq!(w4.len(), 16 + 128, "576 bytes per tile");
    assert_eq!(w4[0], 0x7F);
    // bfp4: sign | 3 bits, 8 codes per word: 1.0 -> 4, 0.5 -> 2, -0.25 -> 8|1, 0.75 -> 3.
    assert_eq!(w4[16], 0x0000_3924);
    // Face 1 row 0 (columns 16..31 of row 0) is exponent row 16: byte 0 of word 4.
    let mut t2 = vec![0.0f32; 1024];
    t2[16] = 2.0;
    let w = diag::pack_block_float(&t2, 32, 32, DataType::Bfloat8B).unwrap();
    assert_eq!(w[4], 128);
}

#[test]
fn bfp_round_trip_random_tiles_within_half_ulp_of_the_shared_exponent() {
    let mut r = Rng(42);
    // 2x3 tiles with magnitudes spread over 2^-8..2^8 per row.
    let (rows, cols) = (64u32, 96u32);
    let data: Vec<f32> = (0..rows * cols).map(|_| r.f() * 2f32.powi((r.next_u64() % 17) as i32 - 8)).collect();
    for (dt, mant_bits) in [(DataType::Bfloat8B, 7), (DataType::Bfloat4B, 3)] {
        let w = diag::pack_block_float(&data, rows, cols, dt).unwrap();
        let back = diag::unpack_block_float(&w, rows, cols, dt).unwrap();
        // Each 16-value face row shares the exponent e of its largest value; the mantissa keeps
        // mant_bits bits including the leading one, so one step is 2^(e - mant_bits + 1); round-
        // to-nearest errs by half a step, saturation by at most one step.
        for row in 0..rows as usize {
            for seg in 0..(cols / 16) as usize {
                let vals = &data[row * cols as usize + seg * 16..][..16];
                let got = &back[row * cols as usize + seg * 16..][..16];
                let maxabs = vals.iter().fold(0f32, |m, v| m.max(v.abs()));
                let e = maxabs.log2().floor();
                let step = 2f32.powf(e - (mant_bits - 1) as f32);
                for i in 0..16 {
                    assert!((vals[i] - got[i]).abs() <= step, "{dt:?}: {} -> {} (step {step})", vals[i], got[i]);
                }
            }
        }
        // Re-packing the unpacked values is lossless (a fixed point).
        assert_eq!(diag::pack_block_float(&back, rows, cols, dt).unwrap(), w);
    }
}

#[test]
fn bfp_adversarial_tiles() {
    let dt = DataType::Bfloat8B;
    let rt = |v: &[f32]| {
        diag::unpack_block_float(&diag::pack_block_float(&tile_with_row0(v), 32, 32, dt).unwrap(), 32, 32, dt).unwrap()
    };
    // Zeros pack to all-zero words.
    assert!(diag::pack_block_float(&vec![0.0; 1024], 32, 32, dt).unwrap().iter().all(|&w| w == 0));
    // Denormals flush to zero.
    let den = f32::from_bits(0x0000_0100);
    assert_eq!(rt(&[den, -den])[..2], [0.0, 0.0]);
    // Mixed exponents: 2^-5 survives beside 1.0 (shift 5 < 7 bits), 2^-10 does not.
    assert_eq!(rt(&[1.0, 2f32.powi(-5), 2f32.powi(-10)])[..3], [1.0, 2f32.powi(-5), 0.0]);
    // -0 never appears: a value that rounds to zero encodes as +0.
    assert_eq!(rt(&[1.0, -2f32.powi(-10)])[1].to_bits(), 0);
    // inf/NaN policy.
    let back = rt(&[f32::INFINITY, f32::NEG_INFINITY, 3.0]);
    assert_eq!(back[0], f32::INFINITY);
    assert_eq!(back[1], f32::NEG_INFINITY);
    assert_eq!(back[2], 0.0, "finite values in an inf row are flushed");
    let back = rt(&[f32::from_bits(0x7FC0_0000), 1.0]);
    assert_eq!(back[0].to_bits(), 0x7FC0_0000);
    assert_eq!(back[1], 0.0);
    let back = rt(&[f32::from_bits(0x7F80_0001)]);
    assert_eq!(back[0], f32::INFINITY, "a NaN with only low payload bits becomes inf");
    // Rows are independent: row 1 of face 0 keeps its own exponent.
    let mut t = vec![0.0f32; 1024];
    t[0] = f32::INFINITY;
    t[32] = 0.375;
    let back = diag::unpack_block_float(&diag::pack_block_float(&t, 32, 32, dt).unwrap(), 32, 32, dt).unwrap();
    assert_eq!(back[32], 0.375);
}

#[test]
fn bf16_round_to_nearest_even_known_values() {
    let dev = device();
    let vals = [
        1.0f32 + 2f32.powi(-8),               // tie -> even (1.0)
        1.0 + 3.0 * 2f32.powi(-8),            // tie -> even (1 + 2^-6)
        1.0 + 2f32.powi(-8) + 2f32.powi(-20), // above the tie -> up
        f32::MAX,                             // overflows to +inf
        f32::NEG_INFINITY,
        f32::from_bits(0x7FA0_0001), // any NaN -> canonical 0x7FC0
    ];
    let t =
        Tensor::from_f32(&dev, &vals, &[1, 6], DataType::Bfloat16, Layout::RowMajor, &MemoryConfig::DRAM_INTERLEAVED)
            .unwrap();
    let w = t.raw_words().unwrap();
    let halves: Vec<u32> = w.iter().flat_map(|&x| [x & 0xFFFF, x >> 16]).collect();
    assert_eq!(halves, vec![0x3F80, 0x3F82, 0x3F81, 0x7F80, 0xFF80, 0x7FC0]);
}
