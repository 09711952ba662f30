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
use tttv2::Device;
use tttv2::device::{DeviceProfile, SystemProfile};
use tttv2::hf::LlamaConfig;
use tttv2::nn::SafetensorsWeights;
use tttv2::nn::llama::{Llama, LlamaPlans};
use tttv2::op::llama::LlamaPrefillConfig;
use tttv2::op::llama_decode::LlamaDecodeConfig;
use tttv2::plan::llama::{LlamaOptions, plan_llama, plan_llama_prefill_for};
use tttv2::plan::{Mode, Policy};

fn spec() -> TinyLlamaSpec {
    TinyLlamaSpec::accuracy()
}

/// Plans prefill buckets of 32 and 64 tokens and a decode step for `batch` users with a
/// 256-position cache, and loads the checkpoint in `dir` with them.
fn load(dir: &std::path::Path, policy: Policy, batch: u32) -> (Device, Llama) {
    let cfg = LlamaConfig::from_file(dir.join("config.json")).unwrap();
    let sys = SystemProfile::N150;
    let opts = LlamaOptions { seq_len: 256, policy, ..LlamaOptions::new(Mode::Decode, batch) };
    let decode_plan = plan_llama(&cfg, &sys, &opts).unwrap();
    // The prefill buckets read the decode plan's (DRAM-sharded) weights: one copy on the device.
    let prefill = [32, 64].map(|s| LlamaPrefillConfig::from_plan(&plan_llama_prefill_for(&decode_plan, &sys, s).unwrap()).unwrap()).to_vec();
    let decode = LlamaDecodeConfig::from_plan(&decode_plan).unwrap();
    let device = Device::open(&DeviceProfile::N150).unwrap();
    let model = Llama::load(&device, &SafetensorsWeights::open(dir).unwrap(), LlamaPlans { prefill, decode: Some(decode) }).unwrap();
    (device, model)
}

fn prompt(len: u32, salt: u32) -> Vec<u32> {
    (0..len).map(|t| (t * 37 + 11 + salt * 101) % 512).collect()
}

/// Greedy: prefill, then `steps` decode steps; returns the chosen ids and the logits each came
/// from (element 0 from the prefill).
fn greedy(device: &Device, model: &mut Llama, prompt: &[u32], steps: usize) -> (Vec<u32>, Vec<Vec<f32>>) {
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
    for (policy, bar) in [(Policy::Accuracy, 0.95), (Policy::Performance, 0.75)] {
        let (device, mut model) = load(dir.path(), policy, 1);
        let (ids, ours) = greedy(&device, &mut model, &p, 64);
        // Candle sees the same history: the prompt, then our ids.
        let theirs = candle_forced_logits(dir.path(), &p, &ids[..64]);
        let agree = (1..=64).filter(|&k| argmax(&ours[k]) == argmax(&theirs[k])).count();
        let worst = (1..=64).map(|k| pcc(&ours[k], &theirs[k])).fold(1.0f64, f64::min);
        let rate = agree as f64 / 64.0;
        eprintln!("{policy:?}: greedy top-1 agreement {agree}/64 = {:.1} %, worst decode-step logits PCC {worst:.6}", rate * 100.0);
        assert!(rate >= bar, "{policy:?}: top-1 agreement {rate} < {bar}");
        assert!(worst >= 0.99, "{policy:?}: a decode step's logits PCC is {worst}");
    }
}

#[test]
fn users_in_one_batch_are_independent_and_match_candle() {
    let dir = TempDir::new("decode-batch").unwrap();
    write_checkpoint(dir.path(), &spec(), 11).unwrap();
    let (device, mut model) = load(dir.path(), Policy::Accuracy, 4);
    assert_eq!(model.batch(), 4);
    // Three users of four, prompts of different lengths (two prefill buckets), in one batch.
    let prompts = [prompt(20, 1), prompt(50, 2), prompt(7, 3)];
    let mut next: Vec<u32> = prompts.iter().enumerate().map(|(u, p)| argmax(&model.prefill(&device, u as u32, p).unwrap()).unwrap()).collect();
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

/// Prefill buckets planned on the decode plan's weights add no weight upload; independently
/// planned ones (DRAM-interleaved) hold a second copy of every matmul weight.
#[test]
fn prefill_buckets_share_the_decode_weights() {
    let dir = TempDir::new("decode-share").unwrap();
    write_checkpoint(dir.path(), &spec(), 5).unwrap();
    let weights = SafetensorsWeights::open(dir.path()).unwrap();
    let (device, shared) = load(dir.path(), Policy::Performance, 2);
    let decode = shared.plans().decode.clone();
    let alone = Llama::load(&device, &weights, LlamaPlans { prefill: vec![], decode: decode.clone() }).unwrap();
    assert_eq!(shared.weight_bytes(), alone.weight_bytes());
    let cfg = LlamaConfig::from_file(dir.path().join("config.json")).unwrap();
    let opts = LlamaOptions { seq_len: 64, policy: Policy::Performance, ..LlamaOptions::new(Mode::Prefill, 1) };
    let separate = LlamaPrefillConfig::from_plan(&plan_llama(&cfg, &SystemProfile::N150, &opts).unwrap()).unwrap();
    let two = Llama::load(&device, &weights, LlamaPlans { prefill: vec![separate], decode }).unwrap();
    // The second copy is the matmul weights (embedding and norms are shared either way).
    let s = spec();
    let (h, i, q, kv) = (s.hidden as u64, s.intermediate as u64, (s.heads * s.head_dim) as u64, (s.kv_heads * s.head_dim) as u64);
    let matmul_values = s.layers as u64 * (h * (q + 2 * kv) + q * h + 3 * h * i) + h * s.vocab as u64;
    let extra = two.weight_bytes() - alone.weight_bytes();
    assert!(extra as f64 > matmul_values as f64 * 0.5, "{extra} bytes for {matmul_values} matmul weight values");
}

#[test]
fn decode_rejects_what_the_plan_cannot_run() {
    let dir = TempDir::new("decode-errors").unwrap();
    write_checkpoint(dir.path(), &spec(), 3).unwrap();
    let (device, mut model) = load(dir.path(), Policy::Performance, 2);
    let e = model.decode(&device, &[1, 2, 3], &[0, 0, 0]).unwrap_err().to_string();
    assert!(e.contains("1 to 2 users"), "{e}");
    let e = model.decode(&device, &[1], &[256]).unwrap_err().to_string();
    assert!(e.contains("beyond the KV cache of 256"), "{e}");
    let e = model.prefill(&device, 0, &prompt(65, 0)).unwrap_err().to_string();
    assert!(e.contains("1 to 64 tokens"), "{e}");
    let e = model.prefill(&device, 2, &prompt(5, 0)).unwrap_err().to_string();
    assert!(e.contains("outside the plan's batch of 2"), "{e}");
}

#[test]
fn generate_matches_stepwise_greedy_stops_on_eos_and_continues_long_prompts() {
    use tttv2::nn::generate::{GenerateOptions, Sampling, StopReason};
    let dir = TempDir::new("decode-generate").unwrap();
    write_checkpoint(dir.path(), &spec(), 5).unwrap();
    let (device, mut model) = load(dir.path(), Policy::Accuracy, 2);
    let p = prompt(40, 4);
    let (ids, _) = greedy(&device, &mut model, &p, 8);
    let greedy_opts = |n, eos: Vec<u32>| GenerateOptions { max_new_tokens: n, sampling: Sampling::Greedy, eos };
    let mut seen = Vec::new();
    let g = model.generate(&device, &[p.clone()], &greedy_opts(8, vec![]), |u, t| seen.push((u, t))).unwrap();
    assert_eq!(g.tokens[0], ids[..8]);
    assert_eq!(g.stops, [StopReason::MaxTokens]);
    assert_eq!(seen.iter().map(|&(_, t)| t).collect::<Vec<_>>(), ids[..8]);
    assert_eq!((g.prefill_tokens, g.decode_steps), (40, 7));

    // EOS: stop right after the first occurrence of the token greedy makes 4th.
    let eos = ids[3];
    let first = ids.iter().position(|&t| t == eos).unwrap();
    let g = model.generate(&device, &[p.clone()], &greedy_opts(8, vec![eos]), |_, _| {}).unwrap();
    assert_eq!(g.tokens[0], ids[..=first]);
    assert_eq!(g.stops, [StopReason::Eos]);

    // A 100-token prompt: 64 through the largest prefill bucket, 36 through decode steps; the
    // continuation agrees with candle's greedy choice on the same history.
    let long = prompt(100, 9);
    let g = model.generate(&device, &[long.clone(), p.clone()], &greedy_opts(6, vec![]), |_, _| {}).unwrap();
    assert_eq!(g.tokens[1], ids[..6], "the second user is unaffected by the first");
    let theirs = candle_forced_logits(dir.path(), &long, &g.tokens[0][..5]);
    for (k, &t) in g.tokens[0].iter().enumerate() {
        assert_eq!(Some(t), argmax(&theirs[k]), "long prompt, token {k}");
    }

    // Seeded top-p: reproducible, and different seeds give different samples.
    let top_p = |seed| GenerateOptions { max_new_tokens: 12, sampling: Sampling::TopP { p: 0.9, temperature: 1.0, seed }, eos: vec![] };
    let a = model.generate(&device, &[p.clone()], &top_p(7), |_, _| {}).unwrap();
    assert_eq!(a.tokens, model.generate(&device, &[p.clone()], &top_p(7), |_, _| {}).unwrap().tokens);
    assert_ne!(a.tokens, model.generate(&device, &[p.clone()], &top_p(8), |_, _| {}).unwrap().tokens);
}
