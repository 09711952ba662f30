//! The dynamic baseline generated code is measured against: a Llama planned at start-up by the
//! same planner ([`plan_program`]) and run by a generic interpreter over the typed program, the
//! way a module library (tt-transformers) runs a model. Each op is dispatched on its [`Call`] at
//! run time, its configs read from the plan, each tensor looked up by its [`TensorRef`]; the
//! generated program makes the same calls with the same configs as consts, so the two compute
//! the same logits bit for bit (`tests/generate.rs`) and differ only in what the host
//! does per op.
//!
//! Not a second way to deploy, nor a building block of generated code (which is why it is not in
//! `tttv2::nn`): it exists to measure what generation saves (issue 20).

use std::collections::HashMap;

use tttv2_core::device::{DeviceProfile, SystemProfile};
use tttv2_core::hf::LlamaConfig;
use tttv2_core::plan::llama::{LlamaOptions, LlamaPlanError, ModelProgram, StepPlan, plan_program};
use tttv2_core::program::{Call, KvCache, LayerWeight, PlannedOp, RopeInput, StepInput, TensorArg, TensorRef};
use tttv2_core::ttnn::{Layout, MemoryConfig};
use tttv2_sys::{Device, Error, Result, Tensor, ops};

use crate::nn::llama::{self, DecodeInputs, DecodeRope, PrefillInputs, PrefillRope, RopeTables};
use crate::nn::{CausalLm, WeightSource};

/// A Llama interpreted from its program.
pub struct DynamicLlama {
    program: ModelProgram,
    /// The model's own tensors (embedding, final norm, LM head pieces).
    model: HashMap<TensorRef, Tensor>,
    /// Each layer's weights and KV caches.
    layers: Vec<HashMap<TensorRef, Tensor>>,
    rope: RopeTables,
    decode_trans_mat: Option<Tensor>,
    /// Each prefill step's RoPE operands, in step order.
    prefill_ropes: Vec<PrefillRope>,
}

/// The RoPE operands a step reads.
struct RopeArgs<'a> {
    cos: &'a Tensor,
    sin: &'a Tensor,
    trans_mat: &'a Tensor,
}

/// What one step is handed at run time.
struct StepArgs<'a> {
    ids: &'a Tensor,
    rope: RopeArgs<'a>,
    /// Decode: each user's position.
    positions: &'a [u32],
    /// Prefill: the user whose cache rows are filled, and the prompt's last position.
    user: u32,
    last: u32,
}

impl DynamicLlama {
    /// Plans `cfg` at start-up, as a module library would: the same [`plan_program`] the
    /// expansion calls at compile time.
    pub fn plan(
        cfg: &LlamaConfig,
        system: &SystemProfile,
        opts: &LlamaOptions,
    ) -> std::result::Result<ModelProgram, LlamaPlanError> {
        plan_program(cfg, system, opts, None)
    }

    /// Loads the weights `program` places, as generated `load` does.
    pub fn load(device: &Device, program: ModelProgram, weights: &impl WeightSource) -> Result<Self> {
        let main = &program.steps[0];
        let chip = DeviceProfile::by_name(main.plan.chip)
            .ok_or_else(|| Error::Device(format!("unknown chip `{}`", main.plan.chip)))?;
        device.expect_profile(&chip)?;
        weights.check_compiled(&main.plan.model)?;
        let cfg = &main.plan.model;
        let model = load_model_tensors(device, &program, weights)?;
        let mut layers = Vec::new();
        let plan_of = main.plan.program.layer_plan_of();
        for (i, &p) in plan_of.iter().enumerate() {
            let ops = &main.plan.program.layer_plans[p].ops;
            let mut tensors = HashMap::new();
            for t in program.tensors.iter().filter(|t| matches!(t.tensor, TensorRef::Layer(_) | TensorRef::Cache(_))) {
                tensors.insert(t.tensor.clone(), load_layer_tensor(device, t, ops, i, weights)?);
            }
            layers.push(tensors);
        }
        let positions =
            program.prefills().map(|s| s.plan.options.seq_len).max().unwrap_or(0).max(main.plan.options.seq_len);
        let rope = RopeTables::new(&cfg.rope_inv_freq(), positions as usize);
        let prefill_ropes = program
            .prefills()
            .map(|s| {
                let (cos, tm) = rope_placement(s);
                PrefillRope::upload(device, &rope, s.plan.options.seq_len, &cos, &tm)
            })
            .collect::<Result<Vec<_>>>()?;
        let decode_trans_mat = match program.decode() {
            Some(s) => Some(llama::trans_mat(device, s.plan.options.batch, &rope_placement(s).1)?),
            None => None,
        };
        Ok(DynamicLlama { program, model, layers, rope, decode_trans_mat, prefill_ropes })
    }

    /// The program it runs.
    pub fn program(&self) -> &ModelProgram {
        &self.program
    }

    /// Runs user `user`'s prompt through the smallest prefill step that holds it.
    pub fn prefill(&mut self, device: &Device, user: u32, tokens: &[u32]) -> Result<Vec<f32>> {
        let batch = self.program.decode().map_or(1, |d| d.plan.options.batch);
        let max = self.program.prefills().map(|s| s.plan.options.seq_len).max().unwrap_or(0);
        llama::check_prefill(user, tokens, batch, max)?;
        let index = self
            .program
            .prefills()
            .position(|s| tokens.len() as u32 <= s.plan.options.seq_len)
            .expect("check_prefill bounds the prompt by the largest step");
        let step = self.program.prefills().nth(index).expect("the step");
        let len = step.plan.options.seq_len;
        let ids_mc = ids_placement(step);
        let inputs = PrefillInputs::upload(device, tokens, len, &ids_mc)?;
        let rope = &self.prefill_ropes[index];
        let args = StepArgs {
            ids: &inputs.ids,
            rope: RopeArgs { cos: &rope.cos, sin: &rope.sin, trans_mat: &rope.trans_mat },
            positions: &[],
            user,
            last: inputs.last,
        };
        let logits = run_step(step, &self.model, &mut self.layers, &args)?;
        llama::last_token_logits(&logits.iter().collect::<Vec<_>>())
    }

    /// One decode step of every user.
    pub fn decode(&mut self, device: &Device, tokens: &[u32], positions: &[u32]) -> Result<Vec<Vec<f32>>> {
        let step = self.program.decode().ok_or_else(|| Error::Shape {
            op: "decode",
            message: "this program was planned for prefill only".into(),
        })?;
        let o = &step.plan.options;
        let inputs = DecodeInputs::upload(device, tokens, positions, o.batch, o.seq_len, &ids_placement(step))?;
        let trans_mat = self.decode_trans_mat.as_ref().expect("a decode program has its rotation matrix");
        let rope = DecodeRope::upload(device, &self.rope, &inputs.positions, &rope_placement(step).0, trans_mat)?;
        let args = StepArgs {
            ids: &inputs.ids,
            rope: RopeArgs { cos: &rope.cos, sin: &rope.sin, trans_mat: rope.trans_mat },
            positions: &inputs.positions,
            user: 0,
            last: 0,
        };
        let logits = run_step(step, &self.model, &mut self.layers, &args)?;
        llama::user_logits(&logits.iter().collect::<Vec<_>>(), tokens.len())
    }
}

impl CausalLm for DynamicLlama {
    fn batch(&self) -> u32 {
        self.program.decode().map_or(1, |d| d.plan.options.batch)
    }
    fn max_seq_len(&self) -> u32 {
        self.program.main().options.seq_len
    }
    fn max_prefill_len(&self) -> u32 {
        self.program.prefills().map(|s| s.plan.options.seq_len).max().unwrap_or(0)
    }
    fn prefill(&mut self, device: &Device, user: u32, tokens: &[u32]) -> Result<Vec<f32>> {
        DynamicLlama::prefill(self, device, user, tokens)
    }
    fn decode(&mut self, device: &Device, tokens: &[u32], positions: &[u32]) -> Result<Vec<Vec<f32>>> {
        DynamicLlama::decode(self, device, tokens, positions)
    }
}

/// Where a step reads the token ids.
fn ids_placement(step: &StepPlan) -> MemoryConfig {
    reader(step.ops(), &StepInput::Ids.into()).expect("an embedding").memory_config
}

/// Where a step reads its cos/sin tables and its rotation matrix.
fn rope_placement(step: &StepPlan) -> (MemoryConfig, MemoryConfig) {
    let cos = reader(step.ops(), &RopeInput::Cos.into()).expect("a rotary op").memory_config;
    let tm = reader(step.ops(), &RopeInput::TransMat.into()).expect("a rotary op").memory_config;
    (cos, tm)
}

/// The tensor argument `tensor` of the first op of `ops` that reads it.
fn reader<'a>(mut ops: impl Iterator<Item = &'a PlannedOp>, tensor: &TensorRef) -> Option<&'a TensorArg> {
    ops.find_map(|o| o.inputs.iter().find(|t| t.tensor == *tensor))
}

/// The op of `ops` that reads `tensor`.
fn reading_op<'a>(mut ops: impl Iterator<Item = &'a PlannedOp>, tensor: &TensorRef) -> Option<&'a PlannedOp> {
    ops.find(|o| o.inputs.iter().any(|t| t.tensor == *tensor))
}

/// The embedding, final norm and LM head pieces (the head transposed once and cut into its
/// pieces), as the main step places them.
fn load_model_tensors(
    device: &Device,
    program: &ModelProgram,
    weights: &impl WeightSource,
) -> Result<HashMap<TensorRef, Tensor>> {
    let main = &program.steps[0];
    let cfg = &main.plan.model;
    let mut out = HashMap::new();
    let mut lm_head_t: Option<Vec<f32>> = None;
    let mut lm_col = 0;
    for t in program.tensors.iter().filter(|t| matches!(t.tensor, TensorRef::Model(_))) {
        let op = reading_op(main.ops(), &t.tensor).expect("a reader");
        let tensor = match &op.call {
            Call::Linear(c) => {
                let head = match &lm_head_t {
                    Some(h) => h,
                    None => lm_head_t.insert(llama::lm_head_weight(
                        weights,
                        cfg.tie_word_embeddings,
                        cfg.vocab_size,
                        cfg.hidden_size,
                    )?),
                };
                let piece = llama::columns(head, c.k, lm_col, c.n);
                lm_col += c.n;
                llama::upload_linear(device, &piece, c)?
            }
            Call::RmsNorm { .. } => norm(device, t, &op.weights[0], weights)?,
            Call::Embedding { .. } => {
                let (v, h) = (t.shape[2], t.shape[3]);
                Tensor::from_f32(
                    device,
                    &llama::embedding_table(weights, v, h)?,
                    &[v, h],
                    t.dtype,
                    Layout::RowMajor,
                    &t.memory_config,
                )?
            }
            other => unreachable!("the model's tensors are read by matmuls, norms and the embedding, not {other:?}"),
        };
        out.insert(t.tensor.clone(), tensor);
    }
    Ok(out)
}

/// A norm's gamma `[1, 1, hidden / 32, 32]`, row-major.
fn norm(device: &Device, t: &TensorArg, name: &str, weights: &impl WeightSource) -> Result<Tensor> {
    let h = t.shape[2] * t.shape[3];
    Tensor::from_f32(
        device,
        &llama::norm_weight(weights, name, h)?,
        &[1, 1, h / 32, 32],
        t.dtype,
        Layout::RowMajor,
        &t.memory_config,
    )
}

/// Layer `layer`'s tensor `t`, read by one of `ops` (its layer plan's): the weight transform by
/// Hugging Face name and the upload in the planned placement; the KV caches zeroed.
fn load_layer_tensor(
    device: &Device,
    t: &TensorArg,
    ops: &[PlannedOp],
    layer: usize,
    weights: &impl WeightSource,
) -> Result<Tensor> {
    if let TensorRef::Cache(KvCache::K | KvCache::V) = t.tensor {
        return Tensor::zeros(device, &t.shape, t.dtype, Layout::Tile, &t.memory_config);
    }
    let op = reading_op(ops.iter(), &t.tensor).expect("a reader");
    let name = |w: &String| w.replace("{layer}", &layer.to_string());
    let heads = ops
        .iter()
        .find_map(|o| match o.call {
            Call::NlpCreateQkvHeads { num_q_heads, num_kv_heads, .. }
            | Call::NlpCreateQkvHeadsDecode { num_q_heads, num_kv_heads } => Some((num_q_heads, num_kv_heads)),
            _ => None,
        })
        .unwrap_or((1, 1));
    match &op.call {
        Call::Linear(c) if t.tensor == TensorRef::Layer(LayerWeight::WqkvBias) => {
            let b: Vec<String> = op.weights.iter().map(|w| name(w).replace(".weight", ".bias")).collect();
            let data = llama::qkv_bias(weights, [&b[0], &b[1], &b[2]], heads.0, heads.1)?;
            llama::upload_bias(device, &data, c)
        }
        Call::Linear(c) => {
            let data = if op.weights.len() == 3 {
                let w: Vec<String> = op.weights.iter().map(name).collect();
                llama::qkv_weight(weights, [&w[0], &w[1], &w[2]], c.k, heads.0, heads.1)?
            } else {
                llama::linear_weight(weights, &name(&op.weights[0]), c.n, c.k)?
            };
            llama::upload_linear(device, &data, c)
        }
        Call::RmsNorm { .. } => norm(device, t, &name(&op.weights[0]), weights),
        other => unreachable!("a layer's weights are read by matmuls and norms, not {other:?}"),
    }
}

/// Runs one step: the prologue, each layer through its layer plan, the epilogue; returns the
/// logits pieces the LM head made.
fn run_step(
    step: &StepPlan,
    model: &HashMap<TensorRef, Tensor>,
    layers: &mut [HashMap<TensorRef, Tensor>],
    args: &StepArgs,
) -> Result<Vec<Tensor>> {
    let p = &step.plan.program;
    let mut locals: HashMap<String, Tensor> = HashMap::new();
    run_ops(&p.prologue, &mut locals, model, None, args)?;
    let h_in = p.prologue.last().and_then(|o| o.outputs.first()).and_then(|t| t.tensor.as_local()).unwrap_or("h");
    let mut h = locals.remove(h_in).expect("the prologue makes the hidden state");
    for (l, &plan) in p.layer_plan_of().iter().enumerate() {
        let mut layer_locals = HashMap::from([("h".to_owned(), h)]);
        run_ops(&p.layer_plans[plan].ops, &mut layer_locals, model, Some(&mut layers[l]), args)?;
        h = layer_locals.remove("h_out").expect("a layer makes `h_out`");
    }
    locals.insert("h".into(), h);
    run_ops(&p.epilogue, &mut locals, model, None, args)?;
    let logits: Vec<Tensor> = p
        .epilogue
        .iter()
        .filter(|o| matches!(o.call, Call::Linear(_)))
        .flat_map(|o| &o.outputs)
        .map(|t| locals.remove(t.tensor.as_local().expect("a local")).expect("the LM head's output"))
        .collect();
    Ok(logits)
}

/// Runs `ops` in order: each op's tensors looked up, its call dispatched, its outputs bound,
/// the locals at their last use dropped.
fn run_ops(
    ops: &[PlannedOp],
    locals: &mut HashMap<String, Tensor>,
    model: &HashMap<TensorRef, Tensor>,
    mut layer: Option<&mut HashMap<TensorRef, Tensor>>,
    args: &StepArgs,
) -> Result<()> {
    for op in ops {
        let outputs = match &op.call {
            // The two in-place ops borrow a cache mutably and their input immutably.
            Call::FillCache | Call::PagedUpdateCache => {
                let cache_ref = &op.inputs[0].tensor;
                // What is written is a local of the step, never another of the layer's tensors.
                let x = lookup(&op.inputs[1].tensor, locals, model, None, args);
                let cache =
                    layer.as_deref_mut().and_then(|l| l.get_mut(cache_ref)).expect("the layer holds its KV cache");
                match op.call {
                    Call::FillCache => ops::fill_cache(cache, x, args.user, 0)?,
                    _ => ops::paged_update_cache(cache, x, args.positions)?,
                }
                Vec::new()
            }
            call => {
                let a: Vec<&Tensor> =
                    op.inputs.iter().map(|t| lookup(&t.tensor, locals, model, layer.as_deref(), args)).collect();
                dispatch(call, &a, op, args)?
            }
        };
        for (t, value) in op.outputs.iter().zip(outputs) {
            locals.insert(t.tensor.as_local().expect("ops return locals").to_owned(), value);
        }
        for name in &op.deallocate {
            locals.remove(name);
        }
    }
    Ok(())
}

/// The tensor a [`TensorRef`] names in this step.
fn lookup<'a>(
    t: &TensorRef,
    locals: &'a HashMap<String, Tensor>,
    model: &'a HashMap<TensorRef, Tensor>,
    layer: Option<&'a HashMap<TensorRef, Tensor>>,
    args: &'a StepArgs,
) -> &'a Tensor {
    match t {
        TensorRef::Local(n) => &locals[n],
        TensorRef::Model(_) => &model[t],
        TensorRef::Layer(_) | TensorRef::Cache(_) => &layer.expect("a layer's tensor inside a layer")[t],
        TensorRef::Rope(RopeInput::Cos) => args.rope.cos,
        TensorRef::Rope(RopeInput::Sin) => args.rope.sin,
        TensorRef::Rope(RopeInput::TransMat) => args.rope.trans_mat,
        TensorRef::Step(StepInput::Ids) => args.ids,
        TensorRef::LinearField { .. } | TensorRef::UserRows { .. } => {
            unreachable!("`{t}` is not part of a Llama step that runs")
        }
    }
}

/// One op: its call, with the configs the plan holds, on the tensors `a` (in call order).
fn dispatch(call: &Call, a: &[&Tensor], op: &PlannedOp, args: &StepArgs) -> Result<Vec<Tensor>> {
    let one = |t: Result<Tensor>| t.map(|t| vec![t]);
    match *call {
        Call::Embedding { memory_config, dtype } => {
            one(ops::embedding(a[0], a[1], &memory_config, dtype, Layout::Tile))
        }
        Call::Reshape { shape, memory_config } => one(ops::reshape(a[0], &shape, &memory_config)),
        Call::ToMemoryConfig { memory_config } => one(ops::to_memory_config(a[0], &memory_config)),
        Call::RmsNorm { epsilon, program_config, memory_config, compute_kernel_config } => {
            one(ops::rms_norm(a[0], epsilon, a[1], &program_config, &memory_config, &compute_kernel_config))
        }
        Call::Linear(c) => one(ops::linear(a[0], a[1], if c.bias { Some(a[2]) } else { None }, &c)),
        Call::NlpCreateQkvHeads { num_q_heads, num_kv_heads, memory_config } => {
            let (q, k, v) = ops::nlp_create_qkv_heads(a[0], num_q_heads, num_kv_heads, false, &memory_config)?;
            Ok(vec![q, k, v])
        }
        Call::NlpCreateQkvHeadsDecode { num_q_heads, num_kv_heads } => {
            let (q, k, v) = ops::nlp_create_qkv_heads_decode(a[0], num_q_heads, num_kv_heads)?;
            Ok(vec![q, k, v])
        }
        Call::RotaryEmbeddingLlama { is_decode_mode, memory_config, compute_kernel_config } => one(
            ops::rotary_embedding_llama(a[0], a[1], a[2], a[3], is_decode_mode, &memory_config, &compute_kernel_config),
        ),
        Call::Typecast { dtype, memory_config } => one(ops::typecast(a[0], dtype, &memory_config)),
        Call::ScaledDotProductAttention { is_causal, scale, program_config, memory_config, compute_kernel_config } => {
            one(ops::scaled_dot_product_attention(
                a[0],
                a[1],
                a[2],
                None,
                is_causal,
                Some(scale),
                &program_config,
                &memory_config,
                &compute_kernel_config,
            ))
        }
        Call::ScaledDotProductAttentionDecode { scale, program_config, memory_config, compute_kernel_config } => {
            one(ops::scaled_dot_product_attention_decode(
                a[0],
                a[1],
                a[2],
                args.positions,
                Some(scale),
                &program_config,
                &memory_config,
                &compute_kernel_config,
            ))
        }
        Call::NlpConcatHeads { memory_config } => one(ops::nlp_concat_heads(a[0], &memory_config)),
        Call::NlpConcatHeadsDecode { num_heads } => one(ops::nlp_concat_heads_decode(a[0], num_heads)),
        Call::Add { memory_config, dtype } => one(ops::add(a[0], a[1], &memory_config, dtype)),
        Call::Multiply { memory_config, dtype, lhs_activation } => {
            one(ops::multiply(a[0], a[1], &memory_config, dtype, lhs_activation))
        }
        Call::SliceLastToken { memory_config } => {
            let w = op.inputs[0].shape[3];
            one(ops::slice(a[0], &[0, 0, args.last, 0], &[1, 1, args.last + 1, w], &memory_config))
        }
        Call::FillCache | Call::PagedUpdateCache => unreachable!("in-place ops are run by run_ops"),
        Call::AllReduce { .. } | Call::AllGather { .. } => Err(Error::Shape {
            op: op.call.op_fn(),
            message: "collectives are planned for multi-chip systems, which do not run yet".into(),
        }),
    }
}
