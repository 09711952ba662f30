//! The whole program a model runs, planned once: the decode step and every prefill bucket on one
//! copy of the weights, the device tensors they share, and the limits of what generated code
//! runs today, each an error with its rule. The `#[ttt_model]` expansion, `tttv2 generate` and
//! `tttv2 new` call [`plan_program`]; code generation only emits what it returns.

use super::{LlamaOptions, LlamaPlan, LlamaPlanError, plan_llama, plan_llama_prefill_for};
use crate::device::SystemProfile;
use crate::hf::LlamaConfig;
use crate::plan::Mode;
use crate::program::{PlannedOp, TensorArg};
use crate::rules::Rule;

/// Users the generated decode step runs at most: its hidden state is one 32-row tile, as in
/// tt-transformers' decode.
pub const MAX_DECODE_BATCH: u32 = 32;

/// Which step of a model a plan is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepKind {
    /// One decode step of every user.
    Decode,
    /// A prefill of up to `len` tokens.
    Prefill {
        /// The bucket's length.
        len: u32,
    },
}

/// One step of a model's program and its plan.
#[derive(Debug, Clone)]
pub struct StepPlan {
    /// Which step.
    pub kind: StepKind,
    /// Its plan.
    pub plan: LlamaPlan,
}

impl StepPlan {
    /// The step's name in generated code: `decode`, `prefill_128`.
    pub fn module(&self) -> String {
        match self.kind {
            StepKind::Decode => "decode".into(),
            StepKind::Prefill { len } => format!("prefill_{len}"),
        }
    }

    /// Every op of the step, in order (layer ops once per distinct layer plan).
    pub fn ops(&self) -> impl Iterator<Item = &PlannedOp> {
        let p = &self.plan.program;
        p.prologue.iter().chain(p.layer_plans.iter().flat_map(|l| &l.ops)).chain(&p.epilogue)
    }
}

/// A model's whole runnable program.
#[derive(Debug, Clone)]
pub struct ModelProgram {
    /// A decode model (prefill buckets and a decode step) or a prefill-only model.
    pub mode: Mode,
    /// The decode step (decode models) first, then the prefill buckets by length.
    pub steps: Vec<StepPlan>,
    /// The device tensors the model holds (weights and KV caches) with the placement every step
    /// reads them in, in the order the program first uses them.
    pub tensors: Vec<TensorArg>,
    /// A prefill-only model planned over a range of prompt lengths: `(length, µs)` of each
    /// power-of-two length in the range (the manifest states them; the program runs the longest).
    pub prefill_estimates_us: Vec<(u32, f64)>,
}

impl ModelProgram {
    /// The plan the model is declared with: the decode step, or the prefill.
    pub fn main(&self) -> &LlamaPlan {
        &self.steps[0].plan
    }

    /// The decode step, for decode models.
    pub fn decode(&self) -> Option<&StepPlan> {
        self.steps.iter().find(|s| s.kind == StepKind::Decode)
    }

    /// The prefill buckets, shortest first.
    pub fn prefills(&self) -> impl Iterator<Item = &StepPlan> {
        self.steps.iter().filter(|s| s.kind != StepKind::Decode)
    }
}

/// Plans the program a model declared with `opts` runs on `system`: the step `opts` describes
/// and, for a decode model, a prefill bucket per power of two from 128 up to the KV cache, each
/// on the decode step's weights. `prefill_range` (prefill models): also estimate each
/// power-of-two length in it. Errors: the planner's, and the limits of generated code today
/// ([`check_limits`]).
pub fn plan_program(
    cfg: &LlamaConfig,
    system: &SystemProfile,
    opts: &LlamaOptions,
    prefill_range: Option<(u32, u32)>,
) -> Result<ModelProgram, LlamaPlanError> {
    check_limits(system, opts)?;
    let plan = plan_llama(cfg, system, opts)?;
    let steps = match opts.mode {
        Mode::Prefill => vec![StepPlan { kind: StepKind::Prefill { len: opts.seq_len }, plan }],
        Mode::Decode => {
            let mut steps = Vec::new();
            for len in decode_prefill_lengths(opts.seq_len) {
                let p = plan_llama_prefill_for(&plan, system, len).map_err(|e| bucket_error(len, e))?;
                steps.push(StepPlan { kind: StepKind::Prefill { len }, plan: p });
            }
            steps.insert(0, StepPlan { kind: StepKind::Decode, plan });
            steps
        }
    };
    check_emittable(&steps)?;
    let tensors = shared_tensors(&steps)?;
    let prefill_estimates_us = match (opts.mode, prefill_range) {
        (Mode::Prefill, Some((lo, hi))) => prefill_estimates(cfg, system, opts, lo, hi),
        _ => Vec::new(),
    };
    Ok(ModelProgram { mode: opts.mode, steps, tensors, prefill_estimates_us })
}

/// What generated code does not run yet, refused before anything is planned.
pub fn check_limits(system: &SystemProfile, opts: &LlamaOptions) -> Result<(), LlamaPlanError> {
    let err = |rule, message: String| Err(LlamaPlanError::Unsupported { rule, message });
    if system.num_chips() > 1 {
        return err(
            Rule::SingleChipProgram,
            format!(
                "generated code runs single-chip systems only so far, and `{}` has {} chips; fix: a single-chip device (n150, p150), or `tttv2 plan --device {}` for the multi-chip plan and its manifest",
                system.name,
                system.num_chips(),
                system.name
            ),
        );
    }
    match opts.mode {
        Mode::Decode if opts.batch > MAX_DECODE_BATCH => err(
            Rule::DecodeBatch,
            format!(
                "the generated decode step runs at most {MAX_DECODE_BATCH} users (the hidden state is one 32-row tile, as in tt-transformers' decode), got batch = {}; fix: batch <= {MAX_DECODE_BATCH} (plan larger batches with `tttv2 plan`)",
                opts.batch
            ),
        ),
        Mode::Prefill if opts.batch > 1 => err(
            Rule::PrefillBatch,
            format!(
                "generated prefill runs one user's prompt per call, got batch = {}; fix: batch = 1, or mode = \"decode\" (its prefill fills each user's cache in turn)",
                opts.batch
            ),
        ),
        _ => Ok(()),
    }
}

/// What the planner plans but generated code does not load yet: a norm whose gamma is a TILE
/// `[1, 1, 32, hidden]` tensor (TT-NN's large-tensor `rms_norm`, which rows too wide for the
/// whole-row kernel need, e.g. Llama-3.1-70B's 8192) — generated `load` uploads gammas row-major.
fn check_emittable(steps: &[StepPlan]) -> Result<(), LlamaPlanError> {
    for step in steps {
        let tile_gamma = step.ops().find(|o| {
            matches!(o.call, crate::program::Call::RmsNorm { .. })
                && o.shapes.tensors.get(&crate::program::Role::Weight).is_some_and(|w| w[3] != 32)
        });
        if let Some(op) = tile_gamma {
            return Err(LlamaPlanError::Unsupported {
                rule: Rule::OpConstraint,
                message: format!(
                    "`{}` of `{}` needs TT-NN's large-tensor rms_norm with a TILE gamma (the row is too wide for the whole-row kernel), which generated code does not load yet; fix: `tttv2 plan` shows the plan; generate a narrower model",
                    op.name,
                    step.module()
                ),
            });
        }
    }
    Ok(())
}

/// A bucket the decode plan's weights cannot serve, named.
fn bucket_error(len: u32, e: LlamaPlanError) -> LlamaPlanError {
    LlamaPlanError::Unsupported {
        rule: e.rule(),
        message: format!("the {len}-token prefill bucket cannot be planned on the decode step's weights: {e}"),
    }
}

/// Prompt lengths a decode model's prefill is planned for: powers of two from 128 up to the KV
/// cache (or the cache length itself when it is shorter than 128).
pub fn decode_prefill_lengths(seq_len: u32) -> Vec<u32> {
    if seq_len < 128 {
        return vec![seq_len];
    }
    std::iter::successors(Some(128u32), |s| s.checked_mul(2)).take_while(|&s| s <= seq_len).collect()
}

/// Every step reads the same device tensors placed alike: the model holds one copy.
fn shared_tensors(steps: &[StepPlan]) -> Result<Vec<TensorArg>, LlamaPlanError> {
    let mut tensors: Vec<TensorArg> = Vec::new();
    for step in steps {
        for t in step.ops().flat_map(|o| &o.inputs).filter(|t| t.tensor.is_resident()) {
            match tensors.iter().find(|k| k.tensor == t.tensor) {
                Some(k) if (k.dtype, k.memory_config) != (t.dtype, t.memory_config) => {
                    return Err(LlamaPlanError::Unsupported {
                        rule: Rule::OneWeightCopy,
                        message: format!(
                            "`{}` places `{}` as {:?} {:?}, the decode step as {:?} {:?}; the model holds one copy of each weight",
                            step.module(),
                            t.tensor,
                            t.dtype,
                            t.memory_config,
                            k.dtype,
                            k.memory_config
                        ),
                    });
                }
                Some(_) => {}
                None => tensors.push(t.clone()),
            }
        }
    }
    Ok(tensors)
}

/// Estimates of a prefill-only model at each power-of-two length in `lo..=hi`. Lengths the
/// planner rejects are left out (the plan for `hi` itself succeeded, so only lengths that differ
/// in shape can fail).
fn prefill_estimates(
    cfg: &LlamaConfig,
    system: &SystemProfile,
    opts: &LlamaOptions,
    lo: u32,
    hi: u32,
) -> Vec<(u32, f64)> {
    let mut out = Vec::new();
    let mut s = lo.next_power_of_two().max(32);
    while s <= hi {
        let o = LlamaOptions { seq_len: s, ..opts.clone() };
        if let Ok(p) = plan_llama(cfg, system, &o) {
            out.push((s, p.totals.estimate_us));
        }
        s *= 2;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::llama::LlamaOptions;

    fn llama_1b() -> LlamaConfig {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../models/Llama-3.2-1B/config.json");
        LlamaConfig::from_file(std::path::Path::new(path)).unwrap()
    }

    #[test]
    fn a_decode_model_runs_every_bucket_on_one_copy_of_the_weights() {
        let opts = LlamaOptions { seq_len: 512, ..LlamaOptions::new(Mode::Decode, 32) };
        let p = plan_program(&llama_1b(), &SystemProfile::N150, &opts, None).unwrap();
        let kinds: Vec<StepKind> = p.steps.iter().map(|s| s.kind).collect();
        assert_eq!(
            kinds,
            [
                StepKind::Decode,
                StepKind::Prefill { len: 128 },
                StepKind::Prefill { len: 256 },
                StepKind::Prefill { len: 512 }
            ]
        );
        // 16 layers of 8 weights and 2 caches, the embedding, the final norm, the LM head pieces.
        let heads = p
            .tensors
            .iter()
            .filter(|t| matches!(t.tensor, crate::program::TensorRef::Model(w) if w.is_lm_head()))
            .count();
        assert!(heads >= 1);
        assert_eq!(
            p.tensors.len(),
            7 + 2 + 2 + heads,
            "{:?}",
            p.tensors.iter().map(|t| t.tensor.to_string()).collect::<Vec<_>>()
        );
    }

    /// Llama-3.1-70B's 8192-wide norms plan on TT-NN's large-tensor kernel with a TILE gamma,
    /// which generated code does not load yet: an error, not a program that loads it wrongly.
    #[test]
    fn a_tile_gamma_norm_is_not_emitted_yet() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../models/Llama-3.1-70B/config.json");
        let cfg = LlamaConfig::from_file(std::path::Path::new(path)).unwrap();
        let opts = LlamaOptions { seq_len: 128, memory_budget: Some(400 << 30), ..LlamaOptions::new(Mode::Prefill, 1) };
        let e = plan_program(&cfg, &SystemProfile::N150, &opts, None).unwrap_err();
        assert!(e.to_string().contains("TILE gamma"), "{e}");
    }

    #[test]
    fn limits_of_generated_code_are_errors_with_their_rule() {
        let cfg = llama_1b();
        let cases = [
            (SystemProfile::N150, LlamaOptions::new(Mode::Decode, 64), Rule::DecodeBatch),
            (SystemProfile::N150, LlamaOptions::new(Mode::Prefill, 4), Rule::PrefillBatch),
            (SystemProfile::T3K, LlamaOptions::new(Mode::Decode, 32), Rule::SingleChipProgram),
        ];
        for (system, opts, rule) in cases {
            let e = plan_program(&cfg, &system, &opts, None).unwrap_err();
            assert_eq!(e.rule(), rule, "{e}");
            assert!(e.to_string().contains("fix:"), "{e}");
        }
    }
}
