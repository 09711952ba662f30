//! The code emitted for a Llama-family decoder, shared by the `#[ttt_model]` expansion and
//! `tttv2 generate` so the two cannot drift apart.
//!
//! Emitted: the struct (documented with its hardware requirements), a `<model>_plan` module with
//! the target, the deployment manifest and the compute graph (JSON and DOT), and `manifest()` /
//! `graph()`. For plans the runtime executes today — single-chip, single-user prefill — also the
//! typed `PREFILL` configs as a `const` and `load` / `prefill`. Decode and multi-chip plans carry
//! their artifacts only, and their doc comment says why no forward is generated.
//!
//! Each emitted part has its own function (the plan-module consts, the struct, the runtime
//! methods, the artifact methods), so a new part — e.g. a `DECODE` const and a `decode` method —
//! is one more function and one more line in [`plan_consts`] / [`impl_tokens`].

use proc_macro2::{Ident, Literal, TokenStream};
use quote::{format_ident, quote};

use super::{ConstExpr, plan_module_name};
use crate::device::SystemProfile;
use crate::graph::Graph;
use crate::hf::LlamaConfig;
use crate::manifest::Manifest;
use crate::op::llama::LlamaPrefillConfig;
use crate::op::llama_decode::LlamaDecodeConfig;
use crate::plan::Mode;
use crate::plan::llama::{LlamaOptions, LlamaPlan, plan_llama, plan_llama_prefill_for};

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
    /// Write the multi-line JSON and DOT as raw string literals, one source line per line, so a
    /// changed plan shows up as a readable diff of committed generated source. The macro passes
    /// `false`: nobody reads its output as text, and the value is the same either way.
    pub raw_strings: bool,
}

/// One device's plan, with the estimates of the prefill buckets planned alongside it.
pub struct DevicePlan<'a> {
    /// The name of the device's module inside the plan module (`devices = [...]` only).
    pub module: Option<Ident>,
    /// The plan.
    pub plan: &'a LlamaPlan,
    /// `(seq_len, µs)` per prefill bucket; empty when no range was planned.
    pub prefill_buckets_us: Vec<(u32, f64)>,
}

/// Prefill over a range of prompt lengths: plans each power-of-two bucket in `lo..=hi` too, so the
/// manifest states the latency of every bucket. Empty for decode or without a range. Buckets the
/// planner rejects are left out (the plan for `hi` itself succeeded, so only buckets that differ
/// in shape can fail).
pub fn prefill_buckets(cfg: &LlamaConfig, system: &SystemProfile, opts: &LlamaOptions, range: Option<(u32, u32)>) -> Vec<(u32, f64)> {
    let mut buckets = Vec::new();
    if let (Mode::Prefill, Some((lo, hi))) = (opts.mode, range) {
        let mut s = lo.next_power_of_two().max(32);
        while s <= hi {
            let mut o = opts.clone();
            o.seq_len = s;
            if let Ok(p) = plan_llama(cfg, system, &o) {
                buckets.push((s, p.totals.estimate_us));
            }
            s *= 2;
        }
    }
    buckets
}

/// `s` as a string literal: raw (`r#"…"#`, as many `#` as needed) or escaped.
fn str_literal(s: &str, raw: bool) -> Literal {
    if !raw {
        return Literal::string(s);
    }
    let mut hashes = String::from("#");
    while s.contains(&format!("\"{hashes}")) {
        hashes.push('#');
    }
    format!("r{hashes}\"{s}\"{hashes}").parse().expect("a raw string literal")
}

/// Everything emitted about one plan, computed once.
struct Artifacts {
    manifest_json: Literal,
    graph_json: Literal,
    graph_dot: Literal,
    /// The "Hardware requirements" section of the struct's doc comment.
    requirements_doc: String,
    /// The typed configs the runtime executes, or why it cannot execute this plan yet.
    runnable: Result<Runnable, String>,
    /// `DeviceProfile::<this>` for the chip.
    chip_const: Ident,
}

fn artifacts(name: &str, d: &DevicePlan, raw: bool) -> Artifacts {
    let plan = d.plan;
    let manifest = Manifest::new(name.to_owned(), plan, d.prefill_buckets_us.clone());
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
        manifest_json: str_literal(&manifest.to_json(), raw),
        // Compact JSON is one line: a raw literal would only save the escapes.
        graph_json: Literal::string(&serde_json::to_string(&graph).expect("a graph serializes")),
        graph_dot: str_literal(&graph.to_dot(name), raw),
        requirements_doc,
        runnable: runnable(plan),
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
    let a = artifacts(&name, plan, item.raw_strings);
    let plan_mod = format_ident!("{}", plan_module_name(&name));
    let doc = struct_doc(&[(None, &a)], &a);
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
    let all: Vec<(Option<&Ident>, Artifacts)> = plans.iter().map(|d| (d.module.as_ref(), artifacts(&name, d, item.raw_strings))).collect();
    let (Some((Some(primary), first)), true) = (all.first(), all.iter().all(|(m, _)| m.is_some())) else {
        panic!("llama_multi_tokens needs at least one plan, each with a module name");
    };
    let plan_mod = format_ident!("{}", plan_module_name(&name));
    let refs: Vec<(Option<&Ident>, &Artifacts)> = all.iter().map(|(m, a)| (*m, a)).collect();
    let doc = struct_doc(&refs, first);
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
fn assemble(item: &LlamaItem, plan_mod: &Ident, doc: Vec<String>, primary: &Artifacts, module: TokenStream) -> TokenStream {
    let strukt = struct_tokens(item, &doc, &primary.runnable);
    let imp = impl_tokens(&item.ident, plan_mod, &primary.runnable);
    let track = item.track_file.as_ref().map(|path| quote!(const _: &[u8] = include_bytes!(#path);));
    quote! {
        #strukt
        #module
        #imp
        #track
    }
}

/// The struct's doc lines after the user's: each plan's hardware requirements, then what the
/// methods give (and, if nothing runs, why).
fn struct_doc(sections: &[(Option<&Ident>, &Artifacts)], primary: &Artifacts) -> Vec<String> {
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
    let why_not = match &primary.runnable {
        Ok(_) => String::new(),
        Err(e) => format!(" No forward is generated for this plan: {e}."),
    };
    doc.push_str(&format!("\n\n`manifest()` gives every op's configs.{why_not}"));
    doc.lines().map(|l| if l.is_empty() { String::new() } else { format!(" {}", l.trim_start()) }).collect()
}

/// The struct: a unit struct for plans the runtime cannot execute, else it holds the model.
fn struct_tokens(item: &LlamaItem, doc: &[String], runnable: &Result<Runnable, String>) -> TokenStream {
    let LlamaItem { attrs, vis, ident, .. } = item;
    let body = match runnable {
        Ok(_) => quote!({ model: ::tttv2::nn::llama::Llama }),
        Err(_) => quote!(;),
    };
    quote! {
        #attrs
        #[doc = ""]
        #(#[doc = #doc])*
        #vis struct #ident #body
    }
}

/// The inside of a plan module: imports and [`plan_consts`].
fn plan_module_body(a: &Artifacts) -> TokenStream {
    let consts = plan_consts(a);
    quote! {
        #![allow(unused_imports)]
        use ::tttv2::device::DeviceProfile;
        use ::tttv2::op::LinearConfig;
        use ::tttv2::op::llama::*;
        use ::tttv2::op::llama_decode::*;
        use ::tttv2::ttnn::*;

        #consts
    }
}

/// The plan's consts: the device, the manifest, the graph, and the runtime's typed configs.
fn plan_consts(a: &Artifacts) -> TokenStream {
    let Artifacts { manifest_json, graph_json, graph_dot, chip_const, .. } = a;
    let prefill = a.runnable.as_ref().ok().map(runtime_consts);
    quote! {
        /// The device the plan was made for.
        pub const DEVICE: DeviceProfile = DeviceProfile::#chip_const;
        /// The deployment manifest: every op's TT-NN configs and the hardware requirements.
        pub const MANIFEST_JSON: &str = #manifest_json;
        /// The compute graph: ops with shapes, dtypes and configs, and the data flow.
        pub const GRAPH_JSON: &str = #graph_json;
        /// The compute graph as Graphviz DOT (`dot -Tsvg`).
        pub const GRAPH_DOT: &str = #graph_dot;
        #prefill
    }
}

/// What the runtime executes of a plan: a single-user prefill plan, or a decode plan together
/// with the prefill buckets that fill its KV cache.
#[derive(Debug, Clone)]
enum Runnable {
    Prefill(LlamaPrefillConfig),
    Decode { buckets: Vec<LlamaPrefillConfig>, decode: LlamaDecodeConfig },
}

/// Prompt lengths a decode model's prefill is planned for: powers of two from 128 up to the KV
/// cache (or the cache length itself when it is shorter than 128).
fn decode_prefill_lengths(seq_len: u32) -> Vec<u32> {
    if seq_len < 128 {
        return vec![seq_len];
    }
    std::iter::successors(Some(128u32), |s| s.checked_mul(2)).take_while(|&s| s <= seq_len).collect()
}

/// The typed configs of a plan the runtime can execute (single-chip single-user prefill, or
/// single-chip decode of ≤ 32 users with its prefill buckets), or why it cannot.
fn runnable(plan: &LlamaPlan) -> Result<Runnable, String> {
    let opts = &plan.options;
    match opts.mode {
        Mode::Prefill => LlamaPrefillConfig::from_plan(plan).map(Runnable::Prefill),
        Mode::Decode => {
            let decode = LlamaDecodeConfig::from_plan(plan)?;
            let system = SystemProfile::by_name(plan.system).ok_or_else(|| format!("unknown system `{}`", plan.system))?;
            let mut buckets = Vec::new();
            for s in decode_prefill_lengths(opts.seq_len) {
                // Each bucket runs on the decode plan's weights (one copy on the device).
                let p = plan_llama_prefill_for(plan, &system, s).map_err(|e| format!("the {s}-token prefill bucket cannot be planned: {e}"))?;
                buckets.push(LlamaPrefillConfig::from_plan(&p).map_err(|e| format!("the {s}-token prefill bucket: {e}"))?);
            }
            Ok(Runnable::Decode { buckets, decode })
        }
    }
}

/// `PREFILL` (prefill plans) or `PREFILL_BUCKETS` + `DECODE` (decode plans).
fn runtime_consts(r: &Runnable) -> TokenStream {
    match r {
        Runnable::Prefill(pc) => {
            let value = pc.const_expr();
            quote! {
                /// Every op's configs for one prefill, as the runtime takes them.
                pub const PREFILL: LlamaPrefillConfig = #value;
            }
        }
        Runnable::Decode { buckets, decode } => {
            let n = Literal::usize_unsuffixed(buckets.len());
            let lens = buckets.iter().map(|b| b.seq_len.to_string()).collect::<Vec<_>>().join(", ");
            let bucket_doc = format!(" Prefill configs for prompts of up to {lens} tokens (one user per call).");
            let buckets = buckets.iter().map(ConstExpr::const_expr);
            let decode = decode.const_expr();
            quote! {
                #[doc = #bucket_doc]
                pub const PREFILL_BUCKETS: [LlamaPrefillConfig; #n] = [#(#buckets),*];
                /// Every op's configs for one decode step of all users, as the runtime takes them.
                pub const DECODE: LlamaDecodeConfig = #decode;
            }
        }
    }
}

/// The impl block: the runtime methods (when the plan runs) and the artifact accessors.
fn impl_tokens(ident: &Ident, plan_mod: &Ident, runnable: &Result<Runnable, String>) -> TokenStream {
    let runtime = runnable.as_ref().ok().map(|r| match r {
        Runnable::Prefill(_) => prefill_methods(plan_mod),
        Runnable::Decode { .. } => decode_methods(plan_mod),
    });
    let artifacts = artifact_methods(plan_mod);
    quote! {
        impl #ident {
            #runtime

            #artifacts
        }
    }
}

/// `load` and `prefill`, for prefill plans.
fn prefill_methods(plan_mod: &Ident) -> TokenStream {
    quote! {
        /// Loads every weight by its Hugging Face name and uploads it as planned.
        pub fn load(device: &::tttv2::Device, weights: &impl ::tttv2::nn::WeightSource) -> ::tttv2::Result<Self> {
            device.expect_profile(&#plan_mod::DEVICE)?;
            let plans = ::tttv2::nn::llama::LlamaPlans { prefill: vec![#plan_mod::PREFILL], decode: None };
            Ok(Self { model: ::tttv2::nn::llama::Llama::load(device, weights, plans)? })
        }

        /// The runtime model: its plans, KV cache and device weight bytes.
        pub fn model(&self) -> &::tttv2::nn::llama::Llama {
            &self.model
        }

        /// Runs a prompt (at most the planned `seq_len` tokens) and returns the logits of
        /// its last token.
        pub fn prefill(&mut self, device: &::tttv2::Device, tokens: &[u32]) -> ::tttv2::Result<Vec<f32>> {
            self.model.prefill(device, 0, tokens)
        }
    }
}

/// `load`, `prefill`, `decode` and `generate`, for decode plans.
fn decode_methods(plan_mod: &Ident) -> TokenStream {
    quote! {
        /// Loads every weight by its Hugging Face name and uploads it as planned.
        pub fn load(device: &::tttv2::Device, weights: &impl ::tttv2::nn::WeightSource) -> ::tttv2::Result<Self> {
            device.expect_profile(&#plan_mod::DEVICE)?;
            let plans = ::tttv2::nn::llama::LlamaPlans { prefill: #plan_mod::PREFILL_BUCKETS.to_vec(), decode: Some(#plan_mod::DECODE) };
            Ok(Self { model: ::tttv2::nn::llama::Llama::load(device, weights, plans)? })
        }

        /// The runtime model: its plans, KV cache and device weight bytes.
        pub fn model(&self) -> &::tttv2::nn::llama::Llama {
            &self.model
        }

        /// Runs user `user`'s prompt through the smallest bucket that holds it, fills its KV
        /// cache rows and returns the logits of its last token.
        pub fn prefill(&mut self, device: &::tttv2::Device, user: u32, tokens: &[u32]) -> ::tttv2::Result<Vec<f32>> {
            self.model.prefill(device, user, tokens)
        }

        /// One decode step: user `u` feeds `tokens[u]` at position `positions[u]`; returns
        /// each user's logits.
        pub fn decode(&mut self, device: &::tttv2::Device, tokens: &[u32], positions: &[u32]) -> ::tttv2::Result<Vec<Vec<f32>>> {
            self.model.decode(device, tokens, positions)
        }

        /// Prefill, then decode every user together until EOS or the token limit.
        pub fn generate(
            &mut self,
            device: &::tttv2::Device,
            prompts: &[Vec<u32>],
            options: &::tttv2::nn::generate::GenerateOptions,
            on_token: impl FnMut(usize, u32),
        ) -> ::tttv2::Result<::tttv2::nn::generate::Generation> {
            self.model.generate(device, prompts, options, on_token)
        }
    }
}

/// `manifest()` and `graph()`.
fn artifact_methods(plan_mod: &Ident) -> TokenStream {
    quote! {
        /// The deployment manifest, parsed.
        pub fn manifest() -> ::tttv2::serde_json::Value {
            ::tttv2::serde_json::from_str(#plan_mod::MANIFEST_JSON).expect("the embedded manifest is valid JSON")
        }

        /// The compute graph, parsed (`nodes`, `edges`).
        pub fn graph() -> ::tttv2::serde_json::Value {
            ::tttv2::serde_json::from_str(#plan_mod::GRAPH_JSON).expect("the embedded graph is valid JSON")
        }
    }
}

