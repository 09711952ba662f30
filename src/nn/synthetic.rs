/// `len` deterministic values uniform in `[-scale, scale)`, from a 64-bit LCG (Knuth's MMIX
/// constants) seeded with `seed`: synthetic weights and inputs that are the same on every machine,
/// for examples and tests that must not download a checkpoint.
pub fn synthetic(len: usize, seed: u64, scale: f32) -> Vec<f32> {
    let mut s = seed;
    (0..len)
        .map(|_| {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((s >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0) * scale
        })
        .collect()
}
