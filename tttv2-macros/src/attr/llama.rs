//! The layer attributes of a Llama-family decoder declared field by field:
//!
//! ```text
//! #[embedding(vocab = 32000, dim = 512)]           embed_tokens: Embedding,
//! #[decoder(repeat = 2, eps = 1e-5,
//!           attention(heads = 8, kv_heads = 2, head_dim = 64, rope_theta = 10000.0),
//!           mlp(intermediate = 1408, activation = "silu"))] layers: Decoder,
//! #[rms_norm(dim = 512, eps = 1e-5)]               norm: RmsNorm,
//! #[lm_head(vocab = 32000, tied = false)]          lm_head: LmHead,
//! ```

use std::collections::BTreeMap;

use proc_macro2::{Span, TokenStream};
use syn::Meta;

use super::{KeyValue, Spanned, dim, for_each_key, lit_bool, lit_float, lit_int, lit_str, parse_key_values};
use crate::ctxt::Ctxt;
use crate::diag::Diag;

/// `rope_scaling(...)`: Llama 3's frequency-dependent scaling.
#[derive(Clone, Copy)]
pub struct RopeScalingAttrs {
    /// `factor`.
    pub factor: f64,
    /// `low_freq_factor`.
    pub low_freq_factor: f64,
    /// `high_freq_factor`.
    pub high_freq_factor: f64,
    /// `original_max_position_embeddings`.
    pub original_max_position_embeddings: u32,
}

/// One Llama layer attribute.
// The decoder's attributes are large and the others small; one value per field, parsed once per
// expansion, so boxing would buy nothing.
#[allow(clippy::large_enum_variant)]
pub enum LlamaLayerAttrs {
    /// `#[embedding(vocab, dim)]`.
    Embedding {
        /// Vocabulary size.
        vocab: Option<Spanned<u32>>,
        /// Hidden size.
        dim: Option<Spanned<u32>>,
    },
    /// `#[decoder(repeat, eps, attention(...), mlp(...))]`.
    Decoder(DecoderAttrs),
    /// `#[rms_norm(dim, eps)]`.
    RmsNorm {
        /// Width.
        dim: Option<Spanned<u32>>,
        /// Epsilon.
        eps: Option<Spanned<f64>>,
    },
    /// `#[lm_head(vocab, tied)]`.
    LmHead {
        /// Vocabulary size.
        vocab: Option<Spanned<u32>>,
        /// Shares the embedding's weight.
        tied: bool,
    },
}

/// The arguments of `#[decoder(...)]`.
#[derive(Default)]
pub struct DecoderAttrs {
    /// Number of identical layers.
    pub repeat: Option<Spanned<u32>>,
    /// RMSNorm epsilon of both norms.
    pub eps: Option<Spanned<f64>>,
    /// Query heads.
    pub heads: Option<Spanned<u32>>,
    /// Key/value heads (GQA).
    pub kv_heads: Option<Spanned<u32>>,
    /// Head width.
    pub head_dim: Option<Spanned<u32>>,
    /// RoPE base.
    pub rope_theta: Option<Spanned<f64>>,
    /// RoPE scaling.
    pub rope_scaling: Option<Spanned<RopeScalingAttrs>>,
    /// Bias on the QKV projections.
    pub qkv_bias: bool,
    /// Sliding-window attention width (Mistral), if any.
    pub sliding_window: Option<Spanned<u32>>,
    /// Longest context the model supports (HF `max_position_embeddings`).
    pub max_position_embeddings: Option<Spanned<u32>>,
    /// MLP hidden width.
    pub intermediate: Option<Spanned<u32>>,
    /// Gate activation.
    pub activation: Option<Spanned<String>>,
}

/// The layer attributes and the field type each expects.
pub const LLAMA_LAYER_ATTRS: &[(&str, &str)] =
    &[("embedding", "Embedding"), ("decoder", "Decoder"), ("rms_norm", "RmsNorm"), ("lm_head", "LmHead")];

fn positive_float(cx: &Ctxt, key: &str, kv: &KeyValue) -> Option<Spanned<f64>> {
    let v = lit_float(cx, key, &kv.value)?;
    // `<= 0.0` is false for NaN, which `is_finite` refuses.
    if v.value <= 0.0 || !v.value.is_finite() {
        cx.error_at(
            v.span,
            Diag::PositiveNumber
                .with(format!("`{key}` must be positive and finite, got {}; fix: use a value > 0", v.value)),
        );
        return None;
    }
    Some(v)
}

fn require(cx: &Ctxt, what: &str, meta: &dyn quote::ToTokens, seen: &BTreeMap<String, Span>, keys: &[&str]) {
    for k in keys {
        if !seen.contains_key(*k) {
            cx.error_spanned_by(meta, Diag::MissingKey.with(format!("`{what}` needs `{k}`; fix: add `{k} = …`")));
        }
    }
}

/// Parses one Llama layer attribute named `name`; `spans` receives each key's value span
/// (nested keys as `attention.heads`).
pub fn parse_llama_layer(
    cx: &Ctxt,
    name: &str,
    tokens: TokenStream,
    meta: &Meta,
    spans: &mut BTreeMap<String, Span>,
) -> LlamaLayerAttrs {
    let pairs = parse_key_values(cx, tokens);
    match name {
        "embedding" => {
            let (mut vocab, mut d) = (None, None);
            let seen = for_each_key(cx, "embedding", &["vocab", "dim"], &pairs, |key, kv| match key {
                "vocab" => vocab = dim(cx, key, &kv.value),
                _ => d = dim(cx, key, &kv.value),
            });
            require(cx, "#[embedding]", meta, &seen, &["vocab", "dim"]);
            spans.extend(seen);
            LlamaLayerAttrs::Embedding { vocab, dim: d }
        }
        "rms_norm" => {
            let (mut d, mut eps) = (None, None);
            let seen = for_each_key(cx, "rms_norm", &["dim", "eps"], &pairs, |key, kv| match key {
                "dim" => d = dim(cx, key, &kv.value),
                _ => eps = positive_float(cx, key, kv),
            });
            require(cx, "#[rms_norm]", meta, &seen, &["dim"]);
            spans.extend(seen);
            LlamaLayerAttrs::RmsNorm { dim: d, eps }
        }
        "lm_head" => {
            let (mut vocab, mut tied) = (None, false);
            let seen = for_each_key(cx, "lm_head", &["vocab", "tied"], &pairs, |key, kv| match key {
                "vocab" => vocab = dim(cx, key, &kv.value),
                _ => tied = lit_bool(cx, key, &kv.value).unwrap_or(false),
            });
            require(cx, "#[lm_head]", meta, &seen, &["vocab"]);
            spans.extend(seen);
            LlamaLayerAttrs::LmHead { vocab, tied }
        }
        _ => LlamaLayerAttrs::Decoder(parse_decoder(cx, pairs, meta, spans)),
    }
}

fn group_pairs(cx: &Ctxt, key: &str, kv: &KeyValue) -> Vec<KeyValue> {
    match &kv.group {
        Some(g) => parse_key_values(cx, g.clone()),
        None => {
            cx.error_spanned_by(&kv.value, Diag::AttributeSyntax.with(format!("write `{key}(key = value, …)`")));
            Vec::new()
        }
    }
}

fn parse_decoder(cx: &Ctxt, pairs: Vec<KeyValue>, meta: &Meta, spans: &mut BTreeMap<String, Span>) -> DecoderAttrs {
    let mut d = DecoderAttrs::default();
    let mut nested: Vec<(String, Span)> = Vec::new();
    let seen = for_each_key(
        cx,
        "decoder",
        &["repeat", "eps", "max_position_embeddings", "attention", "mlp"],
        &pairs,
        |key, kv| match key {
            "repeat" => d.repeat = dim(cx, key, &kv.value),
            "max_position_embeddings" => d.max_position_embeddings = dim(cx, key, &kv.value),
            "eps" => d.eps = positive_float(cx, key, kv),
            "attention" => {
                let inner = group_pairs(cx, key, kv);
                let s = for_each_key(
                    cx,
                    "attention",
                    &["heads", "kv_heads", "head_dim", "rope_theta", "rope_scaling", "qkv_bias", "sliding_window"],
                    &inner,
                    |k, v| match k {
                        "heads" => d.heads = dim(cx, k, &v.value),
                        "kv_heads" => d.kv_heads = dim(cx, k, &v.value),
                        "head_dim" => d.head_dim = dim(cx, k, &v.value),
                        "rope_theta" => d.rope_theta = positive_float(cx, k, v),
                        "qkv_bias" => d.qkv_bias = lit_bool(cx, k, &v.value).unwrap_or(false),
                        "sliding_window" => d.sliding_window = dim(cx, k, &v.value),
                        _ => d.rope_scaling = parse_rope_scaling(cx, v),
                    },
                );
                for k in ["heads"] {
                    if !s.contains_key(k) {
                        cx.error_spanned_by(
                            &kv.value,
                            Diag::MissingKey.with(format!("`attention(...)` needs `{k}`; fix: add `{k} = …`")),
                        );
                    }
                }
                nested.extend(s.into_iter().map(|(k, v)| (format!("attention.{k}"), v)));
            }
            _ => {
                let inner = group_pairs(cx, key, kv);
                let s = for_each_key(cx, "mlp", &["intermediate", "activation"], &inner, |k, v| match k {
                    "intermediate" => d.intermediate = dim(cx, k, &v.value),
                    _ => {
                        if let Some(a) = lit_str(cx, k, &v.value) {
                            if a.value != "silu" {
                                cx.error_at(a.span, Diag::UnsupportedActivation.with(format!("the gated MLP of a Llama decoder supports `silu` (SwiGLU), not `{}`; fix: use `activation = \"silu\"`", a.value)));
                            }
                            d.activation = Some(a);
                        }
                    }
                });
                if !s.contains_key("intermediate") {
                    cx.error_spanned_by(
                        &kv.value,
                        Diag::MissingKey.with("`mlp(...)` needs `intermediate`; fix: add `intermediate = …`"),
                    );
                }
                nested.extend(s.into_iter().map(|(k, v)| (format!("mlp.{k}"), v)));
            }
        },
    );
    require(cx, "#[decoder]", meta, &seen, &["repeat", "attention", "mlp"]);
    spans.extend(seen);
    spans.extend(nested);
    d
}

fn parse_rope_scaling(cx: &Ctxt, kv: &KeyValue) -> Option<Spanned<RopeScalingAttrs>> {
    let inner = group_pairs(cx, "rope_scaling", kv);
    let mut r = RopeScalingAttrs {
        factor: 0.0,
        low_freq_factor: 1.0,
        high_freq_factor: 4.0,
        original_max_position_embeddings: 8192,
    };
    let mut ok = true;
    let seen = for_each_key(
        cx,
        "rope_scaling",
        &["factor", "low_freq_factor", "high_freq_factor", "original_max_position_embeddings"],
        &inner,
        |k, v| match k {
            "original_max_position_embeddings" => match lit_int(cx, k, &v.value) {
                Some(x) if x.value > 0 => r.original_max_position_embeddings = x.value as u32,
                _ => ok = false,
            },
            _ => match positive_float(cx, k, v) {
                Some(x) => match k {
                    "factor" => r.factor = x.value,
                    "low_freq_factor" => r.low_freq_factor = x.value,
                    _ => r.high_freq_factor = x.value,
                },
                None => ok = false,
            },
        },
    );
    if !seen.contains_key("factor") {
        cx.error_spanned_by(
            &kv.value,
            Diag::RopeScaling.with("`rope_scaling(...)` needs `factor`; fix: add e.g. `factor = 32.0`"),
        );
        return None;
    }
    if ok && r.high_freq_factor <= r.low_freq_factor {
        cx.error_spanned_by(
            &kv.value,
            Diag::RopeScaling.with(format!("`high_freq_factor` ({}) must exceed `low_freq_factor` ({}) (Llama 3 scaling divides by their difference); fix: e.g. low 1.0, high 4.0", r.high_freq_factor, r.low_freq_factor)),
        );
        return None;
    }
    ok.then(|| Spanned { value: r, span: syn::spanned::Spanned::span(&kv.value) })
}
