//! The expansion of a Llama-family decoder: plan every op of the model at compile time, report
//! planning errors at the token that caused them, and emit the plan's artifacts with
//! [`tttv2_core::codegen::llama`] (the code `tttv2 generate` writes out, too).

use proc_macro2::TokenStream;
use quote::quote;
use tttv2_core::codegen::llama::{DevicePlan, LlamaItem, llama_tokens, prefill_buckets};
use tttv2_core::device::{DeviceProfile, SystemProfile};
use tttv2_core::hf::LlamaConfig;
use tttv2_core::plan::llama::{LlamaOptions, LlamaPlanError, plan_llama};

use crate::ast::Model;
use crate::attr::ModelAttrs;
use crate::ctxt::Ctxt;
use crate::emit::with_stub;

/// Plans `cfg` on `device` and emits the Llama expansion (or the errors and a stub).
pub fn expand_llama(
    cx: Ctxt,
    feature_error: Ctxt,
    model: &Model,
    attrs: &ModelAttrs,
    device: DeviceProfile,
    cfg: LlamaConfig,
    opts: LlamaOptions,
) -> TokenStream {
    let system = SystemProfile::by_name(device.name).unwrap_or(SystemProfile::single(device.name, device));
    let plan = match plan_llama(&cfg, &system, &opts) {
        Ok(p) => p,
        Err(e) => {
            cx.error_at(plan_error_span(model, attrs, &e), e.to_string());
            return with_stub(cx, feature_error, model);
        }
    };
    let buckets = prefill_buckets(&cfg, &system, &opts, attrs.seq_len);
    let errors = feature_error.into_compile_errors();
    let code = llama_tokens(&item(model, attrs), &DevicePlan { module: None, plan: &plan, prefill_buckets_us: buckets });
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
        track_file: attrs.config.as_ref().map(|c| c.value.1.display().to_string()),
    }
}

/// Where to report a planning error: a budget error at the option that sets the budget (or the
/// one that makes the model big), others at the config.
fn plan_error_span(model: &Model, attrs: &ModelAttrs, e: &LlamaPlanError) -> proc_macro2::Span {
    match e {
        LlamaPlanError::MemoryBudget { .. } => attrs
            .spans
            .get("memory_budget")
            .or(attrs.spans.get("seq_len"))
            .or(attrs.spans.get("device"))
            .copied(),
        _ => attrs.spans.get("config").copied(),
    }
    .unwrap_or(model.span())
}
