//! Accuracy of tttv2's Llama prefill on the host backend against candle-transformers' Llama (an
//! independent implementation) on the same deterministic random checkpoint.
//! Bars (issue 6): logits PCC ≥ 0.999 under `accuracy`, ≥ 0.99 under `performance`.

mod support;

use support::llama_ref::{TempDir, TinyLlamaSpec, argmax, candle_prefill_logits, pcc, write_checkpoint};
use tttv2::Device;
use tttv2::device::{DeviceProfile, SystemProfile};
use tttv2::hf::LlamaConfig;
use tttv2::nn::SafetensorsWeights;
use tttv2::nn::llama::{Llama, LlamaPlans};
use tttv2::op::llama::LlamaPrefillConfig;
use tttv2::plan::llama::{LlamaOptions, plan_llama};
use tttv2::plan::{Mode, Policy};

fn spec() -> TinyLlamaSpec {
    TinyLlamaSpec::accuracy()
}

fn ours(dir: &std::path::Path, tokens: &[u32], policy: Policy) -> Vec<f32> {
    let cfg = LlamaConfig::from_file(dir.join("config.json")).unwrap();
    let mut opts = LlamaOptions::new(Mode::Prefill, 1);
    opts.seq_len = 128;
    opts.policy = policy;
    let plan = plan_llama(&cfg, &SystemProfile::N150, &opts).unwrap();
    let pc = LlamaPrefillConfig::from_plan(&plan).unwrap();
    let device = Device::open(&DeviceProfile::N150).unwrap();
    let mut model = Llama::load(&device, &SafetensorsWeights::open(dir).unwrap(), LlamaPlans { prefill: vec![pc], decode: None }).unwrap();
    model.prefill(&device, 0, tokens).unwrap()
}

#[test]
fn prefill_logits_match_candle_under_both_policies() {
    let dir = TempDir::new("accuracy").unwrap();
    write_checkpoint(dir.path(), &spec(), 7).unwrap();
    let tokens: Vec<u32> = (0..100).map(|t| (t * 37 + 11) % 512).collect();
    let want = candle_prefill_logits(dir.path(), &tokens);
    for (policy, bar) in [(Policy::Accuracy, 0.999), (Policy::Performance, 0.99)] {
        let got = ours(dir.path(), &tokens, policy);
        let p = pcc(&got, &want);
        eprintln!("{policy:?}: prefill logits PCC {p:.6}, top-1 ours {:?} candle {:?}", argmax(&got), argmax(&want));
        assert!(p >= bar, "{policy:?}: PCC {p} < {bar}");
    }
}
