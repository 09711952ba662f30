//! The program emitted for a Llama-family decoder: the struct holding a named field per device
//! tensor, `load`, and per step (a decode step, each prefill bucket) a function that is the
//! plan's op sequence, statement for statement, with one function per distinct layer plan.

use proc_macro2::{Ident, Literal, TokenStream};
use quote::{format_ident, quote};

use super::ConstExpr;
use super::llama::LlamaItem;
use super::program::{Names, linear_const, linear_consts, statements};
use tttv2_core::device::SystemProfile;
use tttv2_core::plan::Mode;
use tttv2_core::plan::llama::{
    Call, LayerPlan, LlamaPlan, PlannedOp, TensorArg, plan_llama_prefill_for, rope_inv_freq,
};

/// One forward function's plan: `decode`, or a prefill bucket.
#[derive(Debug, Clone)]
pub struct Step {
    /// `decode`, `prefill_128`, or `prefill` (a prefill-mode model's one plan).
    pub module: String,
    /// The plan.
    pub plan: LlamaPlan,
}

/// What generated code runs: the steps, and the placement of every device tensor.
#[derive(Debug, Clone)]
pub struct Runnable {
    /// Decode model (prefill buckets + decode) or prefill-only model.
    pub mode: Mode,
    /// The decode step (decode models) first, then the prefill buckets by length.
    pub steps: Vec<Step>,
    /// The struct's device tensors (`self.x` and `layer.x`), with their placement, in the order
    /// the program first uses them.
    pub tensors: Vec<TensorArg>,
}

impl Runnable {
    fn decode(&self) -> Option<&Step> {
        self.steps.iter().find(|s| s.module == "decode")
    }

    fn prefills(&self) -> impl Iterator<Item = &Step> {
        self.steps.iter().filter(|s| s.module != "decode")
    }

    /// The methods' signatures and what they do, for the struct's doc.
    pub fn methods_doc(&self, plan_mod: &str) -> String {
        let lens: Vec<String> = self.prefills().map(|s| s.plan.options.seq_len.to_string()).collect();
        let lens = lens.join(", ");
        let load = "* `load(device: &Device, weights: &impl WeightSource) -> Result<Self>`: uploads the weights, by their Hugging Face names";
        let tail = format!(
            "* `weight_bytes(&self) -> u64`; `manifest()` and `graph()` (`serde_json::Value`): every op's configs, the compute graph\n\
             * the compile-time configs: consts in `{plan_mod}` (`DEVICE`, `BATCH`, `MAX_SEQ_LEN`, `PREFILL_BUCKETS`, one per op)"
        );
        match self.mode {
            Mode::Decode => format!(
                "\n\n# Methods\n\n{load}\n\
                 * `prefill(&mut self, device: &Device, user: u32, tokens: &[u32]) -> Result<Vec<f32>>`: a prompt through the smallest bucket ({lens} tokens) that holds it; the last token's logits\n\
                 * `decode(&mut self, device: &Device, tokens: &[u32], positions: &[u32]) -> Result<Vec<Vec<f32>>>`: one step of up to {} users; each user's logits\n\
                 * `generate(&mut self, device: &Device, prompts: &[Vec<u32>], options: &GenerateOptions, on_token: impl FnMut(usize, u32)) -> Result<Generation>`: prefill, then decode every user until EOS ([`tttv2::nn::generate`]; also [`tttv2::nn::CausalLm`])\n{tail}",
                self.decode().map_or(0, |d| d.plan.options.batch)
            ),
            Mode::Prefill => format!(
                "\n\n# Methods\n\n{load}\n\
                 * `prefill(&mut self, device: &Device, tokens: &[u32]) -> Result<Vec<f32>>`: a prompt of up to {lens} tokens; the last token's logits\n{tail}"
            ),
        }
    }
}

/// Prompt lengths a decode model's prefill is planned for: powers of two from 128 up to the KV
/// cache (or the cache length itself when it is shorter than 128).
fn decode_prefill_lengths(seq_len: u32) -> Vec<u32> {
    if seq_len < 128 {
        return vec![seq_len];
    }
    std::iter::successors(Some(128u32), |s| s.checked_mul(2)).take_while(|&s| s <= seq_len).collect()
}

fn all_ops(p: &LlamaPlan) -> impl Iterator<Item = &PlannedOp> {
    p.program.prologue.iter().chain(p.program.layer_plans.iter().flat_map(|l| &l.ops)).chain(&p.program.epilogue)
}

/// The steps generated code runs for `plan`, or why it cannot run it yet.
pub fn runnable(plan: &LlamaPlan) -> Result<Runnable, String> {
    let opts = &plan.options;
    if plan.mesh != (1, 1) {
        return Err("generated code runs single-chip plans only so far".into());
    }
    let steps = match opts.mode {
        Mode::Prefill => {
            if opts.batch != 1 {
                return Err("generated code runs single-user prefill plans only so far".into());
            }
            vec![Step { module: format!("prefill_{}", opts.seq_len), plan: plan.clone() }]
        }
        Mode::Decode => {
            if opts.batch > 32 {
                return Err("the runtime decodes at most 32 users per step (one tile row) so far".into());
            }
            let system =
                SystemProfile::by_name(plan.system).ok_or_else(|| format!("unknown system `{}`", plan.system))?;
            let mut steps = vec![Step { module: "decode".into(), plan: plan.clone() }];
            for s in decode_prefill_lengths(opts.seq_len) {
                // Each bucket runs on the decode plan's weights (one copy on the device).
                let p = plan_llama_prefill_for(plan, &system, s)
                    .map_err(|e| format!("the {s}-token prefill bucket cannot be planned: {e}"))?;
                steps.push(Step { module: format!("prefill_{s}"), plan: p });
            }
            steps
        }
    };
    // Every step reads the same device tensors, placed alike: the struct holds one copy.
    let mut tensors: Vec<TensorArg> = Vec::new();
    for step in &steps {
        for t in all_ops(&step.plan)
            .flat_map(|o| &o.inputs)
            .filter(|t| t.name.starts_with("self.") || t.name.starts_with("layer."))
        {
            match tensors.iter().find(|k| k.name == t.name) {
                Some(k) if (k.dtype, k.memory_config) != (t.dtype, t.memory_config) => {
                    return Err(format!(
                        "`{}` places `{}` differently from the decode step; one weight copy is generated",
                        step.module, t.name
                    ));
                }
                Some(_) => {}
                None => tensors.push(t.clone()),
            }
        }
    }
    Ok(Runnable { mode: opts.mode, steps, tensors })
}

fn lit(v: u32) -> Literal {
    Literal::u32_unsuffixed(v)
}

/// The prefix of a layer plan's consts and functions: none when every layer runs one plan.
fn layer_prefix(step: &Step, i: usize) -> String {
    if step.plan.program.layer_plans.len() == 1 {
        String::new()
    } else {
        format!("layers_{}_", step.plan.program.layer_plans[i].layers[0])
    }
}

/// The plan module's program consts: shapes, the folded RoPE frequencies, the hoisted configs
/// and one module of linear configs per step.
pub fn plan_consts(r: &Runnable) -> TokenStream {
    let mut names = Names::default();
    for s in &r.steps {
        names.collect(all_ops(&s.plan));
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
    let steps = r.steps.iter().map(|s| {
        let m = format_ident!("{}", s.module);
        let mut body = TokenStream::new();
        for (i, lp) in s.plan.program.layer_plans.iter().enumerate() {
            body.extend(linear_consts(&lp.ops, &names, &layer_prefix(s, i).to_uppercase()));
        }
        body.extend(linear_consts(&s.plan.program.epilogue, &names, ""));
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
    });
    quote! {
        /// Users per call: a decode step's batch (1 for prefill-only models).
        pub const BATCH: u32 = #batch;
        /// Positions the KV cache holds per user.
        pub const MAX_SEQ_LEN: u32 = #cache;
        /// The prefill buckets: a prompt runs through the smallest that holds it.
        pub const PREFILL_BUCKETS: [u32; #nl] = [#(#lens),*];
        /// Whether the LM head reuses the embedding table (`tie_word_embeddings`).
        pub const TIE_WORD_EMBEDDINGS: bool = #tied;
        /// RoPE inverse frequencies, folded at build time (the cos/sin tables are computed from
        /// them once, at load).
        pub const ROPE_INV_FREQ: [f32; #nf] = [#(#freqs),*];
        #hoisted
        #(#steps)*
    }
}

/// The op of `ops` whose inputs include the tensor `name`.
fn reader<'a>(ops: impl IntoIterator<Item = &'a PlannedOp>, name: &str) -> Option<(&'a PlannedOp, &'a TensorArg)> {
    ops.into_iter().find_map(|o| o.inputs.iter().find(|t| t.name == name).map(|t| (o, t)))
}

fn field(name: &str) -> Ident {
    format_ident!("{}", name.rsplit('.').next().expect("a name"))
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
            if t.name.ends_with("_bias") {
                // The fused q/k/v bias, from the `.bias` tensors of the three projections.
                let b = |w: &String| hf(&w.replace(".weight", ".bias"));
                let (q, kk, v) = (b(&op.weights[0]), b(&op.weights[1]), b(&op.weights[2]));
                let (nq, nkv) = (lit(heads.0), lit(heads.1));
                return quote!(llama::upload_bias(device, &llama::qkv_bias(weights, [#q, #kk, #v], #nq, #nkv)?, &#consts::#cfg)?);
            }
            let data = if t.name.starts_with("self.lm_head") {
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

/// The struct, the layer struct, and the program's methods.
pub fn program_tokens(item: &LlamaItem, plan_mod: &Ident, doc: &[String], r: &Runnable) -> TokenStream {
    let LlamaItem { attrs, vis, ident, .. } = item;
    let layer_ty = format_ident!("{}Layer", ident);
    let mut names = Names::default();
    for s in &r.steps {
        names.collect(all_ops(&s.plan));
    }
    let main = &r.steps[0];
    let main_mod = format_ident!("{}", main.module);
    let consts = quote!(#main_mod);
    let program = &main.plan.program;

    // Fields: the model's tensors, then the RoPE operands.
    let self_fields: Vec<&TensorArg> = r.tensors.iter().filter(|t| t.name.starts_with("self.")).collect();
    let layer_fields: Vec<&TensorArg> = r.tensors.iter().filter(|t| t.name.starts_with("layer.")).collect();
    let sf = self_fields.iter().map(|t| field(&t.name));
    let lf: Vec<Ident> = layer_fields.iter().map(|t| field(&t.name)).collect();
    let prefill_ropes: Vec<Ident> = r.prefills().map(|s| format_ident!("{}_rope", s.module)).collect();
    let decode_tm = r.decode().map(|_| quote!(decode_trans_mat: ::tttv2::Tensor,));
    let layer_doc = format!(" One decoder layer of [`{ident}`] on the device: its weights and KV cache.");

    // load: the model's tensors by the main step's configs, one `load_layer` per layer plan.
    // The LM head is transposed once, cut into its pieces and freed before the layers load (a
    // vocabulary-wide f32 copy is a gigabyte for Llama-3).
    let mut self_loads = Vec::new();
    let mut lm_col = 0u32;
    let pieces = self_fields.iter().filter(|t| t.name.starts_with("self.lm_head")).count();
    let mut seen = 0;
    for t in &self_fields {
        let (op, _) = reader(all_ops(&main.plan), &t.name).expect("a reader");
        let e = load_expr(t, op, &consts, "", &names, (1, 1), lm_col);
        let f = field(&t.name);
        if t.name.starts_with("self.lm_head") {
            if seen == 0 {
                let (v, h) = (lit(main.plan.model.vocab_size), lit(main.plan.model.hidden_size));
                self_loads.push(quote!(let lm_head_t = llama::lm_head_weight(weights, TIE_WORD_EMBEDDINGS, #v, #h)?;));
            }
            seen += 1;
            if let Call::Linear(c) = &op.call {
                lm_col += c.n;
            }
            self_loads.push(quote!(let #f = #e;));
            if seen == pieces {
                self_loads.push(quote!(drop(lm_head_t);));
            }
        } else {
            self_loads.push(quote!(let #f = #e;));
        }
    }
    let load_layers = program.layer_plans.iter().enumerate().map(|(p, lp)| {
        let name = format_ident!("load_{}layer", layer_prefix(main, p));
        let prefix = layer_prefix(main, p).to_uppercase();
        let heads = heads_of(&lp.ops);
        let loads = layer_fields.iter().map(|t| {
            let (op, _) = reader(&lp.ops, &t.name).expect("a reader");
            let e = load_expr(t, op, &consts, &prefix, &names, heads, 0);
            let f = field(&t.name);
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
    });
    let layer_loads = layer_runs(&program.layer_plans).into_iter().map(|(p, a, b)| {
        let name = format_ident!("load_{}layer", layer_prefix(main, p));
        let (a, b) = (Literal::usize_unsuffixed(a), Literal::usize_unsuffixed(b));
        quote!(for i in #a..#b { layers.push(Self::#name(device, weights, i)?); })
    });
    let rope_mc = |s: &Step| -> (TokenStream, TokenStream) {
        let (_, cos) = reader(all_ops(&s.plan), "rope.cos").expect("a rotary op");
        let (_, tm) = reader(all_ops(&s.plan), "rope.trans_mat").expect("a rotary op");
        (names.mc(&cos.memory_config), names.mc(&tm.memory_config))
    };
    let rope_loads = r.prefills().map(|s| {
        let f = format_ident!("{}_rope", s.module);
        let (cos, tm) = rope_mc(s);
        let len = lit(s.plan.options.seq_len);
        quote!(let #f = llama::PrefillRope::upload(device, &rope, #len, &#cos, &#tm)?;)
    });
    let decode_tm_load = r.decode().map(|s| {
        let (_, tm) = rope_mc(s);
        quote!(let decode_trans_mat = llama::trans_mat(device, BATCH, &#tm)?;)
    });
    let decode_tm_field = r.decode().map(|_| quote!(decode_trans_mat,));
    let positions = r.prefills().map(|s| s.plan.options.seq_len).max().unwrap_or(0).max(main.plan.options.seq_len);
    let positions = Literal::usize_unsuffixed(positions as usize);
    let sf2 = self_fields.iter().map(|t| field(&t.name));

    // Steps.
    let mut step_fns = Vec::new();
    for s in &r.steps {
        let m = format_ident!("{}", s.module);
        let consts = quote!(#m);
        let p = &s.plan.program;
        let decode = s.plan.options.mode == Mode::Decode;
        let layer_fns = p.layer_plans.iter().enumerate().map(|(i, lp)| {
            let prefix = layer_prefix(s, i);
            let name = format_ident!("{}_{}layer", s.module, prefix);
            let body = statements(&lp.ops, &names, &consts, &prefix.to_uppercase());
            let (rope_ty, extra) = if decode {
                (quote!(::tttv2::nn::llama::DecodeRope<'_>), quote!(positions: &[u32]))
            } else {
                (quote!(::tttv2::nn::llama::PrefillRope), quote!(user: u32))
            };
            let doc = format!(" One decoder layer of `{}` (layers {:?}).", s.module, lp.layers);
            quote! {
                #[doc = #doc]
                #[allow(clippy::let_and_return)]
                fn #name(layer: &mut #layer_ty, h: ::tttv2::Tensor, rope: &#rope_ty, #extra) -> ::tttv2::Result<::tttv2::Tensor> {
                    use ::tttv2::ops;
                    use ::tttv2::ttnn::*;
                    use #plan_mod::*;
                    #body
                    Ok(h_out)
                }
            }
        });
        step_fns.extend(layer_fns);
        let prologue = statements(&p.prologue, &names, &consts, "");
        let epilogue = statements(&p.epilogue, &names, &consts, "");
        let h_in =
            format_ident!("{}", p.prologue.last().and_then(|o| o.outputs.first()).map_or("h", |t| t.name.as_str()));
        let logits: Vec<Ident> = p
            .epilogue
            .iter()
            .filter(|o| matches!(o.call, Call::Linear(_)))
            .flat_map(|o| &o.outputs)
            .map(|t| format_ident!("{}", t.name))
            .collect();
        let ids_mc = names.mc(&reader(&p.prologue, "step.ids").expect("an embedding").1.memory_config);
        let runs = layer_runs(&p.layer_plans).into_iter().map(|(i, a, b)| {
            let name = format_ident!("{}_{}layer", s.module, layer_prefix(s, i));
            let (a, b) = (Literal::usize_unsuffixed(a), Literal::usize_unsuffixed(b));
            if decode {
                quote!(for layer in &mut self.layers[#a..#b] { h = Self::#name(layer, h, &rope, positions)?; })
            } else {
                let rope = format_ident!("{}_rope", s.module);
                quote!(for layer in &mut self.layers[#a..#b] { h = Self::#name(layer, h, &self.#rope, user)?; })
            }
        });
        let doc = if decode {
            " One decode step: user `u` feeds `tokens[u]` at `positions[u]`; returns each user's logits.".to_string()
        } else {
            format!(
                " A prefill of up to {} tokens for `user`: fills its KV-cache rows, returns the last token's logits.",
                s.plan.options.seq_len
            )
        };
        let f = if decode {
            let (cos, _) = rope_mc(s);
            quote! {
                #[doc = #doc]
                pub fn decode(&mut self, device: &::tttv2::Device, tokens: &[u32], positions: &[u32]) -> ::tttv2::Result<Vec<Vec<f32>>> {
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
            let len = lit(s.plan.options.seq_len);
            quote! {
                #[doc = #doc]
                fn #m(&mut self, device: &::tttv2::Device, user: u32, tokens: &[u32]) -> ::tttv2::Result<Vec<f32>> {
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
        step_fns.push(f);
    }
    let buckets = r.prefills().map(|s| {
        let m = format_ident!("{}", s.module);
        let len = lit(s.plan.options.seq_len);
        quote!(if tokens.len() <= #len { return self.#m(device, user, tokens); })
    });
    let max_prefill = lit(r.prefills().map(|s| s.plan.options.seq_len).max().unwrap_or(0));
    let prefill = match r.mode {
        Mode::Decode => quote! {
            /// Runs user `user`'s prompt through the smallest prefill bucket that holds it, fills
            /// its KV-cache rows from position 0 and returns the logits of its last token.
            pub fn prefill(&mut self, device: &::tttv2::Device, user: u32, tokens: &[u32]) -> ::tttv2::Result<Vec<f32>> {
                ::tttv2::nn::llama::check_prefill(user, tokens, #plan_mod::BATCH, #max_prefill)?;
                #(#buckets)*
                unreachable!("check_prefill bounds the prompt by the largest bucket")
            }

            /// Prefill, then decode every user together until EOS or the token limit.
            pub fn generate(
                &mut self,
                device: &::tttv2::Device,
                prompts: &[Vec<u32>],
                options: &::tttv2::nn::generate::GenerateOptions,
                on_token: impl FnMut(usize, u32),
            ) -> ::tttv2::Result<::tttv2::nn::generate::Generation> {
                ::tttv2::nn::generate::generate(self, device, prompts, options, on_token)
            }
        },
        Mode::Prefill => {
            let m = format_ident!("{}", main.module);
            quote! {
                /// Runs a prompt of up to the planned length and returns the logits of its last token.
                pub fn prefill(&mut self, device: &::tttv2::Device, tokens: &[u32]) -> ::tttv2::Result<Vec<f32>> {
                    ::tttv2::nn::llama::check_prefill(0, tokens, 1, #max_prefill)?;
                    self.#m(device, 0, tokens)
                }
            }
        }
    };
    let causal_lm = (r.mode == Mode::Decode).then(|| {
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
    });
    let step_fns = quote!(#(#step_fns)*);
    let all_fields: Vec<Ident> = self_fields.iter().map(|t| field(&t.name)).collect();
    let lw: Vec<Ident> = lf.iter().filter(|f| !f.to_string().ends_with("_cache")).cloned().collect();
    quote! {
        #attrs
        #[doc = ""]
        #(#[doc = #doc])*
        #vis struct #ident {
            #(#sf: ::tttv2::Tensor,)*
            layers: Vec<#layer_ty>,
            rope: ::tttv2::nn::llama::RopeTables,
            #decode_tm
            #(#prefill_ropes: ::tttv2::nn::llama::PrefillRope,)*
        }

        #[doc = #layer_doc]
        #vis struct #layer_ty {
            #(#lf: ::tttv2::Tensor,)*
        }

        #[allow(unused_imports)]
        impl #ident {
            /// Loads every weight by its Hugging Face name, transforms it to TT-NN's layout and
            /// uploads it where the plan places it; zeroes the KV cache; computes the RoPE tables.
            pub fn load(device: &::tttv2::Device, weights: &impl ::tttv2::nn::WeightSource) -> ::tttv2::Result<Self> {
                use ::tttv2::nn::llama;
                use ::tttv2::ttnn::*;
                use ::tttv2::Tensor;
                use #plan_mod::*;
                device.expect_profile(&DEVICE)?;
                weights.check_compiled(MANIFEST_JSON)?;
                #(#self_loads)*
                let mut layers = Vec::new();
                #(#layer_loads)*
                let rope = llama::RopeTables::new(&ROPE_INV_FREQ, #positions);
                #(#rope_loads)*
                #decode_tm_load
                Ok(Self { #(#sf2,)* layers, rope, #decode_tm_field #(#prefill_ropes),* })
            }

            #(#load_layers)*

            /// Bytes of the model's weights on the device (each tensor once, in whole tiles; KV
            /// cache not included).
            pub fn weight_bytes(&self) -> u64 {
                let layers: u64 = self.layers.iter().map(|l| 0 #(+ ::tttv2::nn::llama::tensor_bytes(&l.#lw))*).sum();
                layers #(+ ::tttv2::nn::llama::tensor_bytes(&self.#all_fields))*
            }

            #prefill
            #step_fns
        }

        #causal_lm
    }
}
