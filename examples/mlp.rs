//! A two-layer MLP declared with `#[ttt_model]`, planned for a Wormhole B0 n150 at compile time
//! and run on the host backend with deterministic synthetic weights.
//!
//! `cargo run --release --example mlp`

use tttv2::nn::{Weights, synthetic};
use tttv2::{Device, ttt_model};

/// Up-projection with a fused SiLU, then down-projection.
#[ttt_model(device = "wormhole_b0", batch = 32)]
pub struct Mlp {
    #[linear(in = 1024, out = 4096, activation = "silu", bias = true)]
    up: Linear,
    #[linear(in = 4096, out = 1024)]
    down: Linear,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("tttv2 MLP on the {} backend", Device::backend());
    println!("\nconfigs chosen at compile time for {}:", mlp_plan::DEVICE.name);
    for (name, cfg) in [("up", mlp_plan::UP), ("down", mlp_plan::DOWN)] {
        println!("  {name}: [{}, {}] x [{}, {}]", cfg.m, cfg.k, cfg.k, cfg.n);
        println!("    program_config: {}", serde_json::to_string(&cfg.program_config)?);
        println!("    compute_kernel_config: {}", serde_json::to_string(&cfg.compute_kernel_config)?);
        println!("    weight dtype: {}, output dtype: {}", cfg.weight_dtype.ttnn_name(), cfg.dtype.ttnn_name());
    }

    let device = Device::open(&mlp_plan::DEVICE)?;
    let mut weights = Weights::new();
    weights
        .insert("up.weight", vec![4096, 1024], synthetic(4096 * 1024, 1, 0.03))
        .insert("up.bias", vec![4096], synthetic(4096, 2, 0.1))
        .insert("down.weight", vec![1024, 4096], synthetic(1024 * 4096, 3, 0.015));
    let mlp = Mlp::load(&device, &weights)?;

    let x = Mlp::input(&device, &synthetic(32 * 1024, 4, 1.0))?;
    let start = std::time::Instant::now();
    let y = mlp.forward(&x)?;
    let elapsed = start.elapsed();
    let out = y.to_f32()?;
    println!("\noutput {:?} ({:?}), forward took {:.2?} on the host", y.shape(), y.dtype(), elapsed);
    println!("first row: {:?}", &out[..8]);
    let mean_abs = out.iter().map(|v| v.abs()).sum::<f32>() / out.len() as f32;
    println!("mean |y| = {mean_abs:.5}");
    Ok(())
}
