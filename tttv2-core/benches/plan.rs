//! Planning time of whole Llama models (issue 3 bar: all 80 layers of Llama-3.1-70B < 100 ms).
//!
//! Run: `cargo bench -p tttv2-core --bench plan`.
//!
//! Identical layers are planned once and reused, so the `*_distinct_layers` case gives each of
//! the 80 layers its own dtype combination (3^4 = 81 combinations of wqkv/wo/w1w3/w2 dtypes) to
//! measure planning with no reuse at all.

use std::hint::black_box;
use std::path::Path;

use criterion::{Criterion, criterion_group, criterion_main};
use tttv2_core::device::SystemProfile;
use tttv2_core::hf::LlamaConfig;
use tttv2_core::plan::Mode;
use tttv2_core::plan::llama::{LayerOverride, LlamaOptions, WeightGroup, plan_llama};
use tttv2_core::ttnn::DataType;

fn model(name: &str) -> LlamaConfig {
    LlamaConfig::from_file(Path::new(env!("CARGO_MANIFEST_DIR")).join("../models").join(name).join("config.json"))
        .unwrap()
}

fn distinct_layers(layers: u32) -> Vec<LayerOverride> {
    let dts = [DataType::Bfloat16, DataType::Bfloat8B, DataType::Bfloat4B];
    let groups = [WeightGroup::Wqkv, WeightGroup::Wo, WeightGroup::W1W3, WeightGroup::W2];
    let mut v = Vec::new();
    for l in 0..layers {
        let mut code = l;
        for g in groups {
            v.push(LayerOverride {
                layers: Some((l, l)),
                group: g,
                dtype: Some(dts[(code % 3) as usize]),
                math_fidelity: None,
            });
            code /= 3;
        }
    }
    v
}

fn bench(c: &mut Criterion) {
    let m70 = model("Llama-3.1-70B");
    let m8 = model("Llama-3.1-8B");
    let decode = LlamaOptions::new(Mode::Decode, 32);
    let unlimited = LlamaOptions { memory_budget: Some(u64::MAX), ..decode.clone() };
    c.bench_function("llama-3.1-70b decode t3k", |b| {
        b.iter(|| plan_llama(black_box(&m70), &SystemProfile::T3K, &decode).unwrap())
    });
    let distinct = LlamaOptions { overrides: distinct_layers(80), ..unlimited.clone() };
    c.bench_function("llama-3.1-70b decode t3k distinct_layers", |b| {
        b.iter(|| plan_llama(black_box(&m70), &SystemProfile::T3K, &distinct).unwrap())
    });
    c.bench_function("llama-3.1-70b decode galaxy", |b| {
        b.iter(|| plan_llama(black_box(&m70), &SystemProfile::GALAXY, &decode).unwrap())
    });
    // 70B decode does not fit one n150 (memory, and 64 heads per user exceed decode rotary's 32):
    // the planner's answer is a typed error; this times reaching it.
    c.bench_function("llama-3.1-70b decode n150 (typed error)", |b| {
        b.iter(|| plan_llama(black_box(&m70), &SystemProfile::N150, &unlimited).unwrap_err())
    });
    let prefill = LlamaOptions { seq_len: 2048, memory_budget: Some(u64::MAX), ..LlamaOptions::new(Mode::Prefill, 1) };
    c.bench_function("llama-3.1-70b prefill 2048 n150 (shapes only, unlimited budget)", |b| {
        b.iter(|| plan_llama(black_box(&m70), &SystemProfile::N150, &prefill).unwrap())
    });
    c.bench_function("llama-3.1-8b decode n150", |b| {
        b.iter(|| plan_llama(black_box(&m8), &SystemProfile::N150, &decode).unwrap())
    });
    let prefill8 = LlamaOptions { seq_len: 2048, ..LlamaOptions::new(Mode::Prefill, 1) };
    c.bench_function("llama-3.1-8b prefill 2048 n150", |b| {
        b.iter(|| plan_llama(black_box(&m8), &SystemProfile::N150, &prefill8).unwrap())
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10);
    targets = bench
}
criterion_main!(benches);
