//! Whole-model planning of Llama-architecture models (`LlamaForCausalLM`, and the families with
//! Llama's numerics: `MistralForCausalLM` within its sliding window, `Qwen2ForCausalLM` with its
//! q/k/v bias fused into the QKV matmul) from a Hugging Face config: every op of a prefill or
//! decode step, in order, with every TT-NN config chosen.
//!
//! The op sequence follows tt-transformers' Llama (`models/tt_transformers/tt/{attention,mlp,
//! decoder,model}.py`): embedding; per layer rms_norm → fused QKV matmul → head split → rotary →
//! KV-cache write → SDPA → head merge → wo → (all-reduce) → residual add → rms_norm → w1, w3 →
//! SiLU·mul → w2 → (all-reduce) → residual add; final norm; LM head (split into several matmuls
//! when one does not fit L1, as tt-transformers' `LMHead` does).
//!
//! Decode with at most 32 users keeps the hidden state WIDTH_SHARDED in L1 and runs every matmul
//! as a DRAM-sharded GEMV; prefill (and decode with more than 32 users) keeps activations
//! interleaved and searches the multicast families. Multi-chip systems are planned per chip with
//! 1D tensor parallelism over all chips of the mesh (heads, MLP width and vocabulary split;
//! all-reduce after wo and w2, all-gather of the logits), the scheme tt-transformers uses on
//! N300/T3K. Identical layers are planned once and reused.

mod cb;
mod ops;
mod runnable;
mod step;
mod types;

use crate::program::{Call, LayerPlan, OpKind, OpShapes, PlannedOp, Program, Role, TensorArg};
use crate::program::{KvCache, LayerWeight, ModelWeight, RopeInput, StepInput, TensorRef};
pub use runnable::{ModelProgram, StepKind, StepPlan, plan_program};
pub use types::{
    LayerOverride, LlamaOptions, LlamaPlan, LlamaPlanError, OptimizeFor, PlanTotals, THROUGHPUT_SLACK, TracedCall,
    WeightGroup,
};

use std::collections::BTreeMap;

use crate::device::{DeviceProfile, SystemProfile};
use crate::hf::LlamaConfig;
use crate::ttnn::{DataType, MathFidelity, MatmulProgramConfig, MemoryConfig, OpProgramConfig};

use super::{LinearPlan, LinearRequest, LinearSearch, Mode, Policy, plan_linear_with};
use crate::rules::Rule;
use ops::{Activation, Attention, Ctx, NormRequest, Residency, rectangular};
use step::Step;

/// dtype and fidelity of one weight group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct GroupCfg {
    dtype: DataType,
    fidelity: Option<MathFidelity>,
    /// Set by a user override: the memory-budget ladder leaves it alone.
    pinned: bool,
}

/// The dtypes of a plan: one per group for every layer, plus the KV cache.
#[derive(Debug, Clone, PartialEq)]
struct Assignment {
    /// `[wqkv, wo, w1w3, w2]` per layer.
    layers: Vec<[GroupCfg; 4]>,
    lm_head: GroupCfg,
    kv: DataType,
}

const GROUPS: [WeightGroup; 4] = [WeightGroup::Wqkv, WeightGroup::Wo, WeightGroup::W1W3, WeightGroup::W2];

/// Where a decoder-layer group sits in a layer's `[wqkv, wo, w1w3, w2]` (the order of [`GROUPS`]).
fn layer_group(group: WeightGroup) -> usize {
    GROUPS.iter().position(|&g| g == group).expect("a decoder-layer weight group")
}

/// The weight dtype of a group under a policy. Performance mirrors tt-transformers'
/// `ModelOptimizations.performance` (`models/tt_transformers/tt/model_config.py`): BFP4 for
/// FF1/FF3 with LoFi, BFP8 elsewhere (the TensorGroup default) with HiFi2; accuracy is BF16 with
/// the highest fidelity the policy allows (HiFi4, or HiFi3 with fp32 accumulation on Wormhole,
/// see [`Policy::matmul_compute_config`]).
fn policy_dtype(policy: Policy, g: WeightGroup) -> DataType {
    match (policy, g) {
        (Policy::Accuracy, _) => DataType::Bfloat16,
        (Policy::Performance, WeightGroup::W1W3) => DataType::Bfloat4B,
        (Policy::Performance, _) => DataType::Bfloat8B,
    }
}

/// KV-cache dtype: BFP8 under performance (tt-transformers' KV_CACHE default), BF16 under
/// accuracy (its accuracy mode sets `TensorGroup.KV_CACHE: BF16`).
fn policy_kv(policy: Policy) -> DataType {
    match policy {
        Policy::Accuracy => DataType::Bfloat16,
        Policy::Performance => DataType::Bfloat8B,
    }
}

fn assignment(cfg: &LlamaConfig, opts: &LlamaOptions) -> Assignment {
    let resolve = |g: WeightGroup, layer: Option<u32>| {
        let mut c = GroupCfg { dtype: policy_dtype(opts.policy, g), fidelity: None, pinned: false };
        for o in opts.overrides.iter().filter(|o| o.group == g && o.applies(layer)) {
            if let Some(d) = o.dtype {
                c.dtype = d;
                c.pinned = true;
            }
            if o.math_fidelity.is_some() {
                c.fidelity = o.math_fidelity;
            }
        }
        c
    };
    Assignment {
        layers: (0..cfg.num_hidden_layers).map(|l| GROUPS.map(|g| resolve(g, Some(l)))).collect(),
        lm_head: resolve(WeightGroup::LmHead, None),
        kv: policy_kv(opts.policy),
    }
}

/// Per-chip sizes under 1D tensor parallelism over `chips`.
#[derive(Debug, Clone, Copy)]
struct Split {
    chips: u32,
    qh: u32,
    kvh: u32,
    hd: u32,
    hidden: u32,
    inter: u32,
    vocab: u32,
}

fn split(cfg: &LlamaConfig, chips: u32) -> Result<Split, LlamaPlanError> {
    let unsupported = |m: String| LlamaPlanError::Unsupported { rule: Rule::ShapeMismatch, message: m };
    if !cfg.num_attention_heads.is_multiple_of(chips) {
        return Err(unsupported(format!(
            "{} attention heads cannot be split evenly over {chips} chips; fix: use a mesh whose chip count divides the head count",
            cfg.num_attention_heads
        )));
    }
    let kvh = if cfg.num_key_value_heads.is_multiple_of(chips) {
        cfg.num_key_value_heads / chips
    } else if chips.is_multiple_of(cfg.num_key_value_heads) {
        1 // each chip holds a replica of the one KV head its query heads use
    } else {
        return Err(unsupported(format!(
            "{} KV heads can neither be split over nor replicated onto {chips} chips",
            cfg.num_key_value_heads
        )));
    };
    Ok(Split {
        chips,
        qh: cfg.num_attention_heads / chips,
        kvh,
        hd: cfg.head_dim,
        hidden: cfg.hidden_size,
        inter: cfg.intermediate_size.div_ceil(chips).div_ceil(32) * 32,
        vocab: cfg.vocab_size.div_ceil(chips).div_ceil(32) * 32,
    })
}

/// Stored bytes of a `[k, n]` weight in tiles, N padded to `32 * banks` when DRAM-sharded.
fn weight_bytes(k: u32, n: u32, dtype: DataType, pad_banks: Option<u32>) -> u64 {
    let nt = match pad_banks {
        Some(b) => n.div_ceil(32 * b) * b,
        None => n.div_ceil(32),
    };
    k.div_ceil(32) as u64 * nt as u64 * dtype.tile_bytes()
}

/// Weights plus KV cache per chip under an assignment.
fn memory_needed(
    cfg: &LlamaConfig,
    s: &Split,
    a: &Assignment,
    opts: &LlamaOptions,
    device: &DeviceProfile,
) -> (u64, u64) {
    let pad = (opts.mode == Mode::Decode && opts.batch <= 32).then_some(device.dram_banks);
    let mut w = cfg.vocab_size as u64 * s.hidden as u64 * 2; // embedding table, bf16 row-major
    for g in &a.layers {
        w += weight_bytes(s.hidden, (s.qh + 2 * s.kvh) * s.hd, g[0].dtype, pad);
        if cfg.qkv_bias {
            // The fused bias: one tile row of the QKV width, stored like the weight.
            w += weight_bytes(32, (s.qh + 2 * s.kvh) * s.hd, g[0].dtype, pad);
        }
        w += weight_bytes(s.qh * s.hd, s.hidden, g[1].dtype, pad);
        w += 2 * weight_bytes(s.hidden, s.inter, g[2].dtype, pad);
        w += weight_bytes(s.inter, s.hidden, g[3].dtype, pad);
        w += 2 * s.hidden as u64 * 2; // two norm weights, bf16
    }
    w += s.hidden as u64 * 2 + weight_bytes(s.hidden, s.vocab, a.lm_head.dtype, pad);
    let kv = cfg.num_hidden_layers as u64
        * 2
        * opts.batch as u64
        * s.kvh as u64
        * opts.seq_len.div_ceil(32) as u64
        * (s.hd as u64).div_ceil(32)
        * a.kv.tile_bytes();
    (w, kv)
}

/// Plans a Llama model on `system` (per chip). See the module docs for the op sequence.
pub fn plan_llama(cfg: &LlamaConfig, system: &SystemProfile, opts: &LlamaOptions) -> Result<LlamaPlan, LlamaPlanError> {
    plan(cfg, system, opts, None)
}

/// Plans a single-user prefill of `seq_len` tokens that runs on the weights `decode` placed: every
/// matmul reads its weight in the dtype and memory config the decode plan chose (DRAM
/// WIDTH_SHARDED for the decode GEMVs), so a model that prefills and decodes holds one copy of
/// its weights. tt-transformers does the same: its prefill matmuls read the DRAM-sharded decode
/// weights with 2D / 1D multicast program configs (`mlp.py`, `attention.py` @ 13adda80), which
/// TT-NN accepts for a WIDTH_SHARDED in1 on a single-row shard grid (2D) and for any DRAM in1
/// of a wide 1D matmul (`matmul_device_operation.cpp` @ 13adda80); the tall 1D family needs an
/// interleaved in1 and is left out by the rule checker. The LM head keeps the decode plan's
/// column split, each piece on its decode weight. Dtypes, fidelities and the KV cache follow
/// the decode plan (the memory budget is the decode plan's: it is what the device holds).
pub fn plan_llama_prefill_for(
    decode: &LlamaPlan,
    system: &SystemProfile,
    seq_len: u32,
) -> Result<LlamaPlan, LlamaPlanError> {
    if decode.options.mode != Mode::Decode {
        return Err(LlamaPlanError::Unsupported {
            rule: Rule::ShapeMismatch,
            message: "prefill can share the weights of a decode plan only".into(),
        });
    }
    if seq_len > decode.options.seq_len {
        return Err(LlamaPlanError::Unsupported {
            rule: Rule::ShapeMismatch,
            message: format!(
                "a {seq_len}-token prefill does not fit the decode plan's KV cache of {} positions",
                decode.options.seq_len
            ),
        });
    }
    let opts = LlamaOptions { mode: Mode::Prefill, batch: 1, seq_len, ..decode.options.clone() };
    plan(&decode.model, system, &opts, Some(decode))
}

/// Weight placements of another plan that this one must reuse, by matmul op name.
struct SharedWeights<'a> {
    plan: &'a LlamaPlan,
}

impl SharedWeights<'_> {
    fn weight(&self, op: &str) -> Result<(DataType, MemoryConfig), LlamaPlanError> {
        let o = self.plan.ops.iter().find(|o| o.name == op && o.kind() == OpKind::Linear).ok_or_else(|| {
            LlamaPlanError::Unsupported {
                rule: Rule::ShapeMismatch,
                message: format!("the decode plan has no matmul `{op}` whose weight this prefill could share"),
            }
        })?;
        Ok((o.dtypes[&Role::Weight], o.memory_configs[&Role::Weight]))
    }

    /// The decode plan's LM head pieces: `(name, columns)`.
    fn head_pieces(&self) -> Vec<(String, u32)> {
        self.plan
            .ops
            .iter()
            .filter(|o| o.inputs.iter().any(|t| matches!(t.tensor, TensorRef::Model(w) if w.is_lm_head())))
            .map(|o| (o.name.clone(), o.shapes.n.unwrap_or(0)))
            .collect()
    }
}

/// Plans `cfg` on `system` under `opts`, on the weights `shared` placed when given: the options
/// checked, the weights and KV cache fitted to memory, then the prologue, the distinct decoder
/// layers and the epilogue planned in op order.
fn plan(
    cfg: &LlamaConfig,
    system: &SystemProfile,
    opts: &LlamaOptions,
    shared: Option<&LlamaPlan>,
) -> Result<LlamaPlan, LlamaPlanError> {
    let device = &system.chip;
    let shared = shared.map(|plan| SharedWeights { plan });
    // Memory is what the device holds: with shared weights, the decode plan's weights and cache.
    let mem_opts = shared.as_ref().map_or(opts, |s| &s.plan.options);
    check_options(cfg, opts)?;
    let s = split(cfg, system.num_chips())?;
    let mut notes = Vec::new();
    if device.legacy {
        notes.push(format!(
            "{} is a legacy target: TT-NN dropped it after v0.55; the plan is for reference only",
            device.name
        ));
    }
    let fit = fit_memory(cfg, device, &s, mem_opts, opts.memory_budget.unwrap_or(device.dram_bytes))?;
    notes.extend(fit.notes.iter().cloned());
    if shared.is_some() {
        notes.push("weights shared with the decode plan: every matmul reads the decode plan's weight placement".into());
    }

    let planning = Planning::new(cfg, system, opts, s, shared.as_ref());
    let program = Program {
        prologue: planning.prologue()?,
        layer_plans: planning.layer_plans(&fit.assignment)?,
        epilogue: planning.epilogue(fit.assignment.lm_head)?,
    };
    let ops = program.flatten();
    let totals = totals(&ops, opts, device, &fit);
    Ok(LlamaPlan {
        model: cfg.clone(),
        system: system.name,
        chip: device.name,
        mesh: system.mesh,
        parallelism: parallelism(&s, system),
        options: opts.clone(),
        program,
        ops,
        totals,
        notes,
    })
}

/// Refuses options no plan exists for: an empty batch or sequence, a sequence longer than the
/// model's positions or its sliding window.
fn check_options(cfg: &LlamaConfig, opts: &LlamaOptions) -> Result<(), LlamaPlanError> {
    let unsupported = |message: String| LlamaPlanError::Unsupported { rule: Rule::ShapeMismatch, message };
    if opts.batch == 0 || opts.seq_len == 0 {
        return Err(unsupported("batch and seq_len must be positive".into()));
    }
    if opts.seq_len > cfg.max_position_embeddings {
        return Err(unsupported(format!(
            "seq_len {} exceeds the model's max_position_embeddings {}",
            opts.seq_len, cfg.max_position_embeddings
        )));
    }
    // A sliding window narrower than the planned context would need windowed attention.
    cfg.check_context(opts.seq_len).map_err(|kind| unsupported(format!("the model's {kind}")))
}

/// Weights and KV cache fitted to the memory budget: their dtypes, bytes per chip, and a note per
/// step of the ladder taken.
struct MemoryFit {
    assignment: Assignment,
    weight_bytes: u64,
    kv_bytes: u64,
    budget: u64,
    notes: Vec<String>,
}

/// One step down the memory ladder: what it moves (for the note) and the move.
type Relaxation = (&'static str, fn(&mut Assignment));

/// The memory ladder, in order: bf16 → bfloat8_b (weights and cache), then w1/w3 → bfloat4_b,
/// then w2 → bfloat4_b. User-pinned dtypes are never changed.
const LADDER: [Relaxation; 3] = [
    ("bfloat16 weights and KV cache moved to bfloat8_b", bfloat16_to_bfloat8),
    ("w1/w3 moved to bfloat4_b", |a| group_to_bfloat4(a, WeightGroup::W1W3)),
    ("w2 moved to bfloat4_b", |a| group_to_bfloat4(a, WeightGroup::W2)),
];

/// Moves every unpinned bfloat16 weight, and a bfloat16 KV cache, to bfloat8_b.
fn bfloat16_to_bfloat8(a: &mut Assignment) {
    for g in a.layers.iter_mut().flatten().chain(std::iter::once(&mut a.lm_head)) {
        if !g.pinned && g.dtype == DataType::Bfloat16 {
            g.dtype = DataType::Bfloat8B;
        }
    }
    if a.kv == DataType::Bfloat16 {
        a.kv = DataType::Bfloat8B;
    }
}

/// Moves the unpinned weights of a decoder-layer group to bfloat4_b.
fn group_to_bfloat4(a: &mut Assignment, group: WeightGroup) {
    let i = layer_group(group);
    for l in &mut a.layers {
        if !l[i].pinned {
            l[i].dtype = DataType::Bfloat4B;
        }
    }
}

/// Starts from the policy's dtypes (`opts`) and steps down the [`LADDER`] while weights + KV cache
/// exceed `budget` bytes per chip.
fn fit_memory(
    cfg: &LlamaConfig,
    device: &DeviceProfile,
    s: &Split,
    opts: &LlamaOptions,
    budget: u64,
) -> Result<MemoryFit, LlamaPlanError> {
    let mut a = assignment(cfg, opts);
    let mut notes = Vec::new();
    let (mut w, mut kv) = memory_needed(cfg, s, &a, opts, device);
    for (what, step) in LADDER {
        if w + kv <= budget {
            break;
        }
        let before = w + kv;
        step(&mut a);
        (w, kv) = memory_needed(cfg, s, &a, opts, device);
        if w + kv < before {
            notes.push(format!("memory budget {budget} B per chip: {what} (needed {before} B)"));
        }
    }
    if w + kv > budget {
        return Err(LlamaPlanError::MemoryBudget { needed: w + kv, budget });
    }
    Ok(MemoryFit { assignment: a, weight_bytes: w, kv_bytes: kv, budget, notes })
}

/// Where the hidden state of `m` rows lives: decode with at most 32 users keeps it WIDTH_SHARDED
/// in L1 (on the most cores, forming a rectangle, that divide its tiles), larger decode batches
/// L1-interleaved, prefill DRAM-interleaved.
fn hidden_residency(mode: Mode, m: u32, hidden: u32, device: &DeviceProfile) -> Residency {
    let kt_hidden = hidden.div_ceil(32);
    if mode == Mode::Decode && m <= 32 {
        let grid = device.compute_grid;
        let cores =
            (1..=grid.area().min(kt_hidden)).rev().find(|&c| kt_hidden.is_multiple_of(c) && rectangular(c, grid));
        match cores {
            Some(c) if hidden.is_multiple_of(32) => Residency::Sharded { cores: c },
            _ => Residency::Interleaved(MemoryConfig::L1_INTERLEAVED),
        }
    } else if mode == Mode::Decode {
        Residency::Interleaved(MemoryConfig::L1_INTERLEAVED)
    } else {
        Residency::Interleaved(MemoryConfig::DRAM_INTERLEAVED)
    }
}

/// The plan's totals: time and throughput, the memory fitted, and how close its weight reads come
/// to the DRAM roofline.
fn totals(ops: &[PlannedOp], opts: &LlamaOptions, device: &DeviceProfile, fit: &MemoryFit) -> PlanTotals {
    let estimate_us: f64 = ops.iter().map(|o| o.estimate_us).sum();
    let weight_read: u64 = ops.iter().map(|o| o.weight_bytes).sum();
    let roofline_us = weight_read as f64 / device.dram_bandwidth_bytes_per_s * 1e6;
    let tokens = match opts.mode {
        Mode::Decode => opts.batch as f64,
        Mode::Prefill => opts.batch as f64 * opts.seq_len as f64,
    };
    PlanTotals {
        ops: ops.len(),
        estimate_us,
        tokens_per_s_per_user: tokens / opts.batch as f64 * 1e6 / estimate_us,
        tokens_per_s: tokens * 1e6 / estimate_us,
        weight_bytes_per_chip: fit.weight_bytes,
        weight_bytes_read_per_call: weight_read,
        kv_cache_bytes_per_chip: fit.kv_bytes,
        memory_budget_bytes: fit.budget,
        l1_peak_bytes_per_core: ops.iter().map(|o| o.l1_peak_bytes_per_core).max().unwrap_or(0),
        weight_roofline_us: roofline_us,
        roofline_fraction: roofline_us / estimate_us,
        ethernet_bytes_per_call: ops.iter().map(|o| o.eth_bytes).sum(),
        ethernet_us_per_call: ops.iter().filter(|o| o.eth_bytes > 0).map(|o| o.estimate_us).sum(),
    }
}

/// How the model is spread over the system's chips, in words.
fn parallelism(s: &Split, system: &SystemProfile) -> String {
    if s.chips == 1 {
        "single chip".to_string()
    } else {
        format!(
            "1D tensor parallel over {} chips (mesh {}x{}): {} q heads, {} kv heads, MLP width {}, vocab {} per chip; per-chip plan",
            s.chips, system.mesh.0, system.mesh.1, s.qh, s.kvh, s.inter, s.vocab
        )
    }
}

/// What every part of one plan reads: the model, system and options, the op planners, the
/// per-chip sizes and the hidden state the parts pass on.
struct Planning<'a> {
    cfg: &'a LlamaConfig,
    system: &'a SystemProfile,
    opts: &'a LlamaOptions,
    ctx: Ctx<'a>,
    mm: MatmulPlanner<'a>,
    s: Split,
    /// Rows of the hidden state: users in decode, users × positions in prefill.
    m: u32,
    /// Where the hidden state lives.
    res: Residency,
    /// The RMS norms' epsilon.
    eps: f32,
    /// The hidden state between the parts: `h`, `[1, 1, m, hidden]` bf16, held as `res` says.
    hidden: TensorArg,
}

/// The decoder layer being planned.
struct Layer {
    index: u32,
    /// `[wqkv, wo, w1w3, w2]`.
    groups: [GroupCfg; 4],
    attention: Attention,
}

impl Layer {
    /// The name of the layer's op `op` (`layers.3.mlp.w1`).
    fn op(&self, op: &str) -> String {
        format!("layers.{}.{op}", self.index)
    }

    /// The checkpoint name of the layer's weight `w` (`model.layers.3.mlp.gate_proj.weight`).
    fn weight(&self, w: &str) -> String {
        format!("model.layers.{}.{w}", self.index)
    }
}

impl<'a> Planning<'a> {
    /// The planners and the hidden state of a plan of `cfg` on `system`, `s` per chip.
    fn new(
        cfg: &'a LlamaConfig,
        system: &'a SystemProfile,
        opts: &'a LlamaOptions,
        s: Split,
        shared: Option<&'a SharedWeights<'a>>,
    ) -> Self {
        let device = &system.chip;
        let ctx = Ctx { device, system: system.name, mode: opts.mode, policy: opts.policy };
        let m = match opts.mode {
            Mode::Decode => opts.batch,
            Mode::Prefill => opts.batch * opts.seq_len,
        };
        let res = hidden_residency(opts.mode, m, s.hidden, device);
        let hidden = TensorArg {
            tensor: "h".into(),
            shape: [1, 1, m, s.hidden],
            dtype: DataType::Bfloat16,
            memory_config: ctx.hidden_mc(res, m, s.hidden),
        };
        let mm = MatmulPlanner { device, opts, res, shared, output_dtype: DataType::Bfloat16, qkv_bias: cfg.qkv_bias };
        Planning { cfg, system, opts, ctx, mm, s, m, res, eps: cfg.rms_norm_eps as f32, hidden }
    }

    /// The rms_norm `name` of the hidden state with gamma `weight`.
    fn norm(&self, name: String, layer: Option<u32>, weight: String) -> NormRequest {
        NormRequest { name, layer, weight, epsilon: self.eps, m: self.m, hidden: self.s.hidden, res: self.res }
    }

    /// The hidden-sized activation the residual adds and all-reduces read.
    fn hidden_activation(&self) -> Activation {
        Activation {
            m: self.m,
            width: self.s.hidden,
            memory_config: self.hidden.memory_config,
            dtype: DataType::Bfloat16,
        }
    }

    /// The prologue: token ids → embedding rows → `[1, 1, m, hidden]` → where the layers keep it.
    fn prologue(&self) -> Result<Vec<PlannedOp>, LlamaPlanError> {
        let (ctx, m, hidden) = (&self.ctx, self.m, self.s.hidden);
        let mut st = Step::new(ctx, "");
        let emb = ctx.embedding("model.embed_tokens.weight".into(), m, self.cfg.vocab_size, hidden)?;
        let emb_out = emb.memory_configs[&Role::Output];
        st.push(
            emb,
            &[(StepInput::Ids.into(), Role::Input), (ModelWeight::EmbedTokens.into(), Role::Weight)],
            &[("embedded", Role::Output)],
        )?;
        st.push(
            ctx.reshape("embedding.reshape".into(), m, hidden, emb_out)?,
            &[("embedded".into(), Role::Input)],
            &[("h", Role::Output)],
        )?;
        let h_name = if emb_out == self.hidden.memory_config {
            "h"
        } else {
            st.move_to("embedding.to_memory_config", "h", self.hidden.memory_config, "h_sharded")?;
            "h_sharded"
        };
        Ok(st.finish(&[h_name]))
    }

    /// The decoder layers: one plan per distinct dtype assignment; layers that match share it.
    fn layer_plans(&self, a: &Assignment) -> Result<Vec<LayerPlan>, LlamaPlanError> {
        let mut plans: Vec<([GroupCfg; 4], LayerPlan)> = Vec::new();
        for layer in 0..self.cfg.num_hidden_layers {
            let groups = a.layers[layer as usize];
            if let Some((_, lp)) = plans.iter_mut().find(|(g, _)| *g == groups) {
                lp.layers.push(layer);
                continue;
            }
            let ops = self.plan_layer(layer, groups, a.kv)?;
            plans.push((groups, LayerPlan { layers: vec![layer], ops: layer_template(layer, ops) }));
        }
        Ok(plans.into_iter().map(|(_, lp)| lp).collect())
    }
}

/// The ops of layer `layer` as the plan of every layer sharing them: op names without the
/// `layers.{layer}.` prefix, no layer index, weights named `model.layers.{layer}.…` literally.
fn layer_template(layer: u32, ops: Vec<PlannedOp>) -> Vec<PlannedOp> {
    let prefix = format!("layers.{layer}.");
    let wprefix = format!("model.layers.{layer}.");
    ops.into_iter()
        .map(|mut op| {
            op.name = op.name.strip_prefix(&prefix).unwrap_or(&op.name).to_owned();
            op.layer = None;
            op.weights = op.weights.iter().map(|w| w.replacen(&wprefix, "model.layers.{layer}.", 1)).collect();
            op
        })
        .collect()
}

impl Planning<'_> {
    /// The epilogue: final norm, (prefill) the last token of each prompt, the LM head pieces and,
    /// on a mesh, the logits gathered.
    fn epilogue(&self, lm: GroupCfg) -> Result<Vec<PlannedOp>, LlamaPlanError> {
        let (ctx, opts) = (&self.ctx, self.opts);
        let mut st = Step::new(ctx, "");
        st.input(self.hidden.clone());
        st.push(
            ctx.rms_norm(self.norm("final_norm".into(), None, "model.norm.weight".into()))?,
            &[("h".into(), Role::Input), (ModelWeight::Norm.into(), Role::Weight)],
            &[("x_final", Role::Output)],
        )?;
        let (head_m, head_res, head_in) = match opts.mode {
            Mode::Prefill => {
                st.push(
                    ctx.slice_last(opts.batch, opts.seq_len, self.s.hidden)?,
                    &[("x_final".into(), Role::Input)],
                    &[("x_last", Role::Output)],
                )?;
                (opts.batch, Residency::Interleaved(MemoryConfig::DRAM_INTERLEAVED), "x_last")
            }
            Mode::Decode => (self.m, self.res, "x_final"),
        };
        let head = MatmulPlanner { res: head_res, output_dtype: lm_head_output_dtype(opts.policy), ..self.mm };
        let head_ops = self.lm_head(&head, head_m, lm)?;
        let logits = self.logits(&mut st, head_ops, head_in, head_m, head.output_dtype)?;
        let keep: Vec<&str> = logits.iter().map(String::as_str).collect();
        Ok(st.finish(&keep))
    }

    /// The LM head's matmuls, as the fastest split of its columns into pieces (tt-transformers'
    /// `LMHead` splits its output the same way): one piece may not fit L1, and piece widths that
    /// are multiples of 32·banks keep the DRAM-sharded workers' column counts even.
    fn lm_head(&self, head: &MatmulPlanner<'_>, head_m: u32, lm: GroupCfg) -> Result<Vec<PlannedOp>, LlamaPlanError> {
        let head_name = if self.cfg.tie_word_embeddings { "model.embed_tokens.weight" } else { "lm_head.weight" };
        let mut best: Option<Vec<PlannedOp>> = None;
        let mut last_err = None;
        for split in self.head_splits(head.res) {
            let mut v = Vec::new();
            let mut failed = false;
            for (name, n) in split {
                let piece = Matmul {
                    name,
                    layer: None,
                    weights: vec![head_name.to_string()],
                    m: head_m,
                    k: self.s.hidden,
                    n,
                    group: lm,
                    in_cores: None,
                    out_cores: None,
                    bias: false,
                };
                match head.linear(piece) {
                    Ok(op) => v.push(op),
                    Err(e) => {
                        last_err = Some(e);
                        failed = true;
                        break;
                    }
                }
            }
            let time = |ops: &[PlannedOp]| ops.iter().map(|o| o.estimate_us).sum::<f64>();
            if !failed && best.as_ref().is_none_or(|b| time(&v) < time(b)) {
                best = Some(v);
            }
        }
        best.ok_or_else(|| {
            last_err.unwrap_or_else(|| LlamaPlanError::Unsupported {
                rule: Rule::ShapeMismatch,
                message: "the LM head has no columns".into(),
            })
        })
    }

    /// Candidate splits of the LM head's columns, `(name, columns)` per piece: 1 to 8 pieces,
    /// aligned for a head reading its input as `res` holds it. A plan sharing the decode plan's
    /// weights keeps its split (the pieces are the stored weights).
    fn head_splits(&self, res: Residency) -> Vec<Vec<(String, u32)>> {
        if let Some(sh) = self.mm.shared {
            return vec![sh.head_pieces()];
        }
        let vocab = self.s.vocab;
        let align = match res {
            Residency::Sharded { .. } => 32 * self.ctx.device.dram_banks,
            Residency::Interleaved(_) => 32,
        };
        (1..=8u32)
            .filter_map(|pieces| {
                let per = vocab.div_ceil(pieces).div_ceil(align) * align;
                if pieces > 1 && per * (pieces - 1) >= vocab {
                    return None; // fewer non-empty pieces than asked: same as a smaller count
                }
                let mut v = Vec::new();
                let mut start = 0;
                while start < vocab {
                    let n = per.min(vocab - start);
                    v.push((if pieces == 1 { "lm_head".to_string() } else { format!("lm_head.{}", v.len()) }, n));
                    start += n;
                }
                Some(v)
            })
            .collect()
    }

    /// Appends the LM head pieces (reading `head_in`) and, on a mesh, the all-gather of their
    /// logits; returns the locals holding the logits.
    fn logits(
        &self,
        st: &mut Step<'_>,
        head_ops: Vec<PlannedOp>,
        head_in: &str,
        head_m: u32,
        dtype: DataType,
    ) -> Result<Vec<String>, LlamaPlanError> {
        let chips = self.s.chips;
        let gather_mc = match self.opts.mode {
            Mode::Decode => MemoryConfig::L1_INTERLEAVED,
            Mode::Prefill => MemoryConfig::DRAM_INTERLEAVED,
        };
        let pieces = head_ops.len();
        let mut logits = Vec::new();
        for (i, op) in head_ops.into_iter().enumerate() {
            let (out, n, name) = (op.memory_configs[&Role::Output], op.shapes.n.unwrap_or(0), op.name.clone());
            let (weight, local) = if pieces == 1 {
                (ModelWeight::LmHead, "logits".to_string())
            } else {
                (ModelWeight::LmHeadPiece(i as u32), format!("logits_{i}"))
            };
            st.push(op, &[(head_in.into(), Role::Input), (weight.into(), Role::Weight)], &[(&local, Role::Output)])?;
            // The all-gather works on interleaved logits: unshard each piece first.
            if chips > 1 && out.is_sharded() {
                let gathered = format!("{local}_interleaved");
                let piece = Activation { m: head_m, width: n, memory_config: out, dtype };
                st.push(
                    self.ctx.to_interleaved(format!("{name}.to_interleaved"), piece, gather_mc)?,
                    &[((&local).into(), Role::Input)],
                    &[(&gathered, Role::Output)],
                )?;
                logits.push(gathered);
            } else {
                logits.push(local);
            }
        }
        if chips > 1 {
            let all = Activation { m: head_m, width: self.s.vocab, memory_config: gather_mc, dtype };
            let op = self.ctx.collective("lm_head.all_gather".into(), None, OpKind::AllGather, all, self.system)?;
            let args: Vec<(TensorRef, Role)> = logits.iter().map(|l| (l.into(), Role::Input)).take(1).collect();
            st.push(op, &args, &[("logits_gathered", Role::Output)])?;
            logits = vec!["logits_gathered".into()];
        }
        Ok(logits)
    }
}

/// The compute-kernel config for a group: the policy's pairing for the dtype, then the
/// override's fidelity.
fn policy_fidelity_ckc(policy: Policy, g: GroupCfg, device: &DeviceProfile) -> crate::ttnn::ComputeKernelConfig {
    let mut c = policy.matmul_compute_config(g.dtype, device);
    if let Some(f) = g.fidelity {
        c.math_fidelity = f;
    }
    c
}

/// The LM head's output dtype, a policy decision: float32 under `accuracy`, so the logits leave
/// the fp32 accumulator without being rounded to bfloat16's 8 mantissa bits (TT-NN's matmul takes
/// `FLOAT32` as its output dtype, and then defaults to fp32 accumulation: `is_float_32 =
/// output_dtype == DataType::FLOAT32` before `init_device_compute_kernel_config` in
/// `matmul_device_operation.cpp` @ 13adda80; its factories pack any output format, e.g.
/// `output_data_format = datatype_to_dataformat_converter(output.dtype())` in
/// `matmul_multicore_reuse_mcast_dram_sharded_program_factory.cpp`). bfloat16 under
/// `performance`, as tt-transformers' LM head writes it: half the output CB and write traffic.
pub fn lm_head_output_dtype(policy: Policy) -> DataType {
    match policy {
        Policy::Accuracy => DataType::Float32,
        Policy::Performance => DataType::Bfloat16,
    }
}

#[derive(Clone, Copy)]
struct MatmulPlanner<'a> {
    device: &'a DeviceProfile,
    opts: &'a LlamaOptions,
    res: Residency,
    /// Weights placed by another plan, reused as they are.
    shared: Option<&'a SharedWeights<'a>>,
    /// dtype of the matmuls' outputs.
    output_dtype: DataType,
    /// Whether the QKV matmul adds the model's q/k/v bias.
    qkv_bias: bool,
}

/// A matmul to plan: the op, the checkpoint weights its weight holds, `x[m, k] · w[k, n]`, and
/// the weight group whose dtype and fidelity it takes.
struct Matmul {
    name: String,
    layer: Option<u32>,
    weights: Vec<String>,
    m: u32,
    k: u32,
    n: u32,
    group: GroupCfg,
    /// Cores the DRAM-sharded activation is split over, pinned to its producer's (None: free).
    in_cores: Option<u32>,
    /// Cores the DRAM-sharded output is split over, pinned to its consumer's (None: free).
    out_cores: Option<u32>,
    /// Whether it adds a bias.
    bias: bool,
}

impl MatmulPlanner<'_> {
    /// Plans one matmul, with the compute-kernel config of its group under the policy.
    fn linear(&self, mm: Matmul) -> Result<PlannedOp, LlamaPlanError> {
        let Matmul { name, layer, weights, m, k, n, group, in_cores, out_cores, bias } = mm;
        let mut req = LinearRequest::new(name.clone(), m, k, n, self.opts.policy);
        req.bias = bias;
        req.weight_dtype = Some(group.dtype);
        let placed = match self.shared {
            Some(sh) => {
                let (dtype, mc) = sh.weight(&name)?;
                req.weight_dtype = Some(dtype);
                Some(mc)
            }
            None => None,
        };
        req.compute_kernel_config = Some(policy_fidelity_ckc(self.opts.policy, group, self.device));
        let sharded = matches!(self.res, Residency::Sharded { .. });
        let search = LinearSearch {
            input_dtype: DataType::Bfloat16,
            output_dtype: self.output_dtype,
            allow_dram_sharded: sharded,
            activations_in_l1: self.opts.mode == Mode::Decode,
            dram_sharded_only: sharded,
            dram_sharded_in_cores: in_cores,
            dram_sharded_out_cores: out_cores,
            prefer_fewer_cores: (self.opts.optimize_for == OptimizeFor::Throughput).then_some(THROUGHPUT_SLACK),
            weight_memory_config: placed,
        };
        let p = plan_linear_with(&req, self.device, &search)
            .map_err(|error| LlamaPlanError::Op { op: name.clone(), error })?;
        Ok(linear_op(name, layer, weights, self.opts.mode, &p, self.device))
    }
}

pub(crate) fn linear_op(
    name: String,
    layer: Option<u32>,
    weights: Vec<String>,
    mode: Mode,
    p: &LinearPlan,
    device: &DeviceProfile,
) -> PlannedOp {
    let c = &p.config;
    let pad = matches!(c.program_config, MatmulProgramConfig::DramSharded(_)).then_some(device.dram_banks);
    let padded_n = match pad {
        Some(b) => c.n.div_ceil(32 * b) * 32 * b,
        None => c.n,
    };
    let mut tensors = BTreeMap::from([
        (Role::Input, [1, 1, c.m, c.k]),
        (Role::Weight, [1, 1, c.k, padded_n]),
        (Role::Output, [1, 1, c.m, c.n]),
    ]);
    let mut memory_configs = BTreeMap::from([
        (Role::Input, c.input_memory_config),
        (Role::Weight, c.weight_memory_config),
        (Role::Output, c.memory_config),
    ]);
    let mut dtypes =
        BTreeMap::from([(Role::Input, c.input_dtype), (Role::Weight, c.weight_dtype), (Role::Output, c.dtype)]);
    if c.bias {
        // The fused bias `[1, n]`: stored like the weight (TT-NN reads it through the same
        // sharding in the DRAM-sharded factory, one tile row per bank), in its dtype.
        tensors.insert(Role::Bias, [1, 1, 1, padded_n]);
        memory_configs.insert(Role::Bias, c.bias_memory_config());
        dtypes.insert(Role::Bias, c.weight_dtype);
    }
    PlannedOp {
        call: Call::Linear(*c),
        inputs: Vec::new(),
        outputs: Vec::new(),
        deallocate: Vec::new(),
        name,
        mode,
        layer,
        weights,
        shapes: OpShapes { m: Some(c.m), k: Some(c.k), n: Some(c.n), tensors },
        program_config: Some(OpProgramConfig::Matmul(c.program_config)),
        compute_kernel_config: Some(c.compute_kernel_config),
        memory_configs,
        dtypes,
        l1_peak_bytes_per_core: p.l1.total(),
        estimate_us: p.cost.total_us,
        cores: p.cost.cores,
        dram_bytes: p.cost.dram_bytes,
        // The model's weight bytes in this dtype (DRAM-sharding pads N further; the padding is
        // counted in the memory budget and the DRAM time, not here).
        weight_bytes: weight_bytes(c.k, c.n, c.weight_dtype, None)
            + if c.bias { weight_bytes(32, c.n, c.weight_dtype, None) } else { 0 },
        eth_bytes: 0,
    }
}

/// Cores a DRAM-sharded output of `n` columns is split over so that a consumer can split its K
/// evenly: the most cores (up to the grid) dividing `n / 32`.
fn even_cores(n: u32, device: &DeviceProfile) -> u32 {
    let nt = n.div_ceil(32);
    (1..=device.num_cores().min(nt)).rev().find(|c| nt.is_multiple_of(*c)).unwrap_or(1)
}

impl Planning<'_> {
    /// Plans decoder layer `layer` with the weight groups `groups` and a `kv_dtype` cache: the
    /// attention half, then the MLP half, each ending in its residual add.
    fn plan_layer(
        &self,
        layer: u32,
        groups: [GroupCfg; 4],
        kv_dtype: DataType,
    ) -> Result<Vec<PlannedOp>, LlamaPlanError> {
        let (batch, seq) = match self.opts.mode {
            Mode::Decode => (self.m, 1),
            Mode::Prefill => (self.opts.batch, self.opts.seq_len),
        };
        let s = &self.s;
        let attention = Attention {
            batch,
            seq,
            cache_len: self.opts.seq_len,
            q_heads: s.qh,
            kv_heads: s.kvh,
            head_dim: s.hd,
            kv_dtype,
        };
        let l = Layer { index: layer, groups, attention };
        let mut st = Step::new(&self.ctx, l.op(""));
        st.input(TensorArg { tensor: "h".into(), ..self.hidden.clone() });
        self.attention(&mut st, &l)?;
        self.mlp(&mut st, &l)?;
        Ok(st.finish(&["h_out"]))
    }

    /// Cores the hidden state is WIDTH_SHARDED over (None: interleaved).
    fn hidden_cores(&self) -> Option<u32> {
        match self.res {
            Residency::Sharded { cores } => Some(cores),
            Residency::Interleaved(_) => None,
        }
    }

    /// The layer's matmul `op` of `weights`, `[m, k] · [k, n]`, in weight group `group`, with free
    /// activation and output sharding and no bias.
    fn matmul(&self, l: &Layer, group: WeightGroup, op: &str, weights: &[&str], k: u32, n: u32) -> Matmul {
        Matmul {
            name: l.op(op),
            layer: Some(l.index),
            weights: weights.iter().map(|w| l.weight(w)).collect(),
            m: self.m,
            k,
            n,
            group: l.groups[layer_group(group)],
            in_cores: None,
            out_cores: None,
            bias: false,
        }
    }

    /// The attention half: `h` → norm → QKV → heads → rotary → KV cache → SDPA → head merge → wo
    /// → (all-reduce) → `h_attn = h + attention`.
    fn attention(&self, st: &mut Step<'_>, l: &Layer) -> Result<(), LlamaPlanError> {
        let (ctx, s, layer) = (&self.ctx, &self.s, l.index);
        let hcores = self.hidden_cores();
        st.push(
            ctx.rms_norm(self.norm(l.op("attention_norm"), Some(layer), l.weight("input_layernorm.weight")))?,
            &[("h".into(), Role::Input), (LayerWeight::AttentionNorm.into(), Role::Weight)],
            &[("x", Role::Output)],
        )?;
        let qkv_weights = ["self_attn.q_proj.weight", "self_attn.k_proj.weight", "self_attn.v_proj.weight"];
        // Qwen2's q/k/v bias is fused into the QKV matmul (`ttnn::linear(x, wqkv, bias)`): TT-NN's
        // matmul validates a `[1, n]` bias padded to one tile row and as wide as the weight
        // (`matmul_device_operation.cpp` @ 13adda80, the `optional_bias` checks), and every program
        // config the planner uses here fuses it (`FUSE_BIAS` in the 1D / 2D multicast and the
        // DRAM-sharded factories; the simple MultiCore factory does not, and the rule checker refuses
        // it). tt-transformers adds the bias with a separate `ttnn.add` instead, citing an unfiled
        // suspicion of a DRAM-sharded bias bug (`attention.py` @ 13adda80: "FIXME: File bug against
        // dram-sharded matmuls with bias"); the fused form is one op and one read fewer.
        let qkv = self.mm.linear(Matmul {
            in_cores: hcores,
            bias: self.mm.qkv_bias,
            ..self.matmul(l, WeightGroup::Wqkv, "attention.wqkv", &qkv_weights, s.hidden, (s.qh + 2 * s.kvh) * s.hd)
        })?;
        let qkv_out = qkv.memory_configs[&Role::Output];
        let mut qkv_args = vec![("x".into(), Role::Input), (LayerWeight::Wqkv.into(), Role::Weight)];
        if self.mm.qkv_bias {
            qkv_args.push((LayerWeight::WqkvBias.into(), Role::Bias));
        }
        st.push(qkv, &qkv_args, &[("qkv", Role::Output)])?;
        let heads = ctx.create_heads(layer, &l.attention, qkv_out)?;
        let (q_mc, k_mc) = (heads.memory_configs[&Role::Q], heads.memory_configs[&Role::K]);
        st.push(heads, &[("qkv".into(), Role::Input)], &[("q", Role::Q), ("k", Role::K), ("v", Role::V)])?;
        let rope: [(TensorRef, Role); 3] = [
            (RopeInput::Cos.into(), Role::Cos),
            (RopeInput::Sin.into(), Role::Sin),
            (RopeInput::TransMat.into(), Role::TransMat),
        ];
        for (which, heads) in [("q", s.qh), ("k", s.kvh)] {
            let mut args = vec![(which.into(), Role::Input)];
            args.extend(rope.clone());
            let out = format!("{which}_rot");
            st.push(ctx.rotary(layer, which, heads, &l.attention)?, &args, &[(&out, Role::Output)])?;
        }
        self.write_kv_cache(st, l, k_mc)?;
        let sdpa = ctx.sdpa(layer, &l.attention, q_mc)?;
        match self.opts.mode {
            Mode::Decode => st.push(
                sdpa,
                &[("q_rot".into(), Role::Q), (KvCache::K.into(), Role::KCache), (KvCache::V.into(), Role::VCache)],
                &[("attn", Role::Output)],
            )?,
            Mode::Prefill => st.push(
                sdpa,
                &[("q_rot".into(), Role::Q), ("k_rot".into(), Role::K), ("v".into(), Role::V)],
                &[("attn", Role::Output)],
            )?,
        }
        let concat = ctx.concat_heads(layer, &l.attention)?;
        let concat_out = concat.memory_configs[&Role::Output];
        st.push(concat, &[("attn".into(), Role::Input)], &[("attn_concat", Role::Output)])?;
        let wo_in = concat_out.shard_spec.filter(|_| hcores.is_some()).map(|sp| sp.grid.num_cores);
        let wo = self.mm.linear(Matmul {
            in_cores: wo_in,
            out_cores: hcores,
            ..self.matmul(l, WeightGroup::Wo, "attention.wo", &["self_attn.o_proj.weight"], s.qh * s.hd, s.hidden)
        })?;
        st.push(
            wo,
            &[("attn_concat".into(), Role::Input), (LayerWeight::Wo.into(), Role::Weight)],
            &[("attn_out", Role::Output)],
        )?;
        let attn_out = self.all_reduce(st, l.op("attention.all_reduce"), Some(layer), "attn_out")?;
        self.residual_add(st, l.op("attention.residual_add"), Some(layer), ["h", &attn_out], "h_attn")
    }

    /// Writes the rotated K and V into the layer's caches: `paged_update_cache` in decode;
    /// `fill_cache` in prefill (after a cast to the cache's dtype, and one user per call).
    fn write_kv_cache(&self, st: &mut Step<'_>, l: &Layer, k_mc: MemoryConfig) -> Result<(), LlamaPlanError> {
        let (ctx, layer, a) = (&self.ctx, l.index, &l.attention);
        let (mut k_in, mut v_in) = ("k_rot", "v");
        if self.opts.mode == Mode::Prefill && a.kv_dtype != DataType::Bfloat16 {
            // `fill_cache` does not convert: with a bfloat8_b cache, K and V are cast first, in
            // tt-transformers' order: cast K, cast V, fill K, fill V (`attention.py` @ 13adda80).
            for (which, from, to) in [("k", "k_rot", "k_cast"), ("v", "v", "v_cast")] {
                let op = ctx.typecast(
                    l.op(&format!("attention.typecast_{which}")),
                    Some(layer),
                    [a.batch, a.kv_heads, a.seq, a.head_dim],
                    k_mc,
                    DataType::Bfloat16,
                    a.kv_dtype,
                )?;
                st.push(op, &[(from.into(), Role::Input)], &[(to, Role::Output)])?;
            }
            (k_in, v_in) = ("k_cast", "v_cast");
        }
        if self.opts.mode == Mode::Decode || a.batch == 1 {
            st.push(
                ctx.kv_update(layer, "k", a, k_mc, None)?,
                &[(KvCache::K.into(), Role::Cache), (k_in.into(), Role::Input)],
                &[],
            )?;
            return st.push(
                ctx.kv_update(layer, "v", a, k_mc, None)?,
                &[(KvCache::V.into(), Role::Cache), (v_in.into(), Role::Input)],
                &[],
            );
        }
        // `fill_cache` takes one user per call (TT-NN: "Input tensor batch size must be 1"): user
        // `u`'s `[1, kv_heads, seq, head_dim]` rows of K and V (`k_rot.user{u}`, a per-user view;
        // the generated code prefills one user at a time, so it never emits these), filled into
        // cache row `u`.
        for u in 0..a.batch {
            for (which, from, cache) in [("k", k_in, KvCache::K), ("v", v_in, KvCache::V)] {
                let view = TensorRef::UserRows { local: from.into(), user: u };
                st.push(
                    ctx.kv_update(layer, which, a, k_mc, Some(u))?,
                    &[(cache.into(), Role::Cache), (view, Role::Input)],
                    &[],
                )?;
            }
        }
        Ok(())
    }

    /// The MLP half: `h_attn` → norm → w1, w3 → SiLU·mul → w2 → (all-reduce) → `h_out = h_attn + mlp`.
    fn mlp(&self, st: &mut Step<'_>, l: &Layer) -> Result<(), LlamaPlanError> {
        let (ctx, s, layer) = (&self.ctx, &self.s, l.index);
        let hcores = self.hidden_cores();
        st.push(
            ctx.rms_norm(self.norm(l.op("ffn_norm"), Some(layer), l.weight("post_attention_layernorm.weight")))?,
            &[("h_attn".into(), Role::Input), (LayerWeight::FfnNorm.into(), Role::Weight)],
            &[("x_ffn", Role::Output)],
        )?;
        let mid_cores = hcores.map(|_| even_cores(s.inter, ctx.device));
        let w1 = self.mm.linear(Matmul {
            in_cores: hcores,
            out_cores: mid_cores,
            ..self.matmul(l, WeightGroup::W1W3, "mlp.w1", &["mlp.gate_proj.weight"], s.hidden, s.inter)
        })?;
        let mid_mc = w1.memory_configs[&Role::Output];
        st.push(
            w1,
            &[("x_ffn".into(), Role::Input), (LayerWeight::W1.into(), Role::Weight)],
            &[("gate", Role::Output)],
        )?;
        let w3 = self.mm.linear(Matmul {
            in_cores: hcores,
            out_cores: mid_cores,
            ..self.matmul(l, WeightGroup::W1W3, "mlp.w3", &["mlp.up_proj.weight"], s.hidden, s.inter)
        })?;
        st.push(w3, &[("x_ffn".into(), Role::Input), (LayerWeight::W3.into(), Role::Weight)], &[("up", Role::Output)])?;
        let mid = Activation { m: self.m, width: s.inter, memory_config: mid_mc, dtype: DataType::Bfloat16 };
        let mul = ctx.binary(l.op("mlp.silu_mul"), Some(layer), OpKind::Multiply, mid, DataType::Bfloat16)?;
        st.push(mul, &[("gate".into(), Role::A), ("up".into(), Role::B)], &[("gate_up", Role::Output)])?;
        let w2 = self.mm.linear(Matmul {
            in_cores: mid_cores,
            out_cores: hcores,
            ..self.matmul(l, WeightGroup::W2, "mlp.w2", &["mlp.down_proj.weight"], s.inter, s.hidden)
        })?;
        st.push(
            w2,
            &[("gate_up".into(), Role::Input), (LayerWeight::W2.into(), Role::Weight)],
            &[("ffn_out", Role::Output)],
        )?;
        let ffn_out = self.all_reduce(st, l.op("mlp.all_reduce"), Some(layer), "ffn_out")?;
        self.residual_add(st, l.op("mlp.residual_add"), Some(layer), ["h_attn", &ffn_out], "h_out")
    }

    /// On a mesh each chip holds a partial sum of a row-split matmul's output (wo, w2): the op
    /// `name` all-reduces the local `partial` into `{partial}_reduced`. Returns the local holding
    /// the full sum (`partial` itself on one chip).
    fn all_reduce(
        &self,
        st: &mut Step<'_>,
        name: String,
        layer: Option<u32>,
        partial: &str,
    ) -> Result<String, LlamaPlanError> {
        if self.s.chips <= 1 {
            return Ok(partial.to_owned());
        }
        let op = self.ctx.collective(name, layer, OpKind::AllReduce, self.hidden_activation(), self.system)?;
        let reduced = format!("{partial}_reduced");
        st.push(op, &[(partial.into(), Role::Input)], &[(&reduced, Role::Output)])?;
        Ok(reduced)
    }

    /// The residual add `out = a + b` of two hidden-state locals.
    fn residual_add(
        &self,
        st: &mut Step<'_>,
        name: String,
        layer: Option<u32>,
        [a, b]: [&str; 2],
        out: &str,
    ) -> Result<(), LlamaPlanError> {
        let add = self.ctx.binary(name, layer, OpKind::Add, self.hidden_activation(), DataType::Bfloat16)?;
        st.push(add, &[(a.into(), Role::A), (b.into(), Role::B)], &[(out, Role::Output)])
    }
}

/// `1 / sqrt(head_dim)`, SDPA's scale, folded at build time.
pub fn sdpa_scale(head_dim: u32) -> f32 {
    (1.0 / (head_dim as f64).sqrt()) as f32
}

#[cfg(test)]
mod tests;

/// RoPE inverse frequencies of the planned model, folded at build time
/// ([`LlamaConfig::rope_inv_freq`]: every rope type the config reader accepts).
pub fn rope_inv_freq(model: &LlamaConfig) -> Vec<f32> {
    model.rope_inv_freq()
}
