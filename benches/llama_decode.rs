//! Llama-3.2-1B shapes on the host backend against candle-transformers' Llama (CPU, F32), on the
//! same deterministic random checkpoint, in one run: prefill and decode tokens/s.
//!
//! `cargo bench --bench llama_decode` (env: `TTTV2_BENCH_POLICY` — `performance` (default) or
//! `accuracy`).
//!
//! The model is declared with `#[ttt_model]` from `benches/models/llama-3.2-1b-shapes/config.json`
//! (`TinyLlamaSpec::llama_3_2_1b()`'s config: Llama-3.2-1B's shapes, 16 layers, plain RoPE), decode
//! batch 1 with a 256-position cache and prefill buckets of 128 and 256 tokens: the generated
//! program, one weight copy.
//!
//! Protocol: both sides load the same safetensors file. Prefill: a 128-token prompt, 2 runs each,
//! median. Decode: a 16-token prompt (one prefill on each side), then 16 single-token steps at
//! positions 16..32 with the KV cache, median step time.

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::Instant;

use support::llama_ref::{CandleLlama, TempDir, TinyLlamaSpec, write_checkpoint};
use tttv2::nn::{CausalLm, SafetensorsWeights};
use tttv2::{Device, ttt_model};

#[ttt_model(
    device = "wormhole_b0",
    config = "benches/models/llama-3.2-1b-shapes/config.json",
    mode = "decode",
    batch = 1,
    seq_len = 256,
    policy = "performance"
)]
pub struct Llama1BPerformance;

#[ttt_model(
    device = "wormhole_b0",
    config = "benches/models/llama-3.2-1b-shapes/config.json",
    mode = "decode",
    batch = 1,
    seq_len = 256,
    policy = "accuracy"
)]
pub struct Llama1BAccuracy;

const PREFILL: usize = 128;
const PROMPT: usize = 16;
const STEPS: usize = 16;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 { v[n / 2] } else { (v[n / 2 - 1] + v[n / 2]) / 2.0 }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // `cargo bench` passes `--bench`; a filter argument other than ours means "not this bench".
    if std::env::args().skip(1).any(|a| !a.starts_with("--") && a != "llama_decode") {
        return Ok(());
    }
    let policy = std::env::var("TTTV2_BENCH_POLICY").unwrap_or_else(|_| "performance".into());
    let spec = TinyLlamaSpec::llama_3_2_1b();
    let layers = spec.layers;
    let declared: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string("benches/models/llama-3.2-1b-shapes/config.json")?)?;
    assert_eq!(declared, spec.config_json(), "the declared config is the checkpoint's");
    let dir = TempDir::new("bench-1b")?;
    let t = Instant::now();
    write_checkpoint(dir.path(), &spec, 1)?;
    eprintln!("checkpoint (Llama-3.2-1B shapes, {layers} layers, F32) written in {:.1?}", t.elapsed());
    let vocab = spec.vocab as u32;
    let tokens: Vec<u32> = (0..PREFILL as u32).map(|t| (t * 7919 + 13) % vocab).collect();
    let device = Device::open(&llama1_b_performance_plan::DEVICE)?;
    let weights = SafetensorsWeights::open(dir.path())?;

    let t = Instant::now();
    let mut ours: Box<dyn CausalLm> = match policy.as_str() {
        "accuracy" => Box::new(Llama1BAccuracy::load(&device, &weights)?),
        _ => Box::new(Llama1BPerformance::load(&device, &weights)?),
    };
    eprintln!("tttv2 model loaded in {:.1?}", t.elapsed());
    let ours_prefill = median(
        (0..2)
            .map(|_| {
                let t = Instant::now();
                ours.prefill(&device, 0, &tokens).expect("prefill");
                t.elapsed().as_secs_f64()
            })
            .collect(),
    );
    let mut next = argmax(&ours.prefill(&device, 0, &tokens[..PROMPT])?);
    let mut ours_steps = Vec::new();
    for k in 0..STEPS {
        let t = Instant::now();
        next = argmax(&ours.decode(&device, &[next], &[(PROMPT + k) as u32])?[0]);
        ours_steps.push(t.elapsed().as_secs_f64());
    }
    drop(ours);

    // candle.
    let t = Instant::now();
    let candle = CandleLlama::load(dir.path())?;
    eprintln!("candle model loaded in {:.1?}", t.elapsed());
    let candle_prefill = median(
        (0..2)
            .map(|_| {
                let mut cache = candle.new_cache().expect("cache");
                let t = Instant::now();
                candle.forward(&tokens, 0, &mut cache).expect("candle prefill");
                t.elapsed().as_secs_f64()
            })
            .collect(),
    );
    let mut cache = candle.new_cache()?;
    let mut next = argmax(&candle.forward(&tokens[..PROMPT], 0, &mut cache)?);
    let mut candle_steps = Vec::new();
    for k in 0..STEPS {
        let t = Instant::now();
        next = argmax(&candle.forward(&[next], PROMPT + k, &mut cache)?);
        candle_steps.push(t.elapsed().as_secs_f64());
    }

    let (od, cd) = (median(ours_steps), median(candle_steps));
    println!(
        "Llama-3.2-1B shapes ({layers} layers), policy {policy}, {} threads",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    println!("| | tttv2 host | candle CPU F32 | tttv2 / candle |");
    println!("|---|---|---|---|");
    println!(
        "| prefill, {PREFILL} tokens | {:.1} tokens/s ({:.2} s) | {:.1} tokens/s ({:.2} s) | {:.2}x |",
        PREFILL as f64 / ours_prefill,
        ours_prefill,
        PREFILL as f64 / candle_prefill,
        candle_prefill,
        candle_prefill / ours_prefill
    );
    println!(
        "| decode, batch 1, median of {STEPS} steps | {:.2} tokens/s ({:.0} ms) | {:.2} tokens/s ({:.0} ms) | {:.2}x |",
        1.0 / od,
        od * 1e3,
        1.0 / cd,
        cd * 1e3,
        cd / od
    );
    Ok(())
}

fn argmax(v: &[f32]) -> u32 {
    v.iter().enumerate().fold((0, f32::NEG_INFINITY), |b, (i, &x)| if x > b.1 { (i, x) } else { b }).0 as u32
}
