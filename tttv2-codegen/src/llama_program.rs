//! The program emitted for a Llama-family decoder: the struct holding a named field per device
//! tensor, `load`, and per step (a decode step, each prefill bucket) a function that is the
//! plan's op sequence, statement for statement, with one function per distinct layer plan.
//! Prefill buckets that run the same statements share their functions, generic over a bucket
//! trait whose associated consts are the configs they differ in (`SharedBuckets`).

use proc_macro2::{Ident, Literal, TokenStream};
use quote::{format_ident, quote};

use super::ConstExpr;
use super::llama::LlamaItem;
use super::program::{Cx, Names, Slot, Slots, linear_const, linear_consts, local_ident, statements};
use super::signatures;
use tttv2_core::plan::Mode;
use tttv2_core::plan::llama::{ModelProgram, StepPlan, rope_inv_freq};
use tttv2_core::program::{Call, LayerPlan, LayerWeight, PlannedOp, RopeInput, StepInput, TensorArg, TensorRef};

/// The methods' signatures and what they do, for the struct's doc.
pub fn methods_doc(r: &ModelProgram, plan_mod: &str) -> String {
    let lens: Vec<String> = r.prefills().map(|s| s.plan.options.seq_len.to_string()).collect();
    let lens = lens.join(", ");
    let load = "* `load(device: &Device, weights: &impl WeightSource) -> Result<Self>`: uploads the weights, by their Hugging Face names";
    let tail = format!(
        "* `weight_bytes(&self) -> u64`; `manifest()` and `graph()` (`serde_json::Value`): every op's configs, the compute graph\n\
         * the compile-time configs: consts in `{plan_mod}` (`DEVICE`, `BATCH`, `MAX_SEQ_LEN`, `PREFILL_BUCKETS`, one per op)"
    );
    match r.mode {
        Mode::Decode => format!(
            "\n\n# Methods\n\n{load}\n\
             * `prefill(&mut self, device: &Device, user: u32, tokens: &[u32]) -> Result<Vec<f32>>`: a prompt through the smallest bucket ({lens} tokens) that holds it; the last token's logits\n\
             * `decode(&mut self, device: &Device, tokens: &[u32], positions: &[u32]) -> Result<Vec<Vec<f32>>>`: one step of up to {} users; each user's logits\n\
             * `generate(&mut self, device: &Device, prompts: &[Vec<u32>], options: &GenerateOptions, on_token: impl FnMut(usize, u32)) -> Result<Generation>`: prefill, then decode every user until EOS ([`tttv2::nn::generate`]; also [`tttv2::nn::CausalLm`])\n{tail}",
            r.decode().map_or(0, |d| d.plan.options.batch)
        ),
        Mode::Prefill => format!(
            "\n\n# Methods\n\n{load}\n\
             * `prefill(&mut self, device: &Device, tokens: &[u32]) -> Result<Vec<f32>>`: a prompt of up to {lens} tokens; the last token's logits\n{tail}"
        ),
    }
}

fn lit(v: u32) -> Literal {
    Literal::u32_unsuffixed(v)
}

/// The prefix of a layer plan's consts and functions: none when every layer runs one plan.
fn layer_prefix(step: &StepPlan, i: usize) -> String {
    if step.plan.program.layer_plans.len() == 1 {
        String::new()
    } else {
        format!("layers_{}_", step.plan.program.layer_plans[i].layers[0])
    }
}

/// The plan module's program consts: shapes, the folded RoPE frequencies, the hoisted configs,
/// one module of linear configs per step emitted alone, and per group of buckets sharing a
/// function its trait and the buckets' impls.
pub fn plan_consts(r: &ModelProgram) -> TokenStream {
    let mut names = Names::default();
    for s in &r.steps {
        names.collect(s.ops());
    }
    let hoisted = names.consts();
    let main = &r.steps[0].plan;
    let freqs = rope_inv_freq(&main.model);
    let nf = Literal::usize_unsuffixed(freqs.len());
    let freqs = freqs.iter().map(|f| f.const_expr());
    let batch = lit(main.options.batch);
    let cache = lit(main.options.seq_len);
    let lens: Vec<Literal> = r.prefills().map(|s| lit(s.plan.options.seq_len)).collect();
    let nl = Literal::usize_unsuffixed(lens.len());
    let tied = main.model.tie_word_embeddings;
    let model_config = main.model.const_expr();
    let model_config_sig = signatures::model_config();
    let steps = emissions(r, &names).into_iter().map(|e| match e {
        Emission::One(i) => {
            let s = &r.steps[i];
            let m = format_ident!("{}", s.module());
            let mut cx = cx_of(&names, quote!(#m), Slots::Values);
            let bucket = r.prefills().position(|p| p.module() == s.module()).unwrap_or(0);
            let body = step_code(s, bucket, &StepNames::one(s), &mut cx, &format_ident!("Model"), &m).linears;
            let doc = match s.plan.options.mode {
                Mode::Decode => format!(" Configs of one decode step ({} users).", s.plan.options.batch),
                Mode::Prefill => format!(" Configs of a prefill of up to {} tokens.", s.plan.options.seq_len),
            };
            quote! {
                #[doc = #doc]
                pub mod #m {
                    use super::*;
                    #body
                }
            }
        }
        Emission::Shared(g) => g.plan_items(r, &names),
    });
    quote! {
        /// Users per call: a decode step's batch (1 for prefill-only models).
        pub const BATCH: u32 = #batch;
        /// Positions the KV cache holds per user.
        pub const MAX_SEQ_LEN: u32 = #cache;
        /// The prefill buckets: a prompt runs through the smallest that holds it.
        pub const PREFILL_BUCKETS: [u32; #nl] = [#(#lens),*];
        /// The model's config as it was compiled: `load` refuses a checkpoint whose own config
        /// computes something else.
        #model_config_sig {
            #model_config
        }
        /// Whether the LM head reuses the embedding table (`tie_word_embeddings`).
        pub const TIE_WORD_EMBEDDINGS: bool = #tied;
        /// RoPE inverse frequencies, folded at build time (the cos/sin tables are computed from
        /// them once, at load).
        pub const ROPE_INV_FREQ: [f32; #nf] = [#(#freqs),*];
        #hoisted
        #(#steps)*
    }
}

/// The op of `ops` whose inputs include `tensor`.
fn reader<'a>(
    ops: impl IntoIterator<Item = &'a PlannedOp>,
    tensor: &TensorRef,
) -> Option<(&'a PlannedOp, &'a TensorArg)> {
    ops.into_iter().find_map(|o| o.inputs.iter().find(|t| t.tensor == *tensor).map(|t| (o, t)))
}

/// The struct field that holds a model's or a layer's tensor.
fn field(t: &TensorRef) -> Ident {
    match t {
        TensorRef::Model(w) => format_ident!("{}", w.field()),
        TensorRef::Layer(w) => format_ident!("{}", w.field()),
        TensorRef::Cache(c) => format_ident!("{}", c.field()),
        other => unreachable!("`{other}` is not held by the model"),
    }
}

/// The query and KV head counts the layer plan splits QKV into.
fn heads_of(ops: &[PlannedOp]) -> (u32, u32) {
    ops.iter()
        .find_map(|o| match o.call {
            Call::NlpCreateQkvHeads { num_q_heads, num_kv_heads, .. }
            | Call::NlpCreateQkvHeadsDecode { num_q_heads, num_kv_heads } => Some((num_q_heads, num_kv_heads)),
            _ => None,
        })
        .unwrap_or((1, 1))
}

/// How `load` makes the device tensor `t`, read by `op`: the weight transform (by Hugging Face
/// name, `{i}` the layer) and the upload in the planned placement. `lm_col` is the first
/// vocabulary column of an LM-head piece.
fn load_expr(
    t: &TensorArg,
    op: &PlannedOp,
    consts: &TokenStream,
    prefix: &str,
    names: &Names,
    heads: (u32, u32),
    lm_col: u32,
) -> TokenStream {
    let dt = t.dtype.const_expr();
    let mc = names.mc(&t.memory_config);
    let hf = |w: &str| {
        let f = w.replace("{layer}", "{i}");
        if f.contains("{i}") { quote!(&format!(#f)) } else { quote!(#f) }
    };
    match &op.call {
        Call::Linear(c) => {
            let cfg = linear_const(op, prefix);
            let (k, n) = (lit(c.k), lit(c.n));
            if t.tensor == TensorRef::Layer(LayerWeight::WqkvBias) {
                // The fused q/k/v bias, from the `.bias` tensors of the three projections.
                let b = |w: &String| hf(&w.replace(".weight", ".bias"));
                let (q, kk, v) = (b(&op.weights[0]), b(&op.weights[1]), b(&op.weights[2]));
                let (nq, nkv) = (lit(heads.0), lit(heads.1));
                return quote!(llama::upload_bias(device, &llama::qkv_bias(weights, [#q, #kk, #v], #nq, #nkv)?, &#consts::#cfg)?);
            }
            let data = if matches!(t.tensor, TensorRef::Model(w) if w.is_lm_head()) {
                let col = lit(lm_col);
                quote!(llama::columns(&lm_head_t, #k, #col, #n))
            } else if op.weights.len() == 3 {
                let (q, kk, v) = (hf(&op.weights[0]), hf(&op.weights[1]), hf(&op.weights[2]));
                let (nq, nkv) = (lit(heads.0), lit(heads.1));
                quote!(llama::qkv_weight(weights, [#q, #kk, #v], #k, #nq, #nkv)?)
            } else {
                let w = hf(&op.weights[0]);
                quote!(llama::linear_weight(weights, #w, #n, #k)?)
            };
            quote!(llama::upload_linear(device, &#data, &#consts::#cfg)?)
        }
        Call::RmsNorm { .. } => {
            let w = hf(&op.weights[0]);
            let h = t.shape[2] * t.shape[3];
            let (hl, rows) = (lit(h), lit(h / 32));
            quote!(Tensor::from_f32(device, &llama::norm_weight(weights, #w, #hl)?, &[1, 1, #rows, 32], #dt, Layout::RowMajor, &#mc)?)
        }
        Call::Embedding { .. } => {
            let (v, h) = (lit(t.shape[2]), lit(t.shape[3]));
            quote!(Tensor::from_f32(device, &llama::embedding_table(weights, #v, #h)?, &[#v, #h], #dt, Layout::RowMajor, &#mc)?)
        }
        _ => {
            // The KV caches, zeroed.
            let s = t.shape.map(lit);
            quote!(Tensor::zeros(device, &[#(#s),*], #dt, Layout::Tile, &#mc)?)
        }
    }
}

/// The runs of consecutive layers that share a plan: `(plan index, first, end)`.
fn layer_runs(lps: &[LayerPlan]) -> Vec<(usize, usize, usize)> {
    let n: usize = lps.iter().map(|l| l.layers.len()).sum();
    let mut of = vec![0; n];
    for (i, lp) in lps.iter().enumerate() {
        for &l in &lp.layers {
            of[l as usize] = i;
        }
    }
    let mut runs: Vec<(usize, usize, usize)> = Vec::new();
    for (l, &p) in of.iter().enumerate() {
        match runs.last_mut() {
            Some((q, _, end)) if *q == p && *end == l => *end = l + 1,
            _ => runs.push((p, l, l + 1)),
        }
    }
    runs
}

/// The names of a step's functions.
struct StepNames {
    /// The step's function: `decode`, `prefill_128`, or `prefill_bucket` (shared by buckets).
    step: Ident,
    /// The stem of its layer functions: `prefill_128` → `prefill_128_layer`.
    layers: String,
    /// The bucket trait a shared function is generic over (`B: PrefillBucket`).
    bucket_trait: Option<Ident>,
}

impl StepNames {
    fn one(s: &StepPlan) -> Self {
        StepNames { step: format_ident!("{}", s.module()), layers: s.module(), bucket_trait: None }
    }
}

/// The tensors a decode layer holds by reference: its `DecodeRope` borrows the model's `trans_mat`.
const DECODE_REFS: &[TensorRef] = &[TensorRef::Rope(RopeInput::TransMat)];

fn cx_of(names: &Names, linears: TokenStream, slots: Slots) -> Cx<'_> {
    Cx { names, linears, per_bucket: quote!(B), refs: &[], slots }
}

/// What a step emits: its functions (the step's and its layers'), and its linear consts.
struct StepCode {
    fns: TokenStream,
    linears: TokenStream,
}

/// A step's code. `bucket` is a prefill's index in `PREFILL_BUCKETS`. The configs are written as
/// `cx` says, in one order whatever it says, so that the records of two buckets line up.
fn step_code(s: &StepPlan, bucket: usize, n: &StepNames, cx: &mut Cx, layer_ty: &Ident, plan_mod: &Ident) -> StepCode {
    let p = &s.plan.program;
    let decode = s.plan.options.mode == Mode::Decode;
    if decode {
        cx.refs = DECODE_REFS;
    }
    let (generics, turbofish, len_text) = match &n.bucket_trait {
        Some(t) => (quote!(<B: #plan_mod::#t>), quote!(::<B>), "`B::LEN`".to_string()),
        None => (quote!(), quote!(), s.plan.options.seq_len.to_string()),
    };
    let names = cx.names;

    // The step function.
    let (ids_op, ids) = reader(&p.prologue, &StepInput::Ids.into()).expect("an embedding");
    let ids_mc = names.mc(&ids.memory_config);
    let ids_mc = cx.slot(own_slot("IDS_MEMORY_CONFIG", quote!(MemoryConfig), ids_mc, &ids_op.name));
    let len = (!decode).then(|| {
        let l = lit(s.plan.options.seq_len);
        cx.slot(own_slot("LEN", quote!(u32), quote!(#l), ""))
    });
    let prologue = statements(&p.prologue, cx, "");
    let index = (!decode).then(|| {
        let i = Literal::usize_unsuffixed(bucket);
        cx.slot(own_slot("INDEX", quote!(usize), quote!(#i), ""))
    });
    let epilogue = statements(&p.epilogue, cx, "");
    let h_in = p.prologue.last().and_then(|o| o.outputs.first()).map_or(format_ident!("h"), local_ident);
    let logits: Vec<Ident> = p
        .epilogue
        .iter()
        .filter(|o| matches!(o.call, Call::Linear(_)))
        .flat_map(|o| &o.outputs)
        .map(local_ident)
        .collect();
    let layer_fn = |i: usize| format_ident!("{}_{}layer", n.layers, layer_prefix(s, i));
    let runs = layer_runs(&p.layer_plans).into_iter().map(|(i, a, b)| {
        let name = layer_fn(i);
        let (a, b) = (Literal::usize_unsuffixed(a), Literal::usize_unsuffixed(b));
        if decode {
            quote!(for layer in &mut self.layers[#a..#b] { h = Self::#name(layer, h, &rope, positions)?; })
        } else {
            quote!(for layer in &mut self.layers[#a..#b] { h = Self::#name #turbofish(layer, h, &self.prefill_ropes[#index], user)?; })
        }
    });
    let step_fn = if decode {
        let (_, cos) = reader(s.ops(), &RopeInput::Cos.into()).expect("a rotary op");
        let cos = names.mc(&cos.memory_config);
        let doc = " One decode step: user `u` feeds `tokens[u]` at `positions[u]`; returns each user's logits.";
        let decode_sig = signatures::decode();
        quote! {
            #[doc = #doc]
            #decode_sig {
                use ::tttv2::nn::llama;
                use ::tttv2::ops;
                use ::tttv2::ttnn::*;
                use #plan_mod::*;
                let step = llama::DecodeInputs::upload(device, tokens, positions, BATCH, MAX_SEQ_LEN, &#ids_mc)?;
                let positions = &step.positions[..];
                let rope = llama::DecodeRope::upload(device, &self.rope, positions, &#cos, &self.decode_trans_mat)?;
                #prologue
                let mut h = #h_in;
                #(#runs)*
                #epilogue
                llama::user_logits(&[#(&#logits),*], tokens.len())
            }
        }
    } else {
        let doc = format!(
            " A prefill of up to {len_text} tokens for `user`: fills its KV-cache rows, returns the last token's logits."
        );
        let f = &n.step;
        quote! {
            #[doc = #doc]
            fn #f #generics(&mut self, device: &::tttv2::Device, user: u32, tokens: &[u32]) -> ::tttv2::Result<Vec<f32>> {
                use ::tttv2::nn::llama;
                use ::tttv2::ops;
                use ::tttv2::ttnn::*;
                use #plan_mod::*;
                let step = llama::PrefillInputs::upload(device, tokens, #len, &#ids_mc)?;
                let last = step.last;
                #prologue
                let mut h = #h_in;
                #(#runs)*
                #epilogue
                llama::last_token_logits(&[#(&#logits),*])
            }
        }
    };

    // The layer functions, before the step's in the output.
    let mut fns = TokenStream::new();
    for (i, lp) in p.layer_plans.iter().enumerate() {
        let prefix = layer_prefix(s, i);
        let name = layer_fn(i);
        let body = statements(&lp.ops, cx, &prefix.to_uppercase());
        let (rope_ty, extra) = if decode {
            (quote!(::tttv2::nn::llama::DecodeRope<'_>), quote!(positions: &[u32]))
        } else {
            (quote!(::tttv2::nn::llama::PrefillRope), quote!(user: u32))
        };
        let of = match &n.bucket_trait {
            Some(_) => "a prefill bucket `B`".to_string(),
            None => format!("`{}`", s.module()),
        };
        let doc = format!(" One decoder layer of {of} (layers {:?}).", lp.layers);
        fns.extend(quote! {
            #[doc = #doc]
            #[allow(clippy::let_and_return)]
            fn #name #generics(layer: &mut #layer_ty, h: ::tttv2::Tensor, rope: &#rope_ty, #extra) -> ::tttv2::Result<::tttv2::Tensor> {
                use ::tttv2::ops;
                use ::tttv2::ttnn::*;
                use #plan_mod::*;
                #body
                Ok(h_out)
            }
        });
    }
    fns.extend(step_fn);

    // The linear consts: a shared function's are the bucket trait's, whose own consts are `Self::`.
    if n.bucket_trait.is_some() {
        cx.per_bucket = quote!(Self);
    }
    let mut linears = TokenStream::new();
    for (i, lp) in p.layer_plans.iter().enumerate() {
        linears.extend(linear_consts(&lp.ops, cx, &layer_prefix(s, i).to_uppercase()));
    }
    linears.extend(linear_consts(&p.epilogue, cx, ""));
    StepCode { fns, linears }
}

/// A config of the step itself rather than of one of its ops.
fn own_slot(role: &str, ty: TokenStream, value: TokenStream, subject: &str) -> Slot {
    Slot { owner: String::new(), role: role.into(), subject: subject.into(), ty, value, doc: None }
}

/// The doc of a bucket trait's associated const: what it holds.
fn slot_doc(first: &Slot, subjects: &[&str]) -> String {
    match first.role.as_str() {
        "LEN" => " Tokens the bucket holds: a prompt runs padded to this length.".into(),
        "INDEX" => " The bucket's index in `PREFILL_BUCKETS` and in the model's `prefill_ropes`.".into(),
        role => {
            let of: Vec<String> = subjects.iter().map(|s| format!("`{s}`")).collect();
            format!(" The `{}` of {}.", role.to_lowercase(), of.join(" and "))
        }
    }
}

/// How a step is emitted.
enum Emission {
    /// Its own functions and module of consts (the decode step; a bucket no other runs alike).
    One(usize),
    /// A function shared with other buckets.
    Shared(SharedBuckets),
}

/// Prefill buckets that run the same statements and differ only in configs. They share one
/// function, generic over a trait whose associated consts are the configs they differ in; each
/// bucket is a unit struct implementing it. A trait rather than a table passed at run time: each
/// bucket's configs stay compile-time consts, the function is monomorphised per bucket as the
/// separate functions were, and `B::WQKV` reads as the bucket's `WQKV`.
struct SharedBuckets {
    /// The trait (`PrefillBucket`).
    bucket_trait: Ident,
    /// The shared functions' names.
    fns: StepNames,
    /// The buckets: index into the steps, index in `PREFILL_BUCKETS`.
    members: Vec<(usize, usize)>,
    /// Per recorded config, the associated const it is where the buckets differ in it.
    differ: Vec<Option<Ident>>,
    /// Each bucket's recorded configs.
    slots: Vec<Vec<Slot>>,
}

/// The type of a prefill bucket: `prefill_256` → `Prefill256`.
fn bucket_type(s: &StepPlan) -> Ident {
    format_ident!("Prefill{}", s.plan.options.seq_len)
}

/// Which config each recorded position is: `None` where every bucket has the same value, else
/// the associated const's name. Positions with equal values in every bucket share one const: a
/// linear's `m` is `LEN`, and a config two ops share is named after both (`W1_W3_PROGRAM_CONFIG`).
fn decide(slots: &[Vec<Slot>]) -> Vec<Option<Ident>> {
    // Positions grouped by (type, every bucket's value), in order of first use.
    let mut groups: Vec<(String, Vec<usize>)> = Vec::new();
    let mut group_of = Vec::new();
    for k in 0..slots[0].len() {
        let values: Vec<String> = slots.iter().map(|m| m[k].value.to_string()).collect();
        if values.iter().all(|v| *v == values[0]) {
            group_of.push(None);
            continue;
        }
        let key = format!("{}: {}", slots[0][k].ty, values.join("; "));
        let g = match groups.iter().position(|(k2, _)| *k2 == key) {
            Some(g) => g,
            None => {
                groups.push((key, Vec::new()));
                groups.len() - 1
            }
        };
        groups[g].1.push(k);
        group_of.push(Some(g));
    }
    let mut names: Vec<Ident> = Vec::new();
    for (_, ks) in &groups {
        let first = &slots[0][ks[0]];
        // A number shared by meaning keeps its first name (`m` is `LEN`); a config shared by
        // several ops is named after all of them.
        let scalar = ["u32", "usize", "bool", "f32"].contains(&first.ty.to_string().as_str());
        let mut owners: Vec<&str> = Vec::new();
        for &k in ks {
            let o = slots[0][k].owner.as_str();
            if !owners.contains(&o) && slots[0][k].role == first.role {
                owners.push(o);
            }
        }
        let base = if scalar || owners.len() < 2 || owners.contains(&"") {
            first.name()
        } else {
            format!("{}_{}", owners.join("_"), first.role)
        };
        let free = |n: &str| !names.iter().any(|i| i == n);
        let name = if free(&base) {
            base.clone()
        } else {
            (2..).map(|j| format!("{base}_{j}")).find(|n| free(n)).expect("a free name")
        };
        names.push(format_ident!("{}", name));
    }
    group_of.into_iter().map(|g| g.map(|g| names[g].clone())).collect()
}

/// Prefill buckets whose code prints alike with configs as placeholders.
struct Recorded {
    /// The printed code.
    key: String,
    /// The buckets: index into the steps, index in `PREFILL_BUCKETS`.
    members: Vec<(usize, usize)>,
    /// Each bucket's configs, in the order the code writes them.
    slots: Vec<Vec<Slot>>,
}

/// How each step is emitted: the decode step alone; prefill buckets grouped by the statements
/// they run (compared with their configs as placeholders), a group of one alone.
fn emissions(r: &ModelProgram, names: &Names) -> Vec<Emission> {
    let (layer_ty, plan_mod) = (format_ident!("Layer"), format_ident!("plan"));
    let probe = StepNames {
        step: format_ident!("prefill_bucket"),
        layers: "prefill".into(),
        bucket_trait: Some(format_ident!("PrefillBucket")),
    };
    let mut out = Vec::new();
    let mut groups: Vec<Recorded> = Vec::new();
    for (i, s) in r.steps.iter().enumerate() {
        let Some(bucket) = r.prefills().position(|p| p.module() == s.module()) else {
            out.push(Emission::One(i));
            continue;
        };
        let mut cx = cx_of(names, quote!(B), Slots::Record(Vec::new()));
        let key = step_code(s, bucket, &probe, &mut cx, &layer_ty, &plan_mod).fns.to_string();
        let Slots::Record(slots) = cx.slots else { unreachable!("recorded") };
        match groups.iter_mut().find(|g| g.key == key) {
            Some(g) => {
                g.members.push((i, bucket));
                g.slots.push(slots);
            }
            None => groups.push(Recorded { key, members: vec![(i, bucket)], slots: vec![slots] }),
        }
    }
    let shared = groups.iter().filter(|g| g.members.len() > 1).count();
    for Recorded { members, slots, .. } in groups {
        if members.len() == 1 {
            out.push(Emission::One(members[0].0));
            continue;
        }
        // One shared group is *the* prefill bucket; several are told apart by their lengths.
        let (bucket_trait, step, layers) = if shared == 1 {
            ("PrefillBucket".to_string(), "prefill_bucket".to_string(), "prefill".to_string())
        } else {
            let (a, b) = (
                r.steps[members[0].0].plan.options.seq_len,
                r.steps[members[members.len() - 1].0].plan.options.seq_len,
            );
            (format!("Prefill{a}To{b}Bucket"), format!("prefill_{a}_to_{b}_bucket"), format!("prefill_{a}_to_{b}"))
        };
        let bucket_trait = format_ident!("{}", bucket_trait);
        let fns = StepNames { step: format_ident!("{}", step), layers, bucket_trait: Some(bucket_trait.clone()) };
        let differ = decide(&slots);
        out.push(Emission::Shared(SharedBuckets { bucket_trait, fns, members, differ, slots }));
    }
    out
}

impl SharedBuckets {
    fn cx<'a>(&self, names: &'a Names) -> Cx<'a> {
        cx_of(names, quote!(B), Slots::Shared { differ: self.differ.clone(), next: 0 })
    }

    /// The shared functions.
    fn fns(&self, r: &ModelProgram, names: &Names, layer_ty: &Ident, plan_mod: &Ident) -> TokenStream {
        let (i, bucket) = self.members[0];
        step_code(&r.steps[i], bucket, &self.fns, &mut self.cx(names), layer_ty, plan_mod).fns
    }

    /// The plan module's items: the trait (the configs the buckets differ in, and the linear
    /// configs built from them), and each bucket's type and impl.
    fn plan_items(&self, r: &ModelProgram, names: &Names) -> TokenStream {
        let (i, bucket) = self.members[0];
        let mut cx = self.cx(names);
        let linears =
            step_code(&r.steps[i], bucket, &self.fns, &mut cx, &format_ident!("Model"), &format_ident!("plan")).linears;
        // The first position of each associated const declares it.
        let declared: Vec<usize> = (0..self.differ.len())
            .filter(|&k| self.differ[k].is_some() && !self.differ[..k].contains(&self.differ[k]))
            .collect();
        let decls = declared.iter().map(|&k| {
            let n = &self.differ[k];
            let mut subjects: Vec<&str> = Vec::new();
            for (j, d) in self.differ.iter().enumerate() {
                let sub = self.slots[0][j].subject.as_str();
                if d == n && !sub.is_empty() && !subjects.contains(&sub) {
                    subjects.push(sub);
                }
            }
            let (doc, ty) = (slot_doc(&self.slots[0][k], &subjects), &self.slots[0][k].ty);
            quote!(#[doc = #doc] const #n: #ty;)
        });
        let t = &self.bucket_trait;
        let trait_doc = format!(
            " What the prefill buckets {} differ in: `{}` and its layer function read it as `B::…`; the configs they agree on are the consts above.",
            self.members
                .iter()
                .map(|&(i, _)| r.steps[i].plan.options.seq_len.to_string())
                .collect::<Vec<_>>()
                .join(", "),
            self.fns.step,
        );
        let impls = self.members.iter().enumerate().map(|(m, &(i, _))| {
            let ty = bucket_type(&r.steps[i]);
            let doc = format!(" A prefill of up to {} tokens.", r.steps[i].plan.options.seq_len);
            let consts = declared.iter().map(|&k| {
                let (n, slot) = (&self.differ[k], &self.slots[m][k]);
                let (ty, v) = (&slot.ty, &slot.value);
                // The estimate of each op the config is for.
                let mut doc: Vec<&String> = Vec::new();
                for j in (0..self.differ.len()).filter(|&j| self.differ[j] == *n) {
                    if let Some(d) = &self.slots[m][j].doc
                        && !doc.contains(&d)
                    {
                        doc.push(d);
                    }
                }
                quote!(#(#[doc = #doc])* const #n: #ty = #v;)
            });
            quote! {
                #[doc = #doc]
                pub struct #ty;
                impl #t for #ty {
                    #(#consts)*
                }
            }
        });
        quote! {
            #[doc = #trait_doc]
            pub trait #t {
                #(#decls)*
                #linears
            }
            #(#impls)*
        }
    }
}

/// What the parts of a model's code share: the program, the hoisted configs' names, the main
/// step (whose configs place the weights), and the names of the plan module and the types.
struct ModelCode<'a> {
    r: &'a ModelProgram,
    names: Names,
    main: &'a StepPlan,
    /// The main step's config module (`decode`, `prefill_128`): the weights' configs.
    consts: TokenStream,
    plan_mod: &'a Ident,
    ident: &'a Ident,
    layer_ty: Ident,
}

impl<'a> ModelCode<'a> {
    fn new(r: &'a ModelProgram, plan_mod: &'a Ident, ident: &'a Ident) -> Self {
        let mut names = Names::default();
        for s in &r.steps {
            names.collect(s.ops());
        }
        let main = &r.steps[0];
        let main_mod = format_ident!("{}", main.module());
        ModelCode {
            r,
            names,
            main,
            consts: quote!(#main_mod),
            plan_mod,
            ident,
            layer_ty: format_ident!("{}Layer", ident),
        }
    }

    /// The model's own tensors (embedding, final norm, LM head pieces).
    fn model_tensors(&self) -> Vec<&'a TensorArg> {
        self.r.tensors.iter().filter(|t| matches!(t.tensor, TensorRef::Model(_))).collect()
    }

    /// Each layer's tensors: its weights and KV caches.
    fn layer_tensors(&self) -> Vec<&'a TensorArg> {
        self.r.tensors.iter().filter(|t| matches!(t.tensor, TensorRef::Layer(_) | TensorRef::Cache(_))).collect()
    }

    /// `load`'s statements for the model's own tensors. The LM head is transposed once, cut into
    /// its pieces and freed before the layers load (a vocabulary-wide f32 copy is a gigabyte for
    /// Llama-3).
    fn model_loads(&self) -> Vec<TokenStream> {
        let (main, model) = (self.main, &self.main.plan.model);
        let is_lm_head = |t: &TensorArg| matches!(t.tensor, TensorRef::Model(w) if w.is_lm_head());
        let tensors = self.model_tensors();
        let pieces = tensors.iter().filter(|t| is_lm_head(t)).count();
        let (mut loads, mut lm_col, mut seen) = (Vec::new(), 0u32, 0);
        for t in tensors {
            let (op, _) = reader(main.ops(), &t.tensor).expect("a reader");
            let e = load_expr(t, op, &self.consts, "", &self.names, (1, 1), lm_col);
            let f = field(&t.tensor);
            if !is_lm_head(t) {
                loads.push(quote!(let #f = #e;));
                continue;
            }
            if seen == 0 {
                let (v, h) = (lit(model.vocab_size), lit(model.hidden_size));
                loads.push(quote!(let lm_head_t = llama::lm_head_weight(weights, TIE_WORD_EMBEDDINGS, #v, #h)?;));
            }
            seen += 1;
            if let Call::Linear(c) = &op.call {
                lm_col += c.n;
            }
            loads.push(quote!(let #f = #e;));
            if seen == pieces {
                loads.push(quote!(drop(lm_head_t);));
            }
        }
        loads
    }

    /// One `load_layer` function per distinct layer plan, and the loops that call them.
    fn layer_loads(&self) -> (Vec<TokenStream>, Vec<TokenStream>) {
        let (main, plan_mod, layer_ty) = (self.main, self.plan_mod, &self.layer_ty);
        let program = &main.plan.program;
        let tensors = self.layer_tensors();
        let fns = program
            .layer_plans
            .iter()
            .enumerate()
            .map(|(p, lp)| {
                let name = format_ident!("load_{}layer", layer_prefix(main, p));
                let prefix = layer_prefix(main, p).to_uppercase();
                let heads = heads_of(&lp.ops);
                let loads = tensors.iter().map(|t| {
                    let (op, _) = reader(&lp.ops, &t.tensor).expect("a reader");
                    let e = load_expr(t, op, &self.consts, &prefix, &self.names, heads, 0);
                    let f = field(&t.tensor);
                    quote!(#f: #e)
                });
                quote! {
                    fn #name(device: &::tttv2::Device, weights: &impl ::tttv2::nn::WeightSource, i: usize) -> ::tttv2::Result<#layer_ty> {
                        use ::tttv2::nn::llama;
                        use ::tttv2::ttnn::*;
                        use ::tttv2::Tensor;
                        use #plan_mod::*;
                        Ok(#layer_ty { #(#loads),* })
                    }
                }
            })
            .collect();
        let calls = layer_runs(&program.layer_plans)
            .into_iter()
            .map(|(p, a, b)| {
                let name = format_ident!("load_{}layer", layer_prefix(main, p));
                let (a, b) = (Literal::usize_unsuffixed(a), Literal::usize_unsuffixed(b));
                quote!(for i in #a..#b { layers.push(Self::#name(device, weights, i)?); })
            })
            .collect();
        (fns, calls)
    }

    /// Where a step reads its RoPE operands: the cos/sin tables' and the rotation matrix's
    /// memory configs.
    fn rope_placement(&self, s: &StepPlan) -> (TokenStream, TokenStream) {
        let (_, cos) = reader(s.ops(), &RopeInput::Cos.into()).expect("a rotary op");
        let (_, tm) = reader(s.ops(), &RopeInput::TransMat.into()).expect("a rotary op");
        (self.names.mc(&cos.memory_config), self.names.mc(&tm.memory_config))
    }

    /// `load`'s RoPE statements: each bucket's operands in `PREFILL_BUCKETS` order (a loop when
    /// all are placed alike), then the decode step's rotation matrix.
    fn rope_loads(&self) -> TokenStream {
        let r = self.r;
        let placements: Vec<(TokenStream, TokenStream)> = r.prefills().map(|s| self.rope_placement(s)).collect();
        let prefill = if placements
            .windows(2)
            .all(|w| w[0].0.to_string() == w[1].0.to_string() && w[0].1.to_string() == w[1].1.to_string())
        {
            let (cos, tm) = &placements[0];
            quote! {
                let prefill_ropes = PREFILL_BUCKETS
                    .iter()
                    .map(|&len| llama::PrefillRope::upload(device, &rope, len, &#cos, &#tm))
                    .collect::<::tttv2::Result<Vec<_>>>()?;
            }
        } else {
            let uploads = r.prefills().zip(&placements).map(|(s, (cos, tm))| {
                let len = lit(s.plan.options.seq_len);
                quote!(llama::PrefillRope::upload(device, &rope, #len, &#cos, &#tm)?)
            });
            quote!(let prefill_ropes = vec![#(#uploads),*];)
        };
        let decode = r.decode().map(|s| {
            let (_, tm) = self.rope_placement(s);
            quote!(let decode_trans_mat = llama::trans_mat(device, BATCH, &#tm)?;)
        });
        quote!(#prefill #decode)
    }

    /// `load` and its layer functions.
    fn load(&self) -> TokenStream {
        let (r, main, plan_mod) = (self.r, self.main, self.plan_mod);
        let model_loads = self.model_loads();
        let (layer_fns, layer_calls) = self.layer_loads();
        let rope_loads = self.rope_loads();
        let positions = r.prefills().map(|s| s.plan.options.seq_len).max().unwrap_or(0).max(main.plan.options.seq_len);
        let positions = Literal::usize_unsuffixed(positions as usize);
        let fields = self.model_tensors().into_iter().map(|t| field(&t.tensor));
        let decode_tm = r.decode().map(|_| quote!(decode_trans_mat,));
        let load_sig = signatures::load();
        quote! {
            /// Loads every weight by its Hugging Face name, transforms it to TT-NN's layout and
            /// uploads it where the plan places it; zeroes the KV cache; computes the RoPE tables.
            #load_sig {
                use ::tttv2::nn::llama;
                use ::tttv2::ttnn::*;
                use ::tttv2::Tensor;
                use #plan_mod::*;
                device.expect_profile(&DEVICE)?;
                weights.check_compiled(&model_config())?;
                #(#model_loads)*
                let mut layers = Vec::new();
                #(#layer_calls)*
                let rope = llama::RopeTables::new(&ROPE_INV_FREQ, #positions);
                #rope_loads
                Ok(Self { #(#fields,)* layers, rope, #decode_tm prefill_ropes })
            }

            #(#layer_fns)*
        }
    }

    /// The steps' functions: the decode step, then each prefill bucket's function or the
    /// function buckets share; and, by bucket length, what `prefill` calls for it.
    fn step_fns(&self) -> (Vec<TokenStream>, Vec<(u32, TokenStream)>) {
        let (r, names, plan_mod, layer_ty) = (self.r, &self.names, self.plan_mod, &self.layer_ty);
        let mut fns = Vec::new();
        let mut by_len: Vec<(u32, TokenStream)> = Vec::new();
        for e in emissions(r, names) {
            match e {
                Emission::One(i) => {
                    let s = &r.steps[i];
                    let m = format_ident!("{}", s.module());
                    let mut cx = cx_of(names, quote!(#m), Slots::Values);
                    let bucket = r.prefills().position(|p| p.module() == s.module()).unwrap_or(0);
                    fns.push(step_code(s, bucket, &StepNames::one(s), &mut cx, layer_ty, plan_mod).fns);
                    if s.plan.options.mode == Mode::Prefill {
                        by_len.push((s.plan.options.seq_len, quote!(#m)));
                    }
                }
                Emission::Shared(g) => {
                    fns.push(g.fns(r, names, layer_ty, plan_mod));
                    let f = &g.fns.step;
                    for &(i, _) in &g.members {
                        let b = bucket_type(&r.steps[i]);
                        by_len.push((r.steps[i].plan.options.seq_len, quote!(#f::<#plan_mod::#b>)));
                    }
                }
            }
        }
        by_len.sort_by_key(|(l, _)| *l);
        (fns, by_len)
    }

    /// The longest prompt a prefill takes.
    fn max_prefill(&self) -> Literal {
        lit(self.r.prefills().map(|s| s.plan.options.seq_len).max().unwrap_or(0))
    }

    /// `prefill` (through the smallest bucket that holds the prompt) and, for a decode model,
    /// `generate`.
    fn prefill(&self, by_len: &[(u32, TokenStream)]) -> TokenStream {
        let (plan_mod, max_prefill) = (self.plan_mod, self.max_prefill());
        let (prefill_sig, generate_sig) = (signatures::prefill(self.r.mode), signatures::generate());
        match self.r.mode {
            Mode::Decode => {
                let buckets = by_len.iter().map(|(len, f)| {
                    let len = lit(*len);
                    quote!(if tokens.len() <= #len { return self.#f(device, user, tokens); })
                });
                quote! {
                    /// Runs user `user`'s prompt through the smallest prefill bucket that holds it, fills
                    /// its KV-cache rows from position 0 and returns the logits of its last token.
                    #prefill_sig {
                        ::tttv2::nn::llama::check_prefill(user, tokens, #plan_mod::BATCH, #max_prefill)?;
                        #(#buckets)*
                        unreachable!("check_prefill bounds the prompt by the largest bucket")
                    }

                    /// Prefill, then decode every user together until EOS or the token limit.
                    #generate_sig {
                        ::tttv2::nn::generate::generate(self, device, prompts, options, on_token)
                    }
                }
            }
            Mode::Prefill => {
                let m = &by_len[0].1;
                quote! {
                    /// Runs a prompt of up to the planned length and returns the logits of its last token.
                    #prefill_sig {
                        ::tttv2::nn::llama::check_prefill(0, tokens, 1, #max_prefill)?;
                        self.#m(device, 0, tokens)
                    }
                }
            }
        }
    }

    /// `weight_bytes`.
    fn weight_bytes(&self) -> TokenStream {
        let model: Vec<Ident> = self.model_tensors().into_iter().map(|t| field(&t.tensor)).collect();
        let layer: Vec<Ident> = self
            .layer_tensors()
            .into_iter()
            .filter(|t| matches!(t.tensor, TensorRef::Layer(_)))
            .map(|t| field(&t.tensor))
            .collect();
        let sig = signatures::weight_bytes();
        quote! {
            /// Bytes of the model's weights on the device (each tensor once, in whole tiles; KV
            /// cache not included).
            #sig {
                let layers: u64 = self.layers.iter().map(|l| #(::tttv2::nn::llama::tensor_bytes(&l.#layer))+*).sum();
                layers #(+ ::tttv2::nn::llama::tensor_bytes(&self.#model))*
            }
        }
    }

    /// A decode model's `CausalLm` impl, which the generation loop drives.
    fn causal_lm(&self) -> Option<TokenStream> {
        let (ident, plan_mod, max_prefill) = (self.ident, self.plan_mod, self.max_prefill());
        (self.r.mode == Mode::Decode).then(|| {
            quote! {
                impl ::tttv2::nn::CausalLm for #ident {
                    fn batch(&self) -> u32 {
                        #plan_mod::BATCH
                    }
                    fn max_seq_len(&self) -> u32 {
                        #plan_mod::MAX_SEQ_LEN
                    }
                    fn max_prefill_len(&self) -> u32 {
                        #max_prefill
                    }
                    fn prefill(&mut self, device: &::tttv2::Device, user: u32, tokens: &[u32]) -> ::tttv2::Result<Vec<f32>> {
                        #ident::prefill(self, device, user, tokens)
                    }
                    fn decode(&mut self, device: &::tttv2::Device, tokens: &[u32], positions: &[u32]) -> ::tttv2::Result<Vec<Vec<f32>>> {
                        #ident::decode(self, device, tokens, positions)
                    }
                }
            }
        })
    }
}

/// The struct, the layer struct, and the program's methods.
pub fn program_tokens(item: &LlamaItem, plan_mod: &Ident, doc: &[String], r: &ModelProgram) -> TokenStream {
    let LlamaItem { attrs, vis, ident, .. } = item;
    let code = ModelCode::new(r, plan_mod, ident);
    let layer_ty = &code.layer_ty;
    let model_fields = code.model_tensors().into_iter().map(|t| field(&t.tensor));
    let layer_fields = code.layer_tensors().into_iter().map(|t| field(&t.tensor));
    let decode_tm = r.decode().map(|_| quote!(decode_trans_mat: ::tttv2::Tensor,));
    let layer_doc = format!(" One decoder layer of [`{ident}`] on the device: its weights and KV cache.");
    let load = code.load();
    let weight_bytes = code.weight_bytes();
    let (step_fns, by_len) = code.step_fns();
    let prefill = code.prefill(&by_len);
    let causal_lm = code.causal_lm();
    quote! {
        #attrs
        #[doc = ""]
        #(#[doc = #doc])*
        #vis struct #ident {
            #(#model_fields: ::tttv2::Tensor,)*
            layers: Vec<#layer_ty>,
            rope: ::tttv2::nn::llama::RopeTables,
            #decode_tm
            prefill_ropes: Vec<::tttv2::nn::llama::PrefillRope>,
        }

        #[doc = #layer_doc]
        #vis struct #layer_ty {
            #(#layer_fields: ::tttv2::Tensor,)*
        }

        #[allow(unused_imports)]
        impl #ident {
            #load

            #weight_bytes

            #prefill
            #(#step_fns)*
        }

        #causal_lm
    }
}
