//! The code emitted for a Llama-family decoder, shared by the `#[ttt_model]` expansion and
//! `tttv2 generate` so the two cannot drift apart.
//!
//! Emitted from a [`ModelProgram`] (planned in core by `plan_program`; nothing is planned
//! here): the struct (documented with its hardware requirements) with `load`, `prefill`,
//! `decode` / `generate`; a `<model>_plan` module with the target, the deployment manifest, the
//! compute graph (JSON and DOT) and the program's configs as consts; and `manifest()` / `graph()`.

use proc_macro2::{Ident, Literal, TokenStream};
use quote::{format_ident, quote};

use super::llama_program::methods_doc;
use super::plan_module_name;
use tttv2_core::graph::Graph;
use tttv2_core::manifest::Manifest;
use tttv2_core::plan::llama::{LlamaPlan, ModelProgram};

/// The parts of the user's declaration the generated code keeps, and how it was declared.
pub struct LlamaItem {
    /// Attributes (doc comments, derives…) to keep on the struct.
    pub attrs: TokenStream,
    /// Visibility of the struct and of its plan module.
    pub vis: TokenStream,
    /// The struct's name; also the model's name in the manifest.
    pub ident: Ident,
    /// A file whose changes must rebuild the model (the macro's `config.json`), emitted as an
    /// `include_bytes!`; `None` for standalone generated source, which has no such dependency.
    pub track_file: Option<String>,
    /// Read the manifest, graph and DOT from files beside the crate's `src/` (`manifest.json`,
    /// `graph.json`, `graph.dot`, written by `tttv2 generate`) with `include_str!`, so the
    /// generated source holds only the program. The macro passes `false` and embeds them.
    pub artifacts_beside: bool,
}

/// One device's program.
pub struct DevicePlan<'a> {
    /// The name of the device's module inside the plan module (`devices = [...]` only).
    pub module: Option<Ident>,
    /// The program ([`tttv2_core::plan::llama::plan_program`]).
    pub program: &'a ModelProgram,
}

/// A text artifact: `include_str!("../<file>")` when it is written beside the source, else a
/// string literal.
fn text(s: &str, file: Option<&str>) -> TokenStream {
    match file {
        Some(f) => {
            let path = format!("../{f}");
            quote!(include_str!(#path))
        }
        None => {
            let l = Literal::string(s);
            quote!(#l)
        }
    }
}

/// Everything emitted about one plan, computed once.
struct Artifacts<'a> {
    manifest_json: TokenStream,
    graph_json: TokenStream,
    graph_dot: TokenStream,
    /// The "Hardware requirements" section of the struct's doc comment.
    requirements_doc: String,
    /// The program generated code runs.
    program: &'a ModelProgram,
    /// `DeviceProfile::<this>` for the chip.
    chip_const: Ident,
}

fn artifacts<'a>(name: &str, d: &DevicePlan<'a>, beside: bool) -> Artifacts<'a> {
    let plan = d.program.main();
    let manifest = Manifest::new(name.to_owned(), plan, d.program.prefill_estimates_us.clone());
    let graph = Graph::from_llama(plan);
    let r = &manifest.requirements;
    let t = &plan.totals;
    let o = &plan.options;
    let requirements_doc = format!(
        " # Hardware requirements (planned by tttv2 for `{sys}`, {mode:?}, batch {batch}, seq_len {seq})\n\n\
         * ops per call: {ops}; cores: {cores}; peak L1 per core: {l1} B\n\
         * DRAM per chip: weights {w} B, KV cache {kv} B (budget {budget} B)\n\
         * estimated time per call: {est:.1} µs ({tps:.1} tokens/s), {roof:.0}% of the DRAM-bandwidth roofline\n\
         * trace region: at least {trace} B\n\
         * fingerprint: `{fp}`",
        sys = plan.system,
        mode = o.mode,
        batch = o.batch,
        seq = o.seq_len,
        ops = t.ops,
        cores = r.min_cores,
        l1 = r.peak_l1_bytes_per_core,
        w = r.dram.weights,
        kv = r.dram.kv_cache,
        budget = r.dram.budget,
        est = t.estimate_us,
        tps = t.tokens_per_s,
        roof = t.roofline_fraction * 100.0,
        trace = r.trace_region_bytes,
        fp = manifest.fingerprint,
    );
    Artifacts {
        manifest_json: text(&manifest.to_json(), beside.then_some("manifest.json")),
        // Compact JSON is one line: a raw literal would only save the escapes.
        graph_json: text(&serde_json::to_string(&graph).expect("a graph serializes"), beside.then_some("graph.json")),
        graph_dot: text(&graph.to_dot(name), beside.then_some("graph.dot")),
        requirements_doc,
        program: d.program,
        chip_const: format_ident!("{}", plan.chip.to_uppercase()),
    }
}

/// The fingerprint of the manifest [`llama_tokens`] embeds for `plan` (the header of generated
/// source states it).
pub fn fingerprint(name: &str, plan: &LlamaPlan, prefill_buckets_us: Vec<(u32, f64)>) -> String {
    Manifest::new(name.to_owned(), plan, prefill_buckets_us).fingerprint
}

/// Emits a Llama model planned for one device: the struct, `<model>_plan` and the impls.
pub fn llama_tokens(item: &LlamaItem, plan: &DevicePlan) -> TokenStream {
    let name = item.ident.to_string();
    let a = artifacts(&name, plan, item.artifacts_beside);
    let plan_mod = format_ident!("{}", plan_module_name(&name));
    let doc = struct_doc(&[(None, &a)], &a, &plan_mod);
    let body = plan_module_body(&a);
    let vis = &item.vis;
    let mod_doc = format!(" The compile-time plan of [`{name}`].");
    let module = quote! {
        #[doc = #mod_doc]
        #vis mod #plan_mod {
            #body
        }
    };
    assemble(item, &plan_mod, doc, &a, module)
}

/// Emits a Llama model planned for several devices (`devices = [...]`): one module per device
/// inside `<model>_plan`, and `<model>_plan` re-exporting the first one's items so the struct and
/// its impls (written against `<model>_plan::DEVICE`, `::PREFILL`, …) use it. The caller passes
/// only the devices whose Cargo feature is enabled, in the order the user listed them.
pub fn llama_multi_tokens(item: &LlamaItem, plans: &[DevicePlan]) -> TokenStream {
    let name = item.ident.to_string();
    let all: Vec<(Option<&Ident>, Artifacts)> =
        plans.iter().map(|d| (d.module.as_ref(), artifacts(&name, d, item.artifacts_beside))).collect();
    let (Some((Some(primary), first)), true) = (all.first(), all.iter().all(|(m, _)| m.is_some())) else {
        panic!("llama_multi_tokens needs at least one plan, each with a module name");
    };
    let plan_mod = format_ident!("{}", plan_module_name(&name));
    let refs: Vec<(Option<&Ident>, &Artifacts)> = all.iter().map(|(m, a)| (*m, a)).collect();
    let doc = struct_doc(&refs, first, &plan_mod);
    let vis = &item.vis;
    let mod_doc = format!(
        " The compile-time plans of [`{name}`], one module per device whose tttv2 feature is enabled; the items of `{primary}` (the first) are re-exported here and used by [`{name}`]'s methods."
    );
    let device_mods = all.iter().map(|(m, a)| {
        let body = plan_module_body(a);
        let d = format!(" The plan for `{}`.", a.chip_const.to_string().to_lowercase());
        quote! {
            #[doc = #d]
            pub mod #m {
                #body
            }
        }
    });
    let module = quote! {
        #[doc = #mod_doc]
        #vis mod #plan_mod {
            #(#device_mods)*
            pub use #primary::*;
        }
    };
    assemble(item, &plan_mod, doc, first, module)
}

/// The struct, the plan module, the impls and the rebuild tracker, in that order.
fn assemble(
    item: &LlamaItem,
    plan_mod: &Ident,
    doc: Vec<String>,
    primary: &Artifacts,
    module: TokenStream,
) -> TokenStream {
    let code = super::llama_program::program_tokens(item, plan_mod, &doc, primary.program);
    let artifacts = artifact_methods(plan_mod);
    let ident = &item.ident;
    let track = item.track_file.as_ref().map(|path| {
        quote!(
            const _: &[u8] = include_bytes!(#path);
        )
    });
    quote! {
        #code
        #module
        impl #ident {
            #artifacts
        }
        #track
    }
}

/// The struct's doc lines after the user's: each plan's hardware requirements, then what the
/// methods give (and, if nothing runs, why).
fn struct_doc(sections: &[(Option<&Ident>, &Artifacts)], primary: &Artifacts, plan_mod: &Ident) -> Vec<String> {
    let mut doc = String::new();
    for (i, (module, a)) in sections.iter().enumerate() {
        if i > 0 {
            doc.push_str("\n\n");
        }
        doc.push_str(&a.requirements_doc);
        if let (Some(m), true) = (module, sections.len() > 1) {
            let role = if i == 0 { " (used by the methods below)" } else { "" };
            doc.push_str(&format!("\n* plan module: `{m}`{role}"));
        }
    }
    doc.push_str(&methods_doc(primary.program, &plan_mod.to_string()));
    doc.lines().map(|l| if l.is_empty() { String::new() } else { format!(" {}", l.trim_start()) }).collect()
}

/// The inside of a plan module: imports, the artifacts and the program's consts.
fn plan_module_body(a: &Artifacts) -> TokenStream {
    let Artifacts { manifest_json, graph_json, graph_dot, chip_const, .. } = a;
    let program = super::llama_program::plan_consts(a.program);
    quote! {
        #![allow(unused_imports)]
        use ::tttv2::device::DeviceProfile;
        use ::tttv2::op::LinearConfig;
        use ::tttv2::ttnn::*;

        /// The device the plan was made for.
        pub const DEVICE: DeviceProfile = DeviceProfile::#chip_const;
        /// The deployment manifest: every op's TT-NN configs and the hardware requirements.
        pub const MANIFEST_JSON: &str = #manifest_json;
        /// The compute graph: ops with shapes, dtypes and configs, and the data flow.
        pub const GRAPH_JSON: &str = #graph_json;
        /// The compute graph as Graphviz DOT (`dot -Tsvg`).
        pub const GRAPH_DOT: &str = #graph_dot;
        #program
    }
}

/// `manifest()` and `graph()`.
fn artifact_methods(plan_mod: &Ident) -> TokenStream {
    let (manifest_sig, graph_sig) = (super::signatures::manifest(), super::signatures::graph());
    quote! {
        /// The deployment manifest, parsed.
        #manifest_sig {
            ::tttv2::serde_json::from_str(#plan_mod::MANIFEST_JSON).expect("the embedded manifest is valid JSON")
        }

        /// The compute graph, parsed (`nodes`, `edges`).
        #graph_sig {
            ::tttv2::serde_json::from_str(#plan_mod::GRAPH_JSON).expect("the embedded graph is valid JSON")
        }
    }
}
