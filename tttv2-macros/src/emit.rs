//! The expansion: parse, check, lower, plan, generate. On any error it emits the errors plus a
//! stub of the struct, so the user sees only the real errors, not a cascade of "cannot find
//! type" (thiserror's pattern).

use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use syn::{Ident, ItemStruct};
use tttv2_codegen::{ModelItem, model_multi_tokens};
use tttv2_core::device::{Arch, DeviceProfile, SystemProfile};
use tttv2_core::ir::ModelDecl;
use tttv2_core::plan::plan_model;

use crate::ast::{Model, parse_model};
use crate::attr::parse_model_attrs;
use crate::check;
use crate::ctxt::Ctxt;
use crate::diag::Diag;
use crate::features::arch_enabled;
use crate::llama;
use crate::lower::{Lowered, lower};

/// One device to plan for.
pub(crate) struct Target {
    /// Its plan module inside `<model>_plan` (`devices = [...]`), or `None` for `device = "…"`.
    pub module: Option<Ident>,
    /// The device.
    pub device: DeviceProfile,
    /// The system the device names (`n300` is a 1×2 mesh), looked up once.
    pub system: SystemProfile,
    /// Where the device is named.
    pub span: proc_macro2::Span,
}

/// Expands `#[ttt_model(args)] input` for the device features this build has.
pub fn expand(args: TokenStream, input: TokenStream) -> TokenStream {
    expand_with(args, input, arch_enabled)
}

/// Expands with an explicit answer to "is this architecture's feature on?" (tests use it).
pub fn expand_with(args: TokenStream, input: TokenStream, arch_enabled: impl Fn(Arch) -> bool) -> TokenStream {
    let item: ItemStruct = match syn::parse2(input) {
        Ok(item) => item,
        Err(e) => {
            let cx = Ctxt::new();
            cx.syn_error(syn::Error::new(
                e.span(),
                Diag::StructOnly.with("`#[ttt_model]` applies to a struct with named layer fields"),
            ));
            return cx.into_compile_errors();
        }
    };
    let cx = Ctxt::new();
    let attrs = parse_model_attrs(&cx, args);
    let model = parse_model(&cx, item, attrs.config.is_some());
    // A device whose feature is off is still planned and emitted in full, next to the error, so
    // the only error the user sees is the feature one.
    let feature_error = Ctxt::new();
    let targets = check::device_targets(&feature_error, &attrs, &arch_enabled);
    if cx.has_errors() {
        return with_stub(cx, feature_error, &model);
    }
    let device = targets.first().expect("a missing or empty target list is an error above").device;
    let (decl, spans) = match lower(&cx, &model, &attrs, device) {
        Some(Lowered::Sequential(decl, spans)) => (decl, spans),
        Some(Lowered::Llama(cfg, opts)) if !cx.has_errors() => {
            return llama::expand_llama(cx, feature_error, &model, &attrs, &targets, cfg, opts);
        }
        _ => return with_stub(cx, feature_error, &model),
    };
    let mut plans = Vec::new();
    for t in &targets {
        let decl = ModelDecl { device: t.device, ..decl.clone() };
        match plan_model(&decl) {
            Ok(plan) => plans.push((t.module.clone(), decl, plan)),
            Err(errors) => {
                for e in errors {
                    let msg = match &t.module {
                        Some(m) => format!("{} (planning for `{m}` of `devices`)", e.message),
                        None => e.message,
                    };
                    cx.error_at(spans.locate(e.layer, e.key, e.rule), msg);
                }
            }
        }
    }
    if cx.has_errors() {
        return with_stub(cx, feature_error, &model);
    }
    let item = ModelItem {
        attrs: model.attr_tokens(),
        vis: {
            let v = &model.vis;
            quote!(#v)
        },
        ident: model.ident.clone(),
        fields: model
            .layers
            .iter()
            .map(|l| {
                let v = &l.vis;
                (quote!(#v), l.ident.clone())
            })
            .collect(),
    };
    if let Err(errors) = cx.check() {
        return errors;
    }
    let errors = feature_error.into_compile_errors();
    let plans: Vec<_> = plans.iter().map(|(m, d, p)| (m.clone(), d, p)).collect();
    let code = model_multi_tokens(&plans, &item);
    quote!(#errors #code)
}

/// The errors plus the struct and the signatures of its generated methods, so uses of the model
/// elsewhere do not add errors of their own. The bodies never run: the crate does not compile.
pub(crate) fn with_stub(cx: Ctxt, feature_error: Ctxt, model: &Model) -> TokenStream {
    let errors = cx.into_compile_errors();
    let feature_errors = feature_error.into_compile_errors();
    let Model { attrs, vis, ident, layers } = model;
    if model.is_llama() {
        return llama_stub(quote!(#errors #feature_errors), model);
    }
    let fields = layers.iter().map(|l| {
        let (v, i) = (&l.vis, &l.ident);
        quote!(#v #i: ::tttv2::nn::Linear)
    });
    let why = "the #[ttt_model] declaration has errors";
    quote! {
        #errors
        #feature_errors
        #(#attrs)*
        #vis struct #ident {
            #(#fields,)*
        }
        impl #ident {
            #[allow(unused_variables)]
            pub fn load(device: &::tttv2::Device, weights: &impl ::tttv2::nn::WeightSource) -> ::tttv2::Result<Self> {
                ::core::unreachable!(#why)
            }
            #[allow(unused_variables)]
            pub fn input(device: &::tttv2::Device, x: &[f32]) -> ::tttv2::Result<::tttv2::Tensor> {
                ::core::unreachable!(#why)
            }
            #[allow(unused_variables)]
            pub fn forward(&self, x: &::tttv2::Tensor) -> ::tttv2::Result<::tttv2::Tensor> {
                ::core::unreachable!(#why)
            }
        }
    }
}

/// The faithful fallback of a Llama with errors: the struct, its plan module's names and the
/// signatures of `load` / `prefill` / `decode` / `generate` / `manifest` / `graph`, so uses of the
/// model type-check and the user sees only the real errors.
fn llama_stub(errors: TokenStream, model: &Model) -> TokenStream {
    let Model { attrs, vis, ident, .. } = model;
    let plan_mod = format_ident!("{}", tttv2_codegen::plan_module_name(&ident.to_string()));
    let why = "the #[ttt_model] declaration has errors";
    quote! {
        #errors
        #(#attrs)*
        #vis struct #ident;
        #[allow(dead_code)]
        #vis mod #plan_mod {
            pub const DEVICE: ::tttv2::device::DeviceProfile = ::tttv2::device::DeviceProfile::N150;
            pub const BATCH: u32 = 0;
            pub const MAX_SEQ_LEN: u32 = 0;
            pub const PREFILL_BUCKETS: [u32; 0] = [];
            pub const MANIFEST_JSON: &str = "{}";
            pub const GRAPH_JSON: &str = "{}";
            pub const GRAPH_DOT: &str = "";
        }
        #[allow(unused_variables)]
        impl #ident {
            pub fn load(device: &::tttv2::Device, weights: &impl ::tttv2::nn::WeightSource) -> ::tttv2::Result<Self> {
                ::core::unreachable!(#why)
            }
            pub fn prefill(&mut self, device: &::tttv2::Device, user: u32, tokens: &[u32]) -> ::tttv2::Result<Vec<f32>> {
                ::core::unreachable!(#why)
            }
            pub fn decode(&mut self, device: &::tttv2::Device, tokens: &[u32], positions: &[u32]) -> ::tttv2::Result<Vec<Vec<f32>>> {
                ::core::unreachable!(#why)
            }
            pub fn generate(
                &mut self,
                device: &::tttv2::Device,
                prompts: &[Vec<u32>],
                options: &::tttv2::nn::generate::GenerateOptions,
                on_token: impl FnMut(usize, u32),
            ) -> ::tttv2::Result<::tttv2::nn::generate::Generation> {
                ::core::unreachable!(#why)
            }
            pub fn weight_bytes(&self) -> u64 {
                ::core::unreachable!(#why)
            }
            pub fn manifest() -> ::tttv2::serde_json::Value {
                ::core::unreachable!(#why)
            }
            pub fn graph() -> ::tttv2::serde_json::Value {
                ::core::unreachable!(#why)
            }
        }
    }
}
