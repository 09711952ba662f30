//! Accuracy of tttv2's Llama prefill on the host backend against candle-transformers' Llama (an
//! independent implementation) on the same deterministic random checkpoint.
//! Bars (issue 6): logits PCC ≥ 0.999 under `accuracy`, ≥ 0.99 under `performance`.

mod support;

use support::llama_ref::{TempDir, TinyLlamaSpec, argmax, candle_prefill_logits, pcc, write_checkpoint};
use tttv2::nn::SafetensorsWeights;
use tttv2::{Device, ttt_model};

fn spec() -> TinyLlamaSpec {
    TinyLlamaSpec::accuracy()
}

#[ttt_model(
    device = "wormhole_b0",
    config = "tests/models/tiny-accuracy/config.json",
    mode = "prefill",
    batch = 1,
    seq_len = 128,
    policy = "accuracy"
)]
pub struct AccuracyPrefill;
#[ttt_model(
    device = "wormhole_b0",
    config = "tests/models/tiny-accuracy/config.json",
    mode = "prefill",
    batch = 1,
    seq_len = 128,
    policy = "performance"
)]
pub struct PerformancePrefill;

fn ours(dir: &std::path::Path, tokens: &[u32], policy: &str) -> Vec<f32> {
    let device = Device::open(&accuracy_prefill_plan::DEVICE).unwrap();
    let w = SafetensorsWeights::open(dir).unwrap();
    match policy {
        "accuracy" => AccuracyPrefill::load(&device, &w).unwrap().prefill(&device, tokens).unwrap(),
        _ => PerformancePrefill::load(&device, &w).unwrap().prefill(&device, tokens).unwrap(),
    }
}

#[test]
fn prefill_logits_match_candle_under_both_policies() {
    let dir = TempDir::new("accuracy").unwrap();
    write_checkpoint(dir.path(), &spec(), 7).unwrap();
    let tokens: Vec<u32> = (0..100).map(|t| (t * 37 + 11) % 512).collect();
    let want = candle_prefill_logits(dir.path(), &tokens);
    for (policy, bar) in [("accuracy", 0.999), ("performance", 0.99)] {
        let got = ours(dir.path(), &tokens, policy);
        let p = pcc(&got, &want);
        eprintln!("{policy}: prefill logits PCC {p:.6}, top-1 ours {:?} candle {:?}", argmax(&got), argmax(&want));
        assert!(p >= bar, "{policy}: PCC {p} < {bar}");
    }
}
