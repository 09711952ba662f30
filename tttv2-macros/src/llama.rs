//! The expansion of a Llama-family decoder: plan every op of the model at compile time, report
//! planning errors at the token that caused them, and emit the plan's artifacts with
//! [`tttv2_codegen::llama`] (the code `tttv2 generate` writes out, too).

use proc_macro2::TokenStream;
use quote::quote;
use tttv2_codegen::llama::{DevicePlan, LlamaItem, llama_multi_tokens, llama_tokens};
use tttv2_core::hf::LlamaConfig;
use tttv2_core::plan::llama::{LlamaOptions, LlamaPlanError, plan_program};
use tttv2_core::rules::Rule;

use crate::ast::Model;
use crate::attr::ModelAttrs;
use crate::ctxt::Ctxt;
use crate::emit::{Target, with_stub};

/// Plans the program of `cfg` on each target and emits the Llama expansion (or the errors and
/// a stub).
pub fn expand_llama(
    cx: Ctxt,
    feature_error: Ctxt,
    model: &Model,
    attrs: &ModelAttrs,
    targets: &[Target],
    cfg: LlamaConfig,
    opts: LlamaOptions,
) -> TokenStream {
    let mut programs = Vec::new();
    for t in targets {
        match plan_program(&cfg, &t.system, &opts, attrs.seq_len) {
            Ok(p) => programs.push((t.module.clone(), p)),
            Err(e) => {
                let msg = match &t.module {
                    Some(m) => format!("{e} (planning for `{m}` of `devices`)"),
                    None => e.to_string(),
                };
                cx.error_at(plan_error_span(model, attrs, t, &e), msg);
            }
        }
    }
    if cx.has_errors() {
        return with_stub(cx, feature_error, model, attrs.mode);
    }
    if let Err(errors) = cx.check() {
        return errors;
    }
    let errors = feature_error.into_compile_errors();
    let item = item(model, attrs);
    let device_plans: Vec<DevicePlan> =
        programs.iter().map(|(m, p)| DevicePlan { module: m.clone(), program: p }).collect();
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
/// one that makes the model big), a limit of generated code at the option it limits, others at
/// the config.
fn plan_error_span(model: &Model, attrs: &ModelAttrs, target: &Target, e: &LlamaPlanError) -> proc_macro2::Span {
    let s = &attrs.spans;
    match e.rule() {
        Rule::MemoryBudget => s.memory_budget.or(s.seq_len).or(s.device),
        Rule::DecodeBatch | Rule::PrefillBatch => s.batch,
        Rule::SingleChipProgram => Some(target.span),
        _ => s.config,
    }
    .unwrap_or(model.span())
}
