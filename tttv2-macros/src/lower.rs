//! Turns the parsed struct into tttv2-core's model IR, remembering where each value was written
//! so errors the optimizer finds later point at the right token.
//!
//! A chain of `#[linear]` fields lowers to a [`ModelDecl`]; a Llama-family decoder (declared
//! with `#[embedding]`, `#[decoder]`, `#[rms_norm]`, `#[lm_head]` fields, or from a Hugging Face
//! `config.json`) lowers to a [`LlamaConfig`] with its planning options.

use std::collections::BTreeMap;

use proc_macro2::Span;
use tttv2_core::device::DeviceProfile;
use tttv2_core::hf::{HfConfig, HfRope, LlamaConfig};
use tttv2_core::ir::{LayerDecl, LayerKind, LinearDecl, ModelDecl};
use tttv2_core::plan::llama::LlamaOptions;
use tttv2_core::rules::Rule;
use tttv2_core::ttnn::{MatmulProgramConfig, UnaryOpType, UnaryWithParam};

use crate::ast::{LayerAttr, Model};
use crate::attr::Spanned;
use crate::attr::{LlamaLayerAttrs, ModelAttrs};
use crate::check::{self, DecoderSizes};
use crate::ctxt::Ctxt;
use crate::diag::Diag;
use crate::forced::field_for_rule;

/// Puts the layer's activation into a forced config's `fused_activation`, as the planner does.
fn with_activation(mut pc: MatmulProgramConfig, act: Option<UnaryOpType>) -> MatmulProgramConfig {
    let a = act.map(UnaryWithParam::new);
    match &mut pc {
        MatmulProgramConfig::MultiCast2D(c) => c.fused_activation = a,
        MatmulProgramConfig::MultiCast1D(c) => c.fused_activation = a,
        MatmulProgramConfig::DramSharded(c) => c.fused_activation = a,
        MatmulProgramConfig::MultiCore(_) | MatmulProgramConfig::Reuse(_) => {}
    }
    pc
}

/// Where each layer's values were written.
pub struct Spans {
    /// Per layer: the field name's span and each key's value span.
    pub layers: Vec<(Span, BTreeMap<String, Span>)>,
    /// The model's name.
    pub model: Span,
}

impl Spans {
    /// The best span for an error in `layer` about `key` (for a forced program config, the
    /// field `rule` is about when the user wrote it).
    pub fn locate(&self, layer: Option<usize>, key: Option<&str>, rule: Rule) -> Span {
        let Some(i) = layer else { return self.model };
        let (field, keys) = &self.layers[i];
        if key == Some("program_config")
            && let Some(s) = field_for_rule(rule).and_then(|f| keys.get(&format!("program_config.{f}")))
        {
            return *s;
        }
        key.and_then(|k| keys.get(k).copied()).unwrap_or(*field)
    }
}

/// What a declaration lowers to.
pub enum Lowered {
    /// A chain of linears.
    Sequential(ModelDecl, Spans),
    /// A Llama-family decoder.
    Llama(LlamaConfig, LlamaOptions),
}

/// Lowers a fully parsed model; problems found here (inconsistent sizes) go to `cx`.
pub fn lower(cx: &Ctxt, model: &Model, attrs: &ModelAttrs, device: DeviceProfile) -> Option<Lowered> {
    let llama_fields = model.layers.iter().filter(|l| matches!(l.kind, LayerAttr::Llama(..))).count();
    if attrs.config.is_some() || llama_fields > 0 {
        if llama_fields != model.layers.len() {
            let first_linear = model.layers.iter().find(|l| matches!(l.kind, LayerAttr::Linear(_)))?;
            cx.error_spanned_by(
                &first_linear.ident,
                Diag::MixedLayers.with("a Llama decoder (`#[embedding]`, `#[decoder]`, `#[rms_norm]`, `#[lm_head]`) cannot also have `#[linear]` fields; fix: declare them in separate models"),
            );
            return None;
        }
        let cfg = match &attrs.config {
            Some(c) => match LlamaConfig::from_file(&c.value.1) {
                Ok(cfg) => cfg,
                Err(e) => {
                    // Name the file as the user wrote it: the resolved path depends on where the
                    // build runs.
                    let shown = tttv2_core::hf::HfError { path: c.value.0.clone().into(), kind: e.kind };
                    // An unsupported field carries its own fix (in its message); anything else
                    // is a file that is not a usable config.
                    let msg = match shown.fix() {
                        Some(_) => Diag::ConfigJson.with(format!("{shown}")),
                        None => Diag::ConfigJson.with(format!(
                            "{shown}; fix: point `config` at a Hugging Face config.json of a Llama-family model (LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM) or a GGUF file of one (llama, qwen2) (paths are relative to CARGO_MANIFEST_DIR, or to this source file)"
                        )),
                    };
                    cx.error_at(c.span, msg);
                    return None;
                }
            },
            None => llama_from_fields(cx, model)?,
        };
        return Some(Lowered::Llama(cfg.clone(), options(cx, attrs, &cfg)?));
    }
    let mut layers = Vec::new();
    let mut spans = Vec::new();
    for layer in &model.layers {
        let LayerAttr::Linear(l) = &layer.kind else { return None };
        let (Some(i), Some(o)) = (l.in_features, l.out_features) else { return None };
        layers.push(LayerDecl {
            name: layer.ident.to_string(),
            kind: LayerKind::Linear(LinearDecl {
                in_features: i.value,
                out_features: o.value,
                bias: l.bias,
                activation: l.activation,
                weight_dtype: l.dtype,
                math_fidelity: l.fidelity,
                program_config: l.program_config.as_ref().map(|f| with_activation(f.config, l.activation)),
            }),
        });
        spans.push((layer.ident.span(), l.spans.clone()));
    }
    Some(Lowered::Sequential(
        ModelDecl {
            name: model.ident.to_string(),
            device,
            policy: attrs.policy,
            mode: attrs.mode,
            batch: attrs.batch.1,
            layers,
        },
        Spans { layers: spans, model: model.span() },
    ))
}

fn options(cx: &Ctxt, attrs: &ModelAttrs, cfg: &LlamaConfig) -> Option<LlamaOptions> {
    let mut o = LlamaOptions::new(attrs.mode, attrs.batch.1);
    o.policy = attrs.policy;
    o.optimize_for = attrs.optimize_for;
    o.memory_budget = attrs.memory_budget;
    if let Some((_, hi)) = attrs.seq_len {
        if hi > cfg.max_position_embeddings {
            cx.error_at(
                attrs.spans.seq_len.unwrap_or_else(Span::call_site),
                Diag::SeqLenRange.with(format!(
                    "seq_len goes up to {hi} but the model supports {} positions (max_position_embeddings); fix: lower the range",
                    cfg.max_position_embeddings
                )),
            );
            return None;
        }
        o.seq_len = hi;
    }
    // A field whose numerics depend on the planned context (a sliding window narrower than it).
    if let Err(kind) = cfg.check_context(o.seq_len) {
        let span = attrs.spans.seq_len.or(attrs.config.as_ref().map(|c| c.span)).unwrap_or_else(Span::call_site);
        let file = attrs.config.as_ref().map_or_else(|| "the model".to_owned(), |c| c.value.0.clone());
        cx.error_at(span, Diag::ConfigJson.with(format!("{file}: {kind}")));
        return None;
    }
    Some(o)
}

/// Builds a Hugging Face-equivalent config from the attribute form, checking that the pieces
/// agree.
fn llama_from_fields(cx: &Ctxt, model: &Model) -> Option<LlamaConfig> {
    let mut embedding = None;
    let mut decoder = None;
    let mut norm = None;
    let mut head = None;
    for layer in &model.layers {
        let LayerAttr::Llama(l, spans) = &layer.kind else { continue };
        let slot = match l {
            LlamaLayerAttrs::Embedding { .. } => &mut embedding,
            LlamaLayerAttrs::Decoder(_) => &mut decoder,
            LlamaLayerAttrs::RmsNorm { .. } => &mut norm,
            LlamaLayerAttrs::LmHead { .. } => &mut head,
        };
        if slot.is_some() {
            cx.error_spanned_by(&layer.ident, Diag::DuplicateLayer.with("a Llama decoder has one `#[embedding]`, one `#[decoder]` (use `repeat`), one final `#[rms_norm]` and one `#[lm_head]`; fix: remove this field"));
            continue;
        }
        *slot = Some((l, spans, layer.ident.span()));
    }
    let missing: Vec<&str> = [
        ("#[embedding]", embedding.is_none()),
        ("#[decoder]", decoder.is_none()),
        ("#[rms_norm]", norm.is_none()),
        ("#[lm_head]", head.is_none()),
    ]
    .into_iter()
    .filter_map(|(n, m)| m.then_some(n))
    .collect();
    if !missing.is_empty() {
        cx.error_at(
            model.span(),
            Diag::IncompleteDecoder
                .with(format!("a Llama decoder also needs {}; fix: add the missing fields", missing.join(", "))),
        );
        return None;
    }
    let (
        Some((LlamaLayerAttrs::Embedding { vocab: Some(vocab), dim: Some(hidden) }, _, _)),
        Some((LlamaLayerAttrs::Decoder(d), dspans, dspan)),
        Some((LlamaLayerAttrs::RmsNorm { dim: Some(norm_dim), eps: norm_eps }, _, _)),
        Some((LlamaLayerAttrs::LmHead { vocab: Some(head_vocab), tied }, _, _)),
    ) = (embedding, decoder, norm, head)
    else {
        return None; // a required key is missing: already reported
    };
    let (Some(repeat), Some(heads), Some(intermediate)) = (d.repeat, d.heads, d.intermediate) else { return None };
    let kv_heads = d.kv_heads.map(|k| k.value).unwrap_or(heads.value);
    let at = |k: &str| dspans.get(k).copied().unwrap_or(dspan);
    let sizes = DecoderSizes {
        hidden: *hidden,
        vocab: *vocab,
        heads: Spanned { value: heads.value, span: at("attention.heads") },
        kv_heads: Spanned { value: kv_heads, span: at("attention.kv_heads") },
        head_dim: d.head_dim,
        norm_dim: *norm_dim,
        head_vocab: *head_vocab,
    };
    if !check::decoder_sizes(cx, &sizes) {
        return None;
    }
    // The attribute form is a config.json written as attributes: the same reader validates it
    // and applies transformers' defaults, and what it refuses is reported at the attribute.
    let window = d.sliding_window.map(|w| w.value);
    let architecture = match (d.qkv_bias, window) {
        // Qwen2 uses its window only in layers `max_window_layers..`: every layer here.
        (true, _) => "Qwen2ForCausalLM",
        (false, Some(_)) => "MistralForCausalLM",
        (false, None) => "LlamaForCausalLM",
    };
    let hf = HfConfig {
        architectures: Some(vec![architecture.to_owned()]),
        hidden_size: Some(hidden.value),
        intermediate_size: Some(intermediate.value),
        num_attention_heads: Some(heads.value),
        num_key_value_heads: Some(kv_heads),
        head_dim: d.head_dim.map(|h| h.value),
        num_hidden_layers: Some(repeat.value),
        vocab_size: Some(vocab.value),
        rms_norm_eps: Some(d.eps.or(*norm_eps).map_or(1e-5, |e| e.value)),
        rope_theta: d.rope_theta.map(|r| r.value),
        rope_scaling: d.rope_scaling.map(|r| HfRope {
            rope_type: Some("llama3".to_owned()),
            factor: Some(r.value.factor),
            low_freq_factor: Some(r.value.low_freq_factor),
            high_freq_factor: Some(r.value.high_freq_factor),
            original_max_position_embeddings: Some(r.value.original_max_position_embeddings),
            ..HfRope::default()
        }),
        tie_word_embeddings: Some(*tied),
        // Undeclared: Llama 3.1's 131,072 positions (a checkpoint saying otherwise is refused at
        // load, naming the key to set).
        max_position_embeddings: Some(d.max_position_embeddings.map_or(131_072, |m| m.value)),
        sliding_window: window.map(Some),
        use_sliding_window: (d.qkv_bias && window.is_some()).then_some(true),
        max_window_layers: (d.qkv_bias && window.is_some()).then_some(0),
        ..HfConfig::default()
    };
    match LlamaConfig::from_hf(&hf) {
        Ok(cfg) => Some(cfg),
        Err(kind) => {
            let span = match kind.field().map(|f| f.split('.').next().unwrap_or(f)) {
                Some("hidden_size") => hidden.span,
                Some("vocab_size") => vocab.span,
                Some("num_attention_heads") => at("attention.heads"),
                Some("num_key_value_heads") => at("attention.kv_heads"),
                Some("head_dim") => at("attention.head_dim"),
                Some("rope_theta") => at("attention.rope_theta"),
                Some("rope_scaling") => at("attention.rope_scaling"),
                Some("sliding_window") => at("attention.sliding_window"),
                Some("intermediate_size") => at("mlp.intermediate"),
                Some("num_hidden_layers") => at("repeat"),
                Some("rms_norm_eps") => at("eps"),
                Some("max_position_embeddings") => at("max_position_embeddings"),
                _ => dspan,
            };
            cx.error_at(span, Diag::ConfigJson.with(format!("this decoder, read as a config.json: {kind}")));
            None
        }
    }
}
