//! The expansion: parse, check, lower, plan, generate. On any error it emits the errors plus a
//! stub of the struct, so the user sees only the real errors, not a cascade of "cannot find
//! type" (thiserror's pattern).

use proc_macro2::TokenStream;
use quote::quote;
use syn::{Ident, ItemStruct};
use tttv2_codegen::{ModelItem, model_multi_tokens, signatures};
use tttv2_core::device::{Arch, DeviceProfile, SystemProfile};
use tttv2_core::ir::ModelDecl;
use tttv2_core::plan::Mode;
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
        return with_stub(cx, feature_error, &model, attrs.mode);
    }
    let device = targets.first().expect("a missing or empty target list is an error above").device;
    let (decl, spans) = match lower(&cx, &model, &attrs, device) {
        Some(Lowered::Sequential(decl, spans)) => (decl, spans),
        Some(Lowered::Llama(cfg, opts)) if !cx.has_errors() => {
            return llama::expand_llama(cx, feature_error, &model, &attrs, &targets, cfg, opts);
        }
        _ => return with_stub(cx, feature_error, &model, attrs.mode),
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
        return with_stub(cx, feature_error, &model, attrs.mode);
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

/// The errors plus the struct and the signatures of its generated methods
/// ([`tttv2_codegen::signatures`]), so uses of the model elsewhere do not add errors of their own.
pub(crate) fn with_stub(cx: Ctxt, feature_error: Ctxt, model: &Model, mode: Mode) -> TokenStream {
    let errors = cx.into_compile_errors();
    let feature_errors = feature_error.into_compile_errors();
    let Model { attrs, vis, ident, layers } = model;
    let (attrs, vis) = (quote!(#(#attrs)*), quote!(#vis));
    let stub = if model.is_llama() {
        signatures::llama_stub(&attrs, &vis, ident, mode)
    } else {
        let fields: Vec<_> = layers
            .iter()
            .map(|l| {
                let v = &l.vis;
                (quote!(#v), l.ident.clone())
            })
            .collect();
        signatures::linear_stub(&attrs, &vis, ident, &fields)
    };
    quote! {
        #errors
        #feature_errors
        #stub
    }
}
