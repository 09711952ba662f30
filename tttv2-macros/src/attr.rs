//! Parses `#[ttt_model(...)]` and the layer attributes (`#[linear(...)]`) into typed values.
//! Each bad key or value becomes one error at its token; parsing goes on so every problem of a
//! declaration is reported together.

use std::collections::BTreeMap;

use proc_macro2::{Span, TokenStream};
use syn::ext::IdentExt;
use syn::parse::{Parse, ParseStream, Parser};
use syn::punctuated::Punctuated;
use syn::spanned::Spanned as _;
use syn::{Expr, ExprLit, Ident, Lit, Token};
use tttv2_core::device::DeviceProfile;
use tttv2_core::plan::{Mode, Policy};
use tttv2_core::ttnn::{DataType, MathFidelity, MatmulProgramConfig, UnaryOpType};

use crate::ctxt::Ctxt;
use crate::forced::{ForcedConfig, parse_forced};

/// A value with the span of the token it came from.
#[derive(Clone, Copy)]
pub struct Spanned<T> {
    /// The value.
    pub value: T,
    /// Where it was written.
    pub span: Span,
}

/// One `key = value` pair.
pub struct KeyValue {
    /// The key (keywords such as `in` allowed).
    pub key: Ident,
    /// The value expression.
    pub value: Expr,
}

impl Parse for KeyValue {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let key = input.call(Ident::parse_any)?;
        input.parse::<Token![=]>()?;
        let value = input.parse()?;
        Ok(KeyValue { key, value })
    }
}

/// Parses `key = value, …`; a syntax error is recorded and yields no pairs.
pub fn parse_key_values(cx: &Ctxt, tokens: TokenStream) -> Vec<KeyValue> {
    match Punctuated::<KeyValue, Token![,]>::parse_terminated.parse2(tokens) {
        Ok(p) => p.into_iter().collect(),
        Err(e) => {
            cx.syn_error(e);
            Vec::new()
        }
    }
}

/// Walks the pairs of one attribute: rejects unknown and duplicate keys and hands each known
/// key to `on_key`.
fn for_each_key(
    cx: &Ctxt,
    what: &str,
    known: &[&str],
    pairs: &[KeyValue],
    mut on_key: impl FnMut(&str, &KeyValue),
) -> BTreeMap<String, Span> {
    let mut seen: BTreeMap<String, Span> = BTreeMap::new();
    for kv in pairs {
        let key = kv.key.unraw().to_string();
        if !known.contains(&key.as_str()) {
            cx.error_spanned_by(
                &kv.key,
                format!(
                    "[unknown-key] `{key}` is not a key of `{what}`; fix: use one of {}",
                    known.iter().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", ")
                ),
            );
            continue;
        }
        if seen.contains_key(&key) {
            cx.error_spanned_by(
                &kv.key,
                format!("[duplicate-key] `{key}` is given twice in `{what}`; fix: keep one"),
            );
            continue;
        }
        seen.insert(key.clone(), kv.value.span());
        on_key(&key, kv);
    }
    seen
}

fn lit_int(cx: &Ctxt, key: &str, value: &Expr) -> Option<Spanned<u64>> {
    if let Expr::Lit(ExprLit { lit: Lit::Int(i), .. }) = value {
        if let Ok(v) = i.base10_parse::<u64>() {
            return Some(Spanned { value: v, span: i.span() });
        }
    }
    cx.error_spanned_by(value, format!("[expected-integer] `{key}` takes a non-negative integer literal, e.g. `{key} = 1024`"));
    None
}

fn lit_str(cx: &Ctxt, key: &str, value: &Expr) -> Option<Spanned<String>> {
    if let Expr::Lit(ExprLit { lit: Lit::Str(s), .. }) = value {
        return Some(Spanned { value: s.value(), span: s.span() });
    }
    cx.error_spanned_by(value, format!("[expected-string] `{key}` takes a string literal, e.g. `{key} = \"...\"`"));
    None
}

fn lit_bool(cx: &Ctxt, key: &str, value: &Expr) -> Option<bool> {
    if let Expr::Lit(ExprLit { lit: Lit::Bool(b), .. }) = value {
        return Some(b.value);
    }
    cx.error_spanned_by(value, format!("[expected-bool] `{key}` takes `true` or `false`"));
    None
}

/// Largest dimension accepted: a feature count beyond 2^20 is a typo, not a model.
pub const MAX_DIM: u64 = 1 << 20;

fn dim(cx: &Ctxt, key: &str, value: &Expr) -> Option<Spanned<u32>> {
    let v = lit_int(cx, key, value)?;
    if v.value == 0 || v.value > MAX_DIM {
        cx.error_at(
            v.span,
            format!("[dimension-range] `{key} = {}` is out of range; fix: use a size from 1 to {MAX_DIM}", v.value),
        );
        return None;
    }
    Some(Spanned { value: v.value as u32, span: v.span })
}

/// The options of `#[ttt_model(...)]`.
pub struct ModelAttrs {
    /// `device = "..."`, with the name as written.
    pub device: Option<Spanned<(DeviceProfile, String)>>,
    /// `policy = "performance" | "accuracy"`.
    pub policy: Policy,
    /// `mode = "prefill" | "decode"`.
    pub mode: Mode,
    /// `batch = N`: rows per forward call.
    pub batch: u32,
}

/// Rows per forward when `batch` is not given: one tile row.
pub const DEFAULT_BATCH: u32 = 32;

const MODEL_KEYS: &[&str] = &["device", "policy", "mode", "batch"];

/// Parses the arguments of `#[ttt_model(...)]`.
pub fn parse_model_attrs(cx: &Ctxt, args: TokenStream) -> ModelAttrs {
    let pairs = parse_key_values(cx, args);
    let mut attrs = ModelAttrs { device: None, policy: Policy::Performance, mode: Mode::Prefill, batch: DEFAULT_BATCH };
    let seen = for_each_key(cx, "ttt_model", MODEL_KEYS, &pairs, |key, kv| match key {
        "device" => {
            if let Some(s) = lit_str(cx, key, &kv.value) {
                match DeviceProfile::by_name(&s.value) {
                    Some(p) => attrs.device = Some(Spanned { value: (p, s.value.clone()), span: s.span }),
                    None => cx.error_at(
                        s.span,
                        format!(
                            "[unknown-device] unknown device `{}`; fix: use one of {}",
                            s.value,
                            DeviceProfile::NAMES.iter().map(|n| format!("\"{n}\"")).collect::<Vec<_>>().join(", ")
                        ),
                    ),
                }
            }
        }
        "policy" => {
            if let Some(s) = lit_str(cx, key, &kv.value) {
                match Policy::parse(&s.value) {
                    Some(p) => attrs.policy = p,
                    None => cx.error_at(
                        s.span,
                        format!("[unknown-policy] unknown policy `{}`; fix: use \"performance\" or \"accuracy\"", s.value),
                    ),
                }
            }
        }
        "mode" => {
            if let Some(s) = lit_str(cx, key, &kv.value) {
                match s.value.as_str() {
                    "prefill" => attrs.mode = Mode::Prefill,
                    "decode" => attrs.mode = Mode::Decode,
                    other => cx.error_at(
                        s.span,
                        format!("[unknown-mode] unknown mode `{other}`; fix: use \"prefill\" or \"decode\""),
                    ),
                }
            }
        }
        "batch" => {
            if let Some(v) = dim(cx, key, &kv.value) {
                attrs.batch = v.value;
            }
        }
        _ => unreachable!("key list and match arms agree"),
    });
    if !seen.contains_key("device") {
        cx.error_at(
            Span::call_site(),
            "[missing-key] `#[ttt_model]` needs a target; fix: add `device = \"wormhole_b0\"` (or \"blackhole\", \"grayskull\")",
        );
    }
    attrs
}

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
                        format!(
                            "[unknown-activation] unknown activation `{}`; fix: use one of {}",
                            s.value,
                            UnaryOpType::NAMES.iter().map(|n| format!("\"{n}\"")).collect::<Vec<_>>().join(", ")
                        ),
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
                        format!("[unsupported-dtype] `{}` is not a weight dtype; fix: use \"bfloat16\", \"bfloat8_b\" or \"bfloat4_b\"", s.value),
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
                        format!("[unknown-fidelity] unknown math fidelity `{}`; fix: use \"LoFi\", \"HiFi2\", \"HiFi3\" or \"HiFi4\"", s.value),
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
                format!("[missing-key] `#[linear]` needs `{required}`; fix: add `{required} = <features>`"),
            );
        }
    }
    if let (Some(f), Some(act)) = (&a.program_config, a.activation) {
        if matches!(f.config, MatmulProgramConfig::MultiCore(_) | MatmulProgramConfig::Reuse(_)) {
            cx.error_at(
                seen["program_config"],
                format!(
                    "[activation-not-fusable] `{}` has no `fused_activation`, so `activation = \"{}\"` would be lost; fix: force a multicast program config or drop the activation",
                    f.config.ttnn_name(),
                    format!("{act:?}").to_lowercase()
                ),
            );
        }
    }
    a.spans = seen;
    if let Some(f) = &a.program_config {
        for (field, span) in &f.field_spans {
            a.spans.insert(format!("program_config.{field}"), *span);
        }
    }
    a
}
