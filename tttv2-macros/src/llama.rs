//! The expansion of a Llama-family decoder: plan every op of the model at compile time and emit
//! the plan's artifacts.
//!
//! Emitted: the struct (documented with its hardware requirements), a `<model>_plan` module with
//! the target, the deployment manifest and the compute graph (JSON and DOT), and `manifest()` /
//! `graph()`. For plans the runtime executes today — single-chip, single-user prefill — also the
//! typed `PREFILL` configs as a `const` and `load` / `prefill`. Decode and multi-chip plans carry
//! their artifacts only, and their doc comment says why no forward is generated.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use tttv2_core::device::{DeviceProfile, SystemProfile};
use tttv2_core::hf::LlamaConfig;
use tttv2_core::manifest::Manifest;
use tttv2_core::plan::Mode;
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
            let span = match &e {
                LlamaPlanError::MemoryBudget { .. } => attrs
                    .spans
                    .get("memory_budget")
                    .or(attrs.spans.get("seq_len"))
                    .or(attrs.spans.get("device"))
                    .copied(),
                _ => attrs.spans.get("config").copied(),
            }
            .unwrap_or(model.span());
            cx.error_at(span, e.to_string());
            return with_stub(cx, feature_error, model);
        }
    };
    // Prefill over a range of prompt lengths: plan each power-of-two bucket in the range too,
    // so the manifest states the latency of every bucket.
    let mut buckets = Vec::new();
    if let (Mode::Prefill, Some((lo, hi))) = (opts.mode, attrs.seq_len) {
        let mut s = lo.next_power_of_two().max(32);
        while s <= hi {
            let mut o = opts.clone();
            o.seq_len = s;
            if let Ok(p) = plan_llama(&cfg, &system, &o) {
                buckets.push((s, p.totals.estimate_us));
            }
            s *= 2;
        }
    }
    let name = model.ident.to_string();
    let manifest = Manifest::new(name.clone(), &plan, buckets);
    let json = manifest.to_json();
    let graph = tttv2_core::graph::Graph::from_llama(&plan);
    let graph_json = serde_json::to_string(&graph).expect("a graph serializes");
    let graph_dot = graph.to_dot(&name);
    let r = &manifest.requirements;
    let t = &plan.totals;
    let doc = format!(
        " # Hardware requirements (planned by tttv2 for `{sys}`, {mode:?}, batch {batch}, seq_len {seq})\n\n\
         * ops per call: {ops}; cores: {cores}; peak L1 per core: {l1} B\n\
         * DRAM per chip: weights {w} B, KV cache {kv} B (budget {budget} B)\n\
         * estimated time per call: {est:.1} µs ({tps:.1} tokens/s), {roof:.0}% of the DRAM-bandwidth roofline\n\
         * trace region: at least {trace} B\n\
         * fingerprint: `{fp}`\n\n\
         The Llama forward is not generated yet; `manifest()` gives every op's configs.",
        sys = plan.system,
        mode = opts.mode,
        batch = opts.batch,
        seq = opts.seq_len,
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
    let errors = feature_error.into_compile_errors();
    let attrs_tokens = model.attr_tokens();
    let vis = &model.vis;
    let ident = &model.ident;
    let plan_mod = format_ident!("{}", tttv2_core::codegen::plan_module_name(&name));
    let dev_const = format_ident!("{}", device.name.to_uppercase());
    // Rebuild when the config file changes.
    let track = attrs.config.as_ref().map(|c| {
        let path = c.value.1.display().to_string();
        quote!(const _: &[u8] = include_bytes!(#path);)
    });
    let mod_doc = format!(" The compile-time plan of [`{name}`].");
    // A plan the runtime can execute today gets its typed configs as consts and the methods that
    // run them: single-chip single-user prefill plans `load` / `prefill`; single-chip decode plans
    // (≤ 32 users) also prefill buckets, `decode` and `generate`. Other plans carry their
    // artifacts only.
    let runnable = runtime_items(&plan, &cfg, &system, &opts, &plan_mod);
    let (prefill_const, struct_body, runtime_impl) = match &runnable {
        Ok(items) => items.clone(),
        Err(_) => (quote!(), quote!(;), quote!()),
    };
    let why_not = match &runnable {
        Ok(_) => String::new(),
        Err(e) => format!(" No forward is generated for this plan: {e}."),
    };
    let doc = doc.replace(
        "The Llama forward is not generated yet; `manifest()` gives every op's configs.",
        &format!("`manifest()` gives every op's configs.{why_not}"),
    );
    let doc_lines: Vec<String> = doc.lines().map(|l| if l.is_empty() { String::new() } else { format!(" {}", l.trim_start()) }).collect();
    quote! {
        #errors
        #attrs_tokens
        #[doc = ""]
        #(#[doc = #doc_lines])*
        #vis struct #ident #struct_body

        #[doc = #mod_doc]
        #vis mod #plan_mod {
            #![allow(unused_imports)]
            use ::tttv2::device::DeviceProfile;
            use ::tttv2::op::LinearConfig;
            use ::tttv2::op::llama::*;
            use ::tttv2::op::llama_decode::*;
            use ::tttv2::ttnn::*;

            /// The device the plan was made for.
            pub const DEVICE: DeviceProfile = DeviceProfile::#dev_const;
            /// The deployment manifest: every op's TT-NN configs and the hardware requirements.
            pub const MANIFEST_JSON: &str = #json;
            /// The compute graph: ops with shapes, dtypes and configs, and the data flow.
            pub const GRAPH_JSON: &str = #graph_json;
            /// The compute graph as Graphviz DOT (`dot -Tsvg`).
            pub const GRAPH_DOT: &str = #graph_dot;
            #prefill_const
        }

        impl #ident {
            #runtime_impl

            /// The deployment manifest, parsed.
            pub fn manifest() -> ::tttv2::serde_json::Value {
                ::tttv2::serde_json::from_str(#plan_mod::MANIFEST_JSON).expect("the embedded manifest is valid JSON")
            }

            /// The compute graph, parsed (`nodes`, `edges`).
            pub fn graph() -> ::tttv2::serde_json::Value {
                ::tttv2::serde_json::from_str(#plan_mod::GRAPH_JSON).expect("the embedded graph is valid JSON")
            }
        }

        #track
    }
}

/// Prompt lengths a decode model's prefill is planned for: powers of two from 128 up to the KV
/// cache (or the cache length itself when it is shorter than 128).
fn prefill_buckets(seq_len: u32) -> Vec<u32> {
    if seq_len < 128 {
        return vec![seq_len];
    }
    let mut v = Vec::new();
    let mut s = 128;
    while s <= seq_len {
        v.push(s);
        s *= 2;
    }
    v
}

/// The consts, struct body and methods of a plan the runtime can run, or why it cannot.
fn runtime_items(
    plan: &tttv2_core::plan::llama::LlamaPlan,
    cfg: &LlamaConfig,
    system: &SystemProfile,
    opts: &LlamaOptions,
    plan_mod: &proc_macro2::Ident,
) -> Result<(TokenStream, TokenStream, TokenStream), String> {
    use tttv2_core::codegen::ConstExpr;
    use tttv2_core::op::llama::LlamaPrefillConfig;
    use tttv2_core::op::llama_decode::LlamaDecodeConfig;
    let body = quote!({ model: ::tttv2::nn::llama::Llama });
    let load_doc = quote! {
        /// Loads every weight by its Hugging Face name and uploads it as planned.
    };
    match opts.mode {
        Mode::Prefill => {
            let value = LlamaPrefillConfig::from_plan(plan)?.const_expr();
            Ok((
                quote! {
                    /// Every op's configs for one prefill, as the runtime takes them.
                    pub const PREFILL: LlamaPrefillConfig = #value;
                },
                body,
                quote! {
                    #load_doc
                    pub fn load(device: &::tttv2::Device, weights: &impl ::tttv2::nn::WeightSource) -> ::tttv2::Result<Self> {
                        device.expect_profile(&#plan_mod::DEVICE)?;
                        let plans = ::tttv2::nn::llama::LlamaPlans { prefill: vec![#plan_mod::PREFILL], decode: None };
                        Ok(Self { model: ::tttv2::nn::llama::Llama::load(device, weights, plans)? })
                    }

                    /// Runs a prompt (at most the planned `seq_len` tokens) and returns the logits of
                    /// its last token.
                    pub fn prefill(&mut self, device: &::tttv2::Device, tokens: &[u32]) -> ::tttv2::Result<Vec<f32>> {
                        self.model.prefill(device, 0, tokens)
                    }
                },
            ))
        }
        Mode::Decode => {
            let decode = LlamaDecodeConfig::from_plan(plan)?;
            let mut buckets = Vec::new();
            for s in prefill_buckets(opts.seq_len) {
                let o = LlamaOptions { mode: Mode::Prefill, batch: 1, seq_len: s, ..opts.clone() };
                let p = plan_llama(cfg, system, &o).map_err(|e| format!("the {s}-token prefill bucket cannot be planned: {e}"))?;
                buckets.push(LlamaPrefillConfig::from_plan(&p).map_err(|e| format!("the {s}-token prefill bucket: {e}"))?);
            }
            let n = proc_macro2::Literal::usize_unsuffixed(buckets.len());
            let lens = buckets.iter().map(|b| b.seq_len.to_string()).collect::<Vec<_>>().join(", ");
            let bucket_doc = format!(" Prefill configs for prompts of up to {lens} tokens (one user per call).");
            let buckets = buckets.iter().map(ConstExpr::const_expr);
            let decode = decode.const_expr();
            Ok((
                quote! {
                    #[doc = #bucket_doc]
                    pub const PREFILL_BUCKETS: [LlamaPrefillConfig; #n] = [#(#buckets),*];
                    /// Every op's configs for one decode step of all users, as the runtime takes them.
                    pub const DECODE: LlamaDecodeConfig = #decode;
                },
                body,
                quote! {
                    #load_doc
                    pub fn load(device: &::tttv2::Device, weights: &impl ::tttv2::nn::WeightSource) -> ::tttv2::Result<Self> {
                        device.expect_profile(&#plan_mod::DEVICE)?;
                        let plans = ::tttv2::nn::llama::LlamaPlans { prefill: #plan_mod::PREFILL_BUCKETS.to_vec(), decode: Some(#plan_mod::DECODE) };
                        Ok(Self { model: ::tttv2::nn::llama::Llama::load(device, weights, plans)? })
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
                },
            ))
        }
    }
}
