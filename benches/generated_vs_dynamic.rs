//! The generated program against the dynamic baseline (`tttv2::dynamic`: the same model
//! planned at start-up by the same planner and interpreted op by op), side by side in one run on
//! the host backend: start-up (planning), load, prefill and decode step times, and a check that
//! both compute the same logits bit for bit.
//!
//! `cargo bench --bench generated_vs_dynamic` (Llama-3.2-1B shapes, synthetic F32 checkpoint,
//! policy performance, decode batch 1 with a 256-position cache; env `TTTV2_BENCH_STEPS`, default
//! 16). The two run alternately, step by step, so drift in the machine's load hits both alike.
//!
//! On the host backend the arithmetic dominates every op; what generation removes is host work
//! per op (config lookup, dispatch on the op kind, tensor lookup by name), which this run bounds
//! rather than isolates: isolating it needs a dispatch-only backend (issue 20, not done).

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::Instant;

use support::llama_ref::{TempDir, TinyLlamaSpec, write_checkpoint};
use tttv2::device::SystemProfile;
use tttv2::dynamic::DynamicLlama;
use tttv2::hf::LlamaConfig;
use tttv2::nn::SafetensorsWeights;
use tttv2::plan::Mode;
use tttv2::plan::llama::LlamaOptions;
use tttv2::{Device, ttt_model};

const CONFIG: &str = "benches/models/llama-3.2-1b-shapes/config.json";

#[ttt_model(
    device = "wormhole_b0",
    config = "benches/models/llama-3.2-1b-shapes/config.json",
    mode = "decode",
    batch = 1,
    seq_len = 256,
    policy = "performance"
)]
pub struct Llama1B;

const PREFILL: usize = 128;
const PROMPT: usize = 16;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 { v[n / 2] } else { (v[n / 2 - 1] + v[n / 2]) / 2.0 }
}

fn argmax(v: &[f32]) -> u32 {
    v.iter().enumerate().fold((0, f32::NEG_INFINITY), |b, (i, &x)| if x > b.1 { (i, x) } else { b }).0 as u32
}

fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    if std::env::args().skip(1).any(|a| !a.starts_with("--") && a != "generated_vs_dynamic") {
        return Ok(());
    }
    let steps: usize = std::env::var("TTTV2_BENCH_STEPS").ok().and_then(|s| s.parse().ok()).unwrap_or(16);
    let spec = TinyLlamaSpec::llama_3_2_1b();
    let dir = TempDir::new("bench-gen-dyn")?;
    write_checkpoint(dir.path(), &spec, 1)?;
    let weights = SafetensorsWeights::open(dir.path())?;
    let device = Device::open(&llama1_b_plan::DEVICE)?;

    // Start-up: the generated program was planned by the compiler; the dynamic one plans now.
    let t = Instant::now();
    let cfg = LlamaConfig::from_file(CONFIG)?;
    let mut opts = LlamaOptions::new(Mode::Decode, 1);
    opts.seq_len = 256;
    let program = DynamicLlama::plan(&cfg, &SystemProfile::N150, &opts)?;
    let plan_s = t.elapsed().as_secs_f64();

    let t = Instant::now();
    let mut generated = Llama1B::load(&device, &weights)?;
    let gen_load = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let mut dynamic = DynamicLlama::load(&device, program, &weights)?;
    let dyn_load = t.elapsed().as_secs_f64();

    let vocab = spec.vocab as u32;
    let tokens: Vec<u32> = (0..PREFILL as u32).map(|t| (t * 7919 + 13) % vocab).collect();
    let (mut gp, mut dp) = (Vec::new(), Vec::new());
    for _ in 0..2 {
        let t = Instant::now();
        let g = generated.prefill(&device, 0, &tokens)?;
        gp.push(t.elapsed().as_secs_f64());
        let t = Instant::now();
        let d = dynamic.prefill(&device, 0, &tokens)?;
        dp.push(t.elapsed().as_secs_f64());
        assert_eq!(bits(&g), bits(&d), "prefill logits differ");
    }
    let g = generated.prefill(&device, 0, &tokens[..PROMPT])?;
    let d = dynamic.prefill(&device, 0, &tokens[..PROMPT])?;
    assert_eq!(bits(&g), bits(&d));
    let mut next = argmax(&g);
    let (mut gs, mut ds) = (Vec::new(), Vec::new());
    for k in 0..steps {
        let pos = [(PROMPT + k) as u32];
        let t = Instant::now();
        let g = generated.decode(&device, &[next], &pos)?;
        gs.push(t.elapsed().as_secs_f64());
        let t = Instant::now();
        let d = dynamic.decode(&device, &[next], &pos)?;
        ds.push(t.elapsed().as_secs_f64());
        assert_eq!(bits(&g[0]), bits(&d[0]), "decode step {k}: logits differ");
        next = argmax(&g[0]);
    }
    let (gp, dp, gs, ds) = (median(gp), median(dp), median(gs), median(ds));
    println!(
        "Llama-3.2-1B shapes, host backend, {} threads; logits bit-identical in every call",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    println!("| | generated | dynamic | dynamic / generated |");
    println!("|---|---|---|---|");
    println!("| planning at start-up | 0 (compile time) | {:.1} ms | |", plan_s * 1e3);
    println!("| load | {gen_load:.1} s | {dyn_load:.1} s | {:.3}x |", dyn_load / gen_load);
    println!("| prefill, {PREFILL} tokens, median of 2 | {:.3} s | {:.3} s | {:.3}x |", gp, dp, dp / gp);
    println!("| decode step, median of {steps} | {:.1} ms | {:.1} ms | {:.3}x |", gs * 1e3, ds * 1e3, ds / gs);
    Ok(())
}
