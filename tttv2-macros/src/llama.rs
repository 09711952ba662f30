//! The expansion of a Llama-family decoder: plan every op of the model at compile time, report
//! planning errors at the token that caused them, and emit the plan's artifacts with
//! [`tttv2_codegen::llama`] (the code `tttv2 generate` writes out, too).

use proc_macro2::TokenStream;
use quote::quote;
use tttv2_codegen::llama::{DevicePlan, LlamaItem, llama_multi_tokens, llama_tokens, prefill_buckets};
use tttv2_core::device::SystemProfile;
use tttv2_core::hf::LlamaConfig;
use tttv2_core::plan::Mode;
use tttv2_core::plan::llama::{LlamaOptions, LlamaPlanError, plan_llama};

use crate::ast::Model;
use crate::attr::ModelAttrs;
use crate::ctxt::Ctxt;
use crate::diag::Diag;
use crate::emit::{Target, with_stub};

/// Plans `cfg` on each target and emits the Llama expansion (or the errors and a stub).
pub fn expand_llama(
    cx: Ctxt,
    feature_error: Ctxt,
    model: &Model,
    attrs: &ModelAttrs,
    targets: &[Target],
    cfg: LlamaConfig,
    opts: LlamaOptions,
) -> TokenStream {
    // What the generated program cannot run is an error here, not a struct without methods.
    let batch_span = attrs.spans.batch.unwrap_or(model.span());
    match opts.mode {
        Mode::Decode if opts.batch > 32 => cx.error_at(
            batch_span,
            Diag::DecodeBatch.with(format!("the generated decode step runs at most 32 users (the hidden state is one 32-row tile, as in tt-transformers' decode), got batch = {}; fix: batch <= 32 (plan larger batches with `tttv2 plan`)", opts.batch)),
        ),
        Mode::Prefill if opts.batch > 1 => cx.error_at(
            batch_span,
            Diag::PrefillBatch.with(format!("generated prefill runs one user's prompt per call, got batch = {}; fix: batch = 1, or mode = \"decode\" (its prefill fills each user's cache in turn)", opts.batch)),
        ),
        _ => {}
    }
    if cx.has_errors() {
        return with_stub(cx, feature_error, model);
    }
    let mut plans = Vec::new();
    for t in targets {
        let device = t.device;
        let system = SystemProfile::by_name(device.name).unwrap_or(SystemProfile::single(device.name, device));
        match plan_llama(&cfg, &system, &opts) {
            Ok(p) => plans.push((t.module.clone(), prefill_buckets(&cfg, &system, &opts, attrs.seq_len), p)),
            Err(e) => {
                let msg = match &t.module {
                    Some(m) => format!("{e} (planning for `{m}` of `devices`)"),
                    None => e.to_string(),
                };
                cx.error_at(plan_error_span(model, attrs, &e), msg);
            }
        }
    }
    if cx.has_errors() {
        return with_stub(cx, feature_error, model);
    }
    if let Err(errors) = cx.check() {
        return errors;
    }
    let errors = feature_error.into_compile_errors();
    let item = item(model, attrs);
    let device_plans: Vec<DevicePlan> = plans
        .iter()
        .map(|(m, b, p)| DevicePlan { module: m.clone(), plan: p, prefill_buckets_us: b.clone() })
        .collect();
    let code = match device_plans.as_slice() {
        [single @ DevicePlan { module: None, .. }] => llama_tokens(&item, single),
        _ => llama_multi_tokens(&item, &device_plans),
    };
    quote!(#errors #code)
}

/// The user's struct as the emission keeps it; the config file, if any, is tracked so the
/// model is rebuilt when it changes.
fn item(model: &Model, attrs: &ModelAttrs) -> LlamaItem {
    let vis = &model.vis;
    LlamaItem {
        attrs: model.attr_tokens(),
        vis: quote!(#vis),
        ident: model.ident.clone(),
        // A config.json is tracked (`include_bytes!`) so an edit rebuilds the model. A GGUF is
        // not: tracking it would make rustc read the whole file, gigabytes of weights, on every
        // build; only its header is the config, and a changed file is caught at load
        // (`check_compiled`).
        track_file: attrs
            .config
            .as_ref()
            .filter(|c| !tttv2_core::hf::is_gguf(&c.value.1))
            .map(|c| c.value.1.display().to_string()),
        artifacts_beside: false,
    }
}

/// Where to report a planning error: a budget error at the option that sets the budget (or the
/// one that makes the model big), others at the config.
fn plan_error_span(model: &Model, attrs: &ModelAttrs, e: &LlamaPlanError) -> proc_macro2::Span {
    match e {
        LlamaPlanError::MemoryBudget { .. } => attrs.spans.memory_budget.or(attrs.spans.seq_len).or(attrs.spans.device),
        _ => attrs.spans.config,
    }
    .unwrap_or(model.span())
}
