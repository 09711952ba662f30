use super::program::{Cx, Names, Slots, local_ident, statements};
use super::signatures;
use proc_macro2::{Ident, Span, TokenStream};
use quote::{format_ident, quote};
use tttv2_core::program::TensorRef;

use tttv2_core::ir::{LayerKind, ModelDecl};
use tttv2_core::plan::{LayerPlan, ModelPlan};

use super::ConstExpr;

/// The parts of the user's item that the generated code keeps as written.
pub struct ModelItem {
    /// Attributes (doc comments, derives…) to keep on the struct.
    pub attrs: TokenStream,
    /// Visibility of the struct.
    pub vis: TokenStream,
    /// The struct's name.
    pub ident: Ident,
    /// Per layer, the field's visibility and name (same order as `ModelDecl::layers`).
    pub fields: Vec<(TokenStream, Ident)>,
}

fn snake_case(name: &str) -> String {
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.extend(c.to_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// The name of the module holding a model's plan consts: `Mlp` → `mlp_plan`.
pub fn plan_module_name(model: &str) -> String {
    format!("{}_plan", snake_case(model))
}

/// Emits the model: the struct with its weights, a `<model>_plan` module of `const` configs, and
/// `load`, `input` and `forward`.
pub fn model_tokens(decl: &ModelDecl, plan: &ModelPlan, item: &ModelItem) -> TokenStream {
    model_multi_tokens(&[(None, decl, plan)], item)
}

/// The `const` configs of one plan, one per layer.
fn layer_consts(decl: &ModelDecl, plan: &ModelPlan) -> Vec<TokenStream> {
    let mut consts = Vec::new();
    for (layer, lp) in decl.layers.iter().zip(&plan.layers) {
        let const_ident = Ident::new(&layer.name.to_uppercase(), Span::call_site());
        let name = &layer.name;
        match (&layer.kind, lp) {
            (LayerKind::Linear(_), LayerPlan::Linear(p)) => {
                let c = &p.config;
                let doc = format!(
                    " `{name}`: [{}, {}] × [{}, {}], {}; {} cores, {} B L1 per core, est. {:.2} µs.",
                    c.m,
                    c.k,
                    c.k,
                    c.n,
                    c.program_config.ttnn_name(),
                    p.cost.cores,
                    p.l1.total(),
                    p.cost.total_us
                );
                let value = c.const_expr();
                consts.push(quote! {
                    #[doc = #doc]
                    pub const #const_ident: LinearConfig = #value;
                });
            }
        }
    }
    consts
}

/// The inside of a plan module: imports, the device and the layer configs.
fn plan_module_body(decl: &ModelDecl, plan: &ModelPlan) -> TokenStream {
    let dev_const = format_ident!("{}", decl.device.name.to_uppercase());
    let consts = layer_consts(decl, plan);
    quote! {
        #![allow(unused_imports)]
        use ::tttv2::device::DeviceProfile;
        use ::tttv2::op::LinearConfig;
        use ::tttv2::ttnn::*;

        /// The device the plan was made for.
        pub const DEVICE: DeviceProfile = DeviceProfile::#dev_const;
        #(#consts)*
    }
}

/// The "Hardware requirements" section of the struct's doc for one plan.
fn requirements_doc(decl: &ModelDecl, plan: &ModelPlan) -> String {
    let device_name = decl.device.name;
    let rows = decl.batch;
    let policy = format!("{:?}", decl.policy).to_lowercase();
    format!(
        " # Hardware requirements (planned by tttv2 for `{device_name}`)\n\n\
         * policy: `{policy}`, rows per forward: {rows}\n\
         * cores: {}\n* peak L1 per core: {} B\n* estimated forward time: {:.2} µs",
        plan.max_cores(),
        plan.l1_peak_bytes_per_core(),
        plan.estimate_us()
    )
}

/// Emits a model planned for one or more devices. With one plan and no module name, the configs
/// are in `<model>_plan` itself; with several (`devices = [...]`), each device's are in
/// `<model>_plan::<module>` and the first's are re-exported from `<model>_plan`, which is what the
/// methods use. All plans share the layers, hence the struct, `load`, `input` and `forward`.
pub fn model_multi_tokens(plans: &[(Option<Ident>, &ModelDecl, &ModelPlan)], item: &ModelItem) -> TokenStream {
    let ModelItem { attrs, vis, ident, fields } = item;
    let (_, decl, _) = plans.first().expect("at least one plan");
    let plan_mod = format_ident!("{}", plan_module_name(&ident.to_string()));

    let mut struct_fields = Vec::new();
    let mut loads = Vec::new();
    for (layer, (fvis, fident)) in decl.layers.iter().zip(fields) {
        let const_ident = Ident::new(&layer.name.to_uppercase(), Span::call_site());
        let name = &layer.name;
        match &layer.kind {
            LayerKind::Linear(_) => {
                struct_fields.push(quote!(#fvis #fident: ::tttv2::nn::Linear));
                loads.push(quote! {
                    #fident: ::tttv2::nn::Linear::load(device, weights, #name, &#plan_mod::#const_ident)?
                });
            }
        }
    }
    // `forward` is the first plan's program, statement for statement, as a Llama step is.
    let (_, _, first_plan) = plans.first().expect("at least one plan");
    let program = first_plan.program(decl);
    let names = Names::default();
    let refs = [TensorRef::local("x")];
    let mut cx = Cx {
        names: &names,
        linears: quote!(#plan_mod),
        per_bucket: quote!(#plan_mod),
        refs: &refs,
        slots: Slots::Values,
    };
    let steps = statements(&program.prologue, &mut cx, "");
    let output = program.prologue.last().and_then(|o| o.outputs.first()).map(local_ident);
    let first_const = decl.layers.first().map(|l| Ident::new(&l.name.to_uppercase(), Span::call_site()));
    let first_in = decl.layers.first().map(|l| l.in_features()).unwrap_or(0);
    let last_out = decl.layers.last().map(|l| l.out_features()).unwrap_or(0);
    let rows = decl.batch;
    let mut summary = String::new();
    for (i, (module, d, p)) in plans.iter().enumerate() {
        if i > 0 {
            summary.push_str("\n\n");
        }
        summary.push_str(&requirements_doc(d, p));
        if let (Some(m), true) = (module, plans.len() > 1) {
            let role = if i == 0 { " (used by the methods below)" } else { "" };
            summary.push_str(&format!("\n* plan module: `{m}`{role}"));
        }
    }
    let module = match plans {
        [(None, d, p)] => {
            let device_name = d.device.name;
            let mod_doc = format!(" TT-NN configs chosen at compile time for [`{ident}`] on `{device_name}`.");
            let body = plan_module_body(d, p);
            quote! {
                #[doc = #mod_doc]
                #vis mod #plan_mod {
                    #body
                }
            }
        }
        _ => {
            let Some(primary) = plans[0].0.as_ref() else { panic!("several plans need module names") };
            let mod_doc = format!(
                " TT-NN configs chosen at compile time for [`{ident}`], one module per device whose tttv2 feature is enabled; the items of `{primary}` (the first) are re-exported here and used by [`{ident}`]'s methods."
            );
            let mods = plans.iter().map(|(m, d, p)| {
                let body = plan_module_body(d, p);
                let doc = format!(" The configs for `{}`.", d.device.name);
                quote! {
                    #[doc = #doc]
                    pub mod #m {
                        #body
                    }
                }
            });
            quote! {
                #[doc = #mod_doc]
                #vis mod #plan_mod {
                    #(#mods)*
                    pub use #primary::*;
                }
            }
        }
    };
    let (input_sig, forward_sig, load_sig) = (signatures::input(), signatures::forward(), signatures::load());
    let (input_fn, forward_fn) = match first_const {
        Some(fc) => {
            let input_doc =
                format!(" Uploads `x`, row-major `[{rows}, {first_in}]` f32, as the first layer expects it.");
            let fwd_doc =
                format!(" Runs the model on `x` (`[{rows}, {first_in}]`) and returns `[{rows}, {last_out}]`.");
            (
                quote! {
                    #[doc = #input_doc]
                    #input_sig {
                        ::tttv2::nn::Linear::input(device, x, &#plan_mod::#fc)
                    }
                },
                quote! {
                    #[doc = #fwd_doc]
                    #forward_sig {
                        use ::tttv2::ops;
                        #steps
                        Ok(#output)
                    }
                },
            )
        }
        None => (quote!(), quote!()),
    };
    let load_doc = " Loads every weight by name (`<field>.weight`, `<field>.bias`, Hugging Face layout `[out, in]`) and uploads it in its planned dtype and layout.";
    let summary_lines =
        summary.lines().map(|l| if l.is_empty() { String::new() } else { format!(" {}", l.trim_start()) });
    quote! {
        #attrs
        #[doc = ""]
        #(#[doc = #summary_lines])*
        #vis struct #ident {
            #(#struct_fields,)*
        }

        #module

        impl #ident {
            #[doc = #load_doc]
            #load_sig {
                device.expect_profile(&#plan_mod::DEVICE)?;
                Ok(Self {
                    #(#loads,)*
                })
            }

            #input_fn

            #forward_fn
        }
    }
}
