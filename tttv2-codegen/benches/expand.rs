//! Expansion time of `#[ttt_model]` (issue 11 bar: < 200 ms for Llama-3.2-1B decode).
//!
//! Run: `cargo bench -p tttv2-codegen --bench expand`.
//!
//! The macro's work for
//! `#[ttt_model(device = "wormhole_b0", config = "models/Llama-3.2-1B/config.json", mode = "decode", batch = 32, seq_len = 2048)]`
//! on the default device (`wormhole_b0`, i.e. an n150) is: read the config, `plan_llama`, the
//! prefill buckets, then `llama_tokens` (which plans the prefill programs a decode model runs —
//! one per power-of-two bucket up to 2048 — and emits every step op by op). Each stage is timed
//! on its own, then the whole, then `tttv2 generate`'s extra step (prettyplease) for comparison.
//! What criterion cannot see is the compiler's side: converting the tokens into rustc's and
//! compiling them (see BENCHMARKS.md for the user crate's build time).

use std::hint::black_box;
use std::path::{Path, PathBuf};

use criterion::{Criterion, criterion_group, criterion_main};
use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use tttv2_codegen::generate::format_tokens;
use tttv2_codegen::llama::{DevicePlan, LlamaItem, llama_tokens};
use tttv2_core::device::SystemProfile;
use tttv2_core::hf::LlamaConfig;
use tttv2_core::plan::Mode;
use tttv2_core::plan::llama::{LlamaOptions, plan_llama, plan_program};

const SEQ_LEN: u32 = 2048;

fn config_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/Llama-3.2-1B/config.json")
}

fn options() -> LlamaOptions {
    let mut o = LlamaOptions::new(Mode::Decode, 32);
    o.seq_len = SEQ_LEN;
    o
}

fn item() -> LlamaItem {
    LlamaItem {
        attrs: TokenStream::new(),
        vis: quote!(pub),
        ident: format_ident!("Llama32_1B"),
        track_file: Some(config_path().display().to_string()),
        artifacts_beside: false,
    }
}

/// What `tttv2-macros/src/llama.rs` does for one target, from the parsed config on.
fn expand(cfg: &LlamaConfig, system: &SystemProfile, opts: &LlamaOptions, item: &LlamaItem) -> TokenStream {
    let program = plan_program(cfg, system, opts, None).unwrap();
    llama_tokens(item, &DevicePlan { module: None, program: &program })
}

fn bench(c: &mut Criterion) {
    let system = SystemProfile::N150;
    let opts = options();
    let item = item();
    let cfg = LlamaConfig::from_file(config_path()).unwrap();
    c.bench_function("llama-3.2-1b decode b32 s2048: read config.json", |b| {
        b.iter(|| LlamaConfig::from_file(black_box(config_path())).unwrap())
    });
    c.bench_function("llama-3.2-1b decode b32 s2048: plan_llama", |b| {
        b.iter(|| plan_llama(black_box(&cfg), &system, &opts).unwrap())
    });
    c.bench_function("llama-3.2-1b decode b32 s2048: plan_program (decode step + prefill buckets)", |b| {
        b.iter(|| plan_program(black_box(&cfg), &system, &opts, None).unwrap())
    });
    let program = plan_program(&cfg, &system, &opts, None).unwrap();
    c.bench_function("llama-3.2-1b decode b32 s2048: llama_tokens (emit)", |b| {
        b.iter(|| llama_tokens(&item, &DevicePlan { module: None, program: black_box(&program) }))
    });
    c.bench_function("llama-3.2-1b decode b32 s2048: macro expansion (config + plan + buckets + emit)", |b| {
        b.iter(|| {
            let cfg = LlamaConfig::from_file(config_path()).unwrap();
            expand(black_box(&cfg), &system, &opts, &item)
        })
    });
    let tokens = expand(&cfg, &system, &opts, &item);
    eprintln!("the expansion as text: {} bytes", tokens.to_string().len());
    c.bench_function("llama-3.2-1b decode b32 s2048: prettyplease of the expansion (tttv2 generate only)", |b| {
        b.iter(|| format_tokens(black_box(tokens.clone())).unwrap())
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = bench
}
criterion_main!(benches);
