//! `#[linear(...)]`.

use std::collections::BTreeMap;

use proc_macro2::{Span, TokenStream};
use tttv2_core::ttnn::{DataType, MathFidelity, MatmulProgramConfig, UnaryOpType};

use super::{Spanned, dim, for_each_key, lit_bool, lit_str, parse_key_values};
use crate::ctxt::Ctxt;
use crate::diag::Diag;
use crate::forced::{ForcedConfig, parse_forced};

/// The keys of `#[linear(...)]`.
pub const LINEAR_KEYS: &[&str] = &["in", "out", "bias", "activation", "dtype", "fidelity", "program_config"];

/// The arguments of a `#[linear(...)]` field.
pub struct LinearAttrs {
    /// `in = K`.
    pub in_features: Option<Spanned<u32>>,
    /// `out = N`.
    pub out_features: Option<Spanned<u32>>,
    /// `bias = true`.
    pub bias: bool,
    /// `activation = "silu"`.
    pub activation: Option<UnaryOpType>,
    /// `dtype = "bfloat8_b"`: the weight dtype.
    pub dtype: Option<DataType>,
    /// `fidelity = "HiFi2"`.
    pub fidelity: Option<MathFidelity>,
    /// `program_config = <TT-NN struct literal>`: a config the user forces.
    pub program_config: Option<ForcedConfig>,
    /// The span of each key's value, for errors found later.
    pub spans: BTreeMap<String, Span>,
}

/// Parses the arguments of one `#[linear(...)]` attribute (`attr` is blamed for missing keys).
pub fn parse_linear(cx: &Ctxt, tokens: TokenStream, attr: &syn::Meta) -> LinearAttrs {
    let pairs = parse_key_values(cx, tokens);
    let mut a = LinearAttrs {
        in_features: None,
        out_features: None,
        bias: false,
        activation: None,
        dtype: None,
        fidelity: None,
        program_config: None,
        spans: BTreeMap::new(),
    };
    let seen = for_each_key(cx, "linear", LINEAR_KEYS, &pairs, |key, kv| match key {
        "in" => a.in_features = dim(cx, key, &kv.value),
        "out" => a.out_features = dim(cx, key, &kv.value),
        "bias" => a.bias = lit_bool(cx, key, &kv.value).unwrap_or(false),
        "activation" => {
            if let Some(s) = lit_str(cx, key, &kv.value) {
                match UnaryOpType::parse(&s.value) {
                    Some(op) => a.activation = Some(op),
                    None => cx.error_at(
                        s.span,
                        Diag::UnknownActivation.with(format!(
                            "unknown activation `{}`; fix: use one of {}",
                            s.value,
                            UnaryOpType::NAMES.iter().map(|n| format!("\"{n}\"")).collect::<Vec<_>>().join(", ")
                        )),
                    ),
                }
            }
        }
        "dtype" => {
            if let Some(s) = lit_str(cx, key, &kv.value) {
                match DataType::parse(&s.value) {
                    Some(d) if d.is_float() && d != DataType::Float32 => a.dtype = Some(d),
                    _ => cx.error_at(
                        s.span,
                        Diag::UnsupportedDtype.with(format!(
                            "`{}` is not a weight dtype; fix: use \"bfloat16\", \"bfloat8_b\" or \"bfloat4_b\"",
                            s.value
                        )),
                    ),
                }
            }
        }
        "fidelity" => {
            if let Some(s) = lit_str(cx, key, &kv.value) {
                match MathFidelity::parse(&s.value) {
                    Some(f) => a.fidelity = Some(f),
                    None => cx.error_at(
                        s.span,
                        Diag::UnknownFidelity.with(format!(
                            "unknown math fidelity `{}`; fix: use \"LoFi\", \"HiFi2\", \"HiFi3\" or \"HiFi4\"",
                            s.value
                        )),
                    ),
                }
            }
        }
        "program_config" => a.program_config = parse_forced(cx, &kv.value),
        _ => unreachable!("key list and match arms agree"),
    });
    for required in ["in", "out"] {
        if !seen.contains_key(required) {
            cx.error_spanned_by(
                attr,
                Diag::MissingKey.with(format!("`#[linear]` needs `{required}`; fix: add `{required} = <features>`")),
            );
        }
    }
    if let (Some(f), Some(act)) = (&a.program_config, a.activation)
        && matches!(f.config, MatmulProgramConfig::MultiCore(_) | MatmulProgramConfig::Reuse(_))
    {
        cx.error_at(
                seen["program_config"],
                Diag::ActivationNotFusable.with(format!(
                    "`{}` has no `fused_activation`, so `activation = \"{}\"` would be lost; fix: force a multicast program config or drop the activation",
                    f.config.ttnn_name(),
                    format!("{act:?}").to_lowercase()
                )),
            );
    }
    a.spans = seen;
    if let Some(f) = &a.program_config {
        for (field, span) in &f.field_spans {
            a.spans.insert(format!("program_config.{field}"), *span);
        }
    }
    a
}
