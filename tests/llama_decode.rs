//! Decode with a KV cache on the host backend, against candle-transformers' Llama (an independent
//! implementation) on the same deterministic random checkpoint.
//!
//! Bar (issue 6): greedy top-1 agreement ≥ 95 % over 64 decode steps, asserted under the
//! `accuracy` policy. Under `performance` (bfloat4_b MLP weights with LoFi, bfloat8_b KV cache)
//! random-weight logits are nearly flat, so close calls flip: that policy is held to logits
//! PCC ≥ 0.99 at every step and ≥ 75 % agreement, and its figure is reported. Agreement is measured
//! with teacher forcing: candle is fed the tokens tttv2 chose, so every step compares the two
//! implementations on the same history (a single early disagreement would otherwise make every
//! later step incomparable).

mod support;

use support::llama_ref::{TempDir, TinyLlamaSpec, argmax, candle_forced_logits, pcc, write_checkpoint};
use tttv2::nn::{CausalLm, SafetensorsWeights};
use tttv2::{Device, ttt_model};

fn spec() -> TinyLlamaSpec {
    TinyLlamaSpec::accuracy()
}

// The accuracy spec's model, compiled for each policy and batch the tests use: a 384-position
// KV cache, prefill buckets of 128 and 256 tokens (a 300-token prompt continues through decode).
#[ttt_model(
    device = "wormhole_b0",
    config = "tests/models/tiny-accuracy/config.json",
    mode = "decode",
    batch = 1,
    seq_len = 384,
    policy = "accuracy"
)]
pub struct AccuracyB1;
#[ttt_model(
    device = "wormhole_b0",
    config = "tests/models/tiny-accuracy/config.json",
    mode = "decode",
    batch = 1,
    seq_len = 384,
    policy = "performance"
)]
pub struct PerformanceB1;
#[ttt_model(
    device = "wormhole_b0",
    config = "tests/models/tiny-accuracy/config.json",
    mode = "decode",
    batch = 4,
    seq_len = 384,
    policy = "accuracy"
)]
pub struct AccuracyB4;
#[ttt_model(
    device = "wormhole_b0",
    config = "tests/models/tiny-accuracy/config.json",
    mode = "decode",
    batch = 2,
    seq_len = 384,
    policy = "accuracy"
)]
pub struct AccuracyB2;
#[ttt_model(
    device = "wormhole_b0",
    config = "tests/models/tiny-accuracy/config.json",
    mode = "decode",
    batch = 2,
    seq_len = 384,
    policy = "performance"
)]
pub struct PerformanceB2;

/// The committed config the models are declared from is the spec's.
#[test]
fn the_declared_config_is_the_spec() {
    let committed: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string("tests/models/tiny-accuracy/config.json").unwrap()).unwrap();
    assert_eq!(committed, spec().config_json());
}

fn open() -> Device {
    Device::open(&accuracy_b1_plan::DEVICE).unwrap()
}

fn prompt(len: u32, salt: u32) -> Vec<u32> {
    (0..len).map(|t| (t * 37 + 11 + salt * 101) % 512).collect()
}

/// Greedy: prefill, then `steps` decode steps; returns the chosen ids and the logits each came
/// from (element 0 from the prefill).
fn greedy(device: &Device, model: &mut dyn CausalLm, prompt: &[u32], steps: usize) -> (Vec<u32>, Vec<Vec<f32>>) {
    let mut logits = model.prefill(device, 0, prompt).unwrap();
    let (mut ids, mut all) = (Vec::new(), Vec::new());
    for k in 0..=steps {
        let next = argmax(&logits).unwrap();
        ids.push(next);
        all.push(logits);
        if k == steps {
            break;
        }
        logits = model.decode(device, &[next], &[(prompt.len() + k) as u32]).unwrap().remove(0);
    }
    (ids, all)
}

#[test]
fn greedy_decode_agrees_with_candle_over_64_steps() {
    let dir = TempDir::new("decode").unwrap();
    write_checkpoint(dir.path(), &spec(), 7).unwrap();
    let p = prompt(40, 0);
    let device = open();
    let w = SafetensorsWeights::open(dir.path()).unwrap();
    let mut accuracy = AccuracyB1::load(&device, &w).unwrap();
    let mut performance = PerformanceB1::load(&device, &w).unwrap();
    for (policy, bar, model) in
        [("accuracy", 0.95, &mut accuracy as &mut dyn CausalLm), ("performance", 0.75, &mut performance)]
    {
        let (ids, ours) = greedy(&device, model, &p, 64);
        // Candle sees the same history: the prompt, then our ids.
        let theirs = candle_forced_logits(dir.path(), &p, &ids[..64]);
        let agree = (1..=64).filter(|&k| argmax(&ours[k]) == argmax(&theirs[k])).count();
        let worst = (1..=64).map(|k| pcc(&ours[k], &theirs[k])).fold(1.0f64, f64::min);
        let rate = agree as f64 / 64.0;
        eprintln!(
            "{policy}: greedy top-1 agreement {agree}/64 = {:.1} %, worst decode-step logits PCC {worst:.6}",
            rate * 100.0
        );
        assert!(rate >= bar, "{policy}: top-1 agreement {rate} < {bar}");
        assert!(worst >= 0.99, "{policy}: a decode step's logits PCC is {worst}");
    }
}

#[test]
fn users_in_one_batch_are_independent_and_match_candle() {
    let dir = TempDir::new("decode-batch").unwrap();
    write_checkpoint(dir.path(), &spec(), 11).unwrap();
    let device = open();
    let mut model = AccuracyB4::load(&device, &SafetensorsWeights::open(dir.path()).unwrap()).unwrap();
    assert_eq!(model.batch(), 4);
    // Three users of four, prompts of different lengths (two prefill buckets), in one batch.
    let prompts = [prompt(20, 1), prompt(150, 2), prompt(7, 3)];
    let mut next: Vec<u32> = prompts
        .iter()
        .enumerate()
        .map(|(u, p)| argmax(&model.prefill(&device, u as u32, p).unwrap()).unwrap())
        .collect();
    let mut fed: Vec<Vec<u32>> = vec![Vec::new(); 3];
    let mut ours: Vec<Vec<Vec<f32>>> = vec![Vec::new(); 3];
    for step in 0..8 {
        let positions: Vec<u32> = prompts.iter().map(|p| (p.len() + step) as u32).collect();
        let logits = model.decode(&device, &next, &positions).unwrap();
        assert_eq!(logits.len(), 3);
        for u in 0..3 {
            fed[u].push(next[u]);
            next[u] = argmax(&logits[u]).unwrap();
            ours[u].push(logits[u].clone());
        }
    }
    for u in 0..3 {
        let theirs = candle_forced_logits(dir.path(), &prompts[u], &fed[u]);
        for (k, l) in ours[u].iter().enumerate() {
            let p = pcc(l, &theirs[k + 1]);
            assert!(p >= 0.999, "user {u} step {k}: PCC {p}");
            assert_eq!(argmax(l), argmax(&theirs[k + 1]), "user {u} step {k}");
        }
    }
}

/// Prefill buckets planned on the decode plan's weights add no weight upload: the generated struct
/// holds one tensor per weight, the size of the checkpoint's weights in the planned dtypes.
#[test]
fn prefill_buckets_share_the_decode_weights() {
    let dir = TempDir::new("decode-share").unwrap();
    write_checkpoint(dir.path(), &spec(), 5).unwrap();
    let device = open();
    let model = PerformanceB2::load(&device, &SafetensorsWeights::open(dir.path()).unwrap()).unwrap();
    let s = spec();
    let (h, i, q, kv, v) = (
        s.hidden as u64,
        s.intermediate as u64,
        (s.heads * s.head_dim) as u64,
        (s.kv_heads * s.head_dim) as u64,
        s.vocab as u64,
    );
    let matmul_values = s.layers as u64 * (h * (q + 2 * kv) + q * h + 3 * h * i) + h * v;
    // bfloat8_b / bfloat4_b matmul weights take at most ~1.06 bytes per value; the bf16 embedding
    // table and norms take 2. A second copy would add at least half a byte per matmul value.
    let one_copy_bound = (matmul_values as f64 * 1.07 + (v * h + (2 * s.layers as u64 + 1) * h) as f64 * 2.0) as u64;
    assert!(model.weight_bytes() <= one_copy_bound, "{} > {one_copy_bound}", model.weight_bytes());
    assert_eq!(performance_b2_plan::PREFILL_BUCKETS, [128, 256]);
}

#[test]
fn decode_rejects_what_the_plan_cannot_run() {
    let dir = TempDir::new("decode-errors").unwrap();
    write_checkpoint(dir.path(), &spec(), 3).unwrap();
    let device = open();
    let mut model = PerformanceB2::load(&device, &SafetensorsWeights::open(dir.path()).unwrap()).unwrap();
    let e = model.decode(&device, &[1, 2, 3], &[0, 0, 0]).unwrap_err().to_string();
    assert!(e.contains("1 to 2 users"), "{e}");
    let e = model.decode(&device, &[1], &[384]).unwrap_err().to_string();
    assert!(e.contains("beyond the KV cache of 384"), "{e}");
    let e = model.prefill(&device, 0, &prompt(257, 0)).unwrap_err().to_string();
    assert!(e.contains("1 to 256 tokens"), "{e}");
    let e = model.prefill(&device, 2, &prompt(5, 0)).unwrap_err().to_string();
    assert!(e.contains("outside the plan's batch of 2"), "{e}");
}

#[test]
fn generate_matches_stepwise_greedy_stops_on_eos_and_continues_long_prompts() {
    use tttv2::nn::generate::{GenerateOptions, Sampling, StopReason};
    let dir = TempDir::new("decode-generate").unwrap();
    write_checkpoint(dir.path(), &spec(), 5).unwrap();
    let device = open();
    let mut model = AccuracyB2::load(&device, &SafetensorsWeights::open(dir.path()).unwrap()).unwrap();
    let p = prompt(40, 4);
    let (ids, _) = greedy(&device, &mut model, &p, 8);
    let greedy_opts = |n, eos: Vec<u32>| GenerateOptions { max_new_tokens: n, sampling: Sampling::Greedy, eos };
    let mut seen = Vec::new();
    let g =
        model.generate(&device, std::slice::from_ref(&p), &greedy_opts(8, vec![]), |u, t| seen.push((u, t))).unwrap();
    assert_eq!(g.tokens[0], ids[..8]);
    assert_eq!(g.stops, [StopReason::MaxTokens]);
    assert_eq!(seen.iter().map(|&(_, t)| t).collect::<Vec<_>>(), ids[..8]);
    assert_eq!((g.prefill_tokens, g.decode_steps), (40, 7));

    // EOS: stop right after the first occurrence of the token greedy makes 4th.
    let eos = ids[3];
    let first = ids.iter().position(|&t| t == eos).unwrap();
    let g = model.generate(&device, std::slice::from_ref(&p), &greedy_opts(8, vec![eos]), |_, _| {}).unwrap();
    assert_eq!(g.tokens[0], ids[..=first]);
    assert_eq!(g.stops, [StopReason::Eos]);

    // A 300-token prompt: 256 through the largest prefill bucket, 44 through decode steps; the
    // continuation agrees with candle's greedy choice on the same history.
    let long = prompt(300, 9);
    let g = model.generate(&device, &[long.clone(), p.clone()], &greedy_opts(6, vec![]), |_, _| {}).unwrap();
    assert_eq!(g.tokens[1], ids[..6], "the second user is unaffected by the first");
    let theirs = candle_forced_logits(dir.path(), &long, &g.tokens[0][..5]);
    for (k, &t) in g.tokens[0].iter().enumerate() {
        assert_eq!(Some(t), argmax(&theirs[k]), "long prompt, token {k}");
    }

    // Seeded top-p: reproducible, and different seeds give different samples.
    let top_p = |seed| GenerateOptions {
        max_new_tokens: 12,
        sampling: Sampling::TopP { p: 0.9, temperature: 1.0, seed },
        eos: vec![],
    };
    let a = model.generate(&device, std::slice::from_ref(&p), &top_p(7), |_, _| {}).unwrap();
    assert_eq!(a.tokens, model.generate(&device, std::slice::from_ref(&p), &top_p(7), |_, _| {}).unwrap().tokens);
    assert_ne!(a.tokens, model.generate(&device, std::slice::from_ref(&p), &top_p(8), |_, _| {}).unwrap().tokens);
}

/// A checkpoint whose `config.json` would compute something else than the compiled config is
/// refused by `load` before any weight is read, naming the field; the same values in
/// transformers 5's layout (`rope_parameters`) load.
#[test]
fn load_refuses_a_checkpoint_config_that_differs_from_the_compiled_one() {
    let dir = TempDir::new("config-mismatch").unwrap();
    write_checkpoint(dir.path(), &spec(), 7).unwrap();
    let device = open();
    let config_path = dir.path().join("config.json");
    let original: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&config_path).unwrap()).unwrap();

    let mut v5 = original.clone();
    let theta = v5.as_object_mut().unwrap().remove("rope_theta").unwrap();
    v5["rope_parameters"] = serde_json::json!({"rope_theta": theta, "rope_type": "default"});
    std::fs::write(&config_path, v5.to_string()).unwrap();
    AccuracyB1::load(&device, &SafetensorsWeights::open(dir.path()).unwrap())
        .expect("same numerics, transformers-5 layout");

    for (field, value, message) in [
        ("rope_theta", serde_json::json!(500000.0), "`rope_theta` is 500000 but the model was compiled with 10000"),
        ("rms_norm_eps", serde_json::json!(1e-6), "`rms_norm_eps` is 0.000001 but the model was compiled with 0.00001"),
        (
            "tie_word_embeddings",
            serde_json::json!(true),
            "`tie_word_embeddings` is true but the model was compiled with false",
        ),
    ] {
        let mut changed = original.clone();
        changed[field] = value;
        std::fs::write(&config_path, changed.to_string()).unwrap();
        let err = match AccuracyB1::load(&device, &SafetensorsWeights::open(dir.path()).unwrap()) {
            Ok(_) => panic!("{field}: a differing config loaded"),
            Err(e) => e.to_string(),
        };
        assert!(err.contains(message) && err.contains("config.json"), "{field}: {err}");
    }
}
