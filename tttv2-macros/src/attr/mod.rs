//! Parses `#[ttt_model(...)]` and the layer attributes into typed values.
//! Each bad key or value becomes one error at its token; parsing goes on so every problem of a
//! declaration is reported together.

use std::collections::BTreeMap;

use proc_macro2::{Span, TokenStream};
use syn::ext::IdentExt;
use syn::parse::{Parse, ParseStream, Parser};
use syn::punctuated::Punctuated;
use syn::spanned::Spanned as _;
use syn::{Expr, ExprLit, Ident, Lit, Token};

use crate::ctxt::Ctxt;
use crate::diag::Diag;

mod linear;
mod llama;
mod model;

pub use linear::{LinearAttrs, parse_linear};
pub use llama::{LLAMA_LAYER_ATTRS, LlamaLayerAttrs, parse_llama_layer};
pub use model::{ModelAttrs, parse_model_attrs};

/// A value with the span of the token it came from.
#[derive(Clone, Copy)]
pub struct Spanned<T> {
    /// The value.
    pub value: T,
    /// Where it was written.
    pub span: Span,
}

/// One `key = value` pair, or a nested group `key(...)`.
pub struct KeyValue {
    /// The key (keywords such as `in` allowed).
    pub key: Ident,
    /// The value expression (for a group: the group as a tuple-like expression, for spans).
    pub value: Expr,
    /// The tokens inside `key(...)`, for nested groups.
    pub group: Option<TokenStream>,
}

impl Parse for KeyValue {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let key = input.call(Ident::parse_any)?;
        if input.peek(syn::token::Paren) {
            let content;
            let paren = syn::parenthesized!(content in input);
            let group: TokenStream = content.parse()?;
            // Keep a span-bearing expression for errors about the whole group.
            let value = Expr::Verbatim(quote::quote_spanned!(paren.span.join() => (#group)));
            return Ok(KeyValue { key, value, group: Some(group) });
        }
        input.parse::<Token![=]>()?;
        let value = input.parse()?;
        Ok(KeyValue { key, value, group: None })
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
pub(crate) fn for_each_key(
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
                Diag::UnknownKey.with(format!(
                    "`{key}` is not a key of `{what}`; fix: use one of {}",
                    known.iter().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", ")
                )),
            );
            continue;
        }
        if seen.contains_key(&key) {
            cx.error_spanned_by(
                &kv.key,
                Diag::DuplicateKey.with(format!("`{key}` is given twice in `{what}`; fix: keep one")),
            );
            continue;
        }
        seen.insert(key.clone(), kv.value.span());
        on_key(&key, kv);
    }
    seen
}

pub(crate) fn lit_int(cx: &Ctxt, key: &str, value: &Expr) -> Option<Spanned<u64>> {
    if let Expr::Lit(ExprLit { lit: Lit::Int(i), .. }) = value
        && let Ok(v) = i.base10_parse::<u64>()
    {
        return Some(Spanned { value: v, span: i.span() });
    }
    cx.error_spanned_by(
        value,
        Diag::ExpectedInteger.with(format!("`{key}` takes a non-negative integer literal, e.g. `{key} = 1024`")),
    );
    None
}

pub(crate) fn lit_str(cx: &Ctxt, key: &str, value: &Expr) -> Option<Spanned<String>> {
    if let Expr::Lit(ExprLit { lit: Lit::Str(s), .. }) = value {
        return Some(Spanned { value: s.value(), span: s.span() });
    }
    cx.error_spanned_by(
        value,
        Diag::ExpectedString.with(format!("`{key}` takes a string literal, e.g. `{key} = \"...\"`")),
    );
    None
}

pub(crate) fn lit_bool(cx: &Ctxt, key: &str, value: &Expr) -> Option<bool> {
    if let Expr::Lit(ExprLit { lit: Lit::Bool(b), .. }) = value {
        return Some(b.value);
    }
    cx.error_spanned_by(value, Diag::ExpectedBool.with(format!("`{key}` takes `true` or `false`")));
    None
}

/// A float (or integer) literal, possibly negative.
pub(crate) fn lit_float(cx: &Ctxt, key: &str, value: &Expr) -> Option<Spanned<f64>> {
    let (neg, inner) = match value {
        Expr::Unary(u) if matches!(u.op, syn::UnOp::Neg(_)) => (true, &*u.expr),
        other => (false, other),
    };
    let v = match inner {
        Expr::Lit(ExprLit { lit: Lit::Float(f), .. }) => f.base10_parse::<f64>().ok(),
        Expr::Lit(ExprLit { lit: Lit::Int(i), .. }) => i.base10_parse::<f64>().ok(),
        _ => None,
    };
    match v {
        Some(v) => Some(Spanned { value: if neg { -v } else { v }, span: value.span() }),
        None => {
            cx.error_spanned_by(
                value,
                Diag::ExpectedNumber.with(format!("`{key}` takes a number, e.g. `{key} = 1e-5`")),
            );
            None
        }
    }
}

/// `key = N` or `key = A..=B` (inclusive; `A..B` is exclusive), as `(min, max)`.
pub(crate) fn range(cx: &Ctxt, key: &str, value: &Expr, max_allowed: u64) -> Option<Spanned<(u32, u32)>> {
    let span = value.span();
    let (lo, hi) = match value {
        Expr::Range(r) => {
            let (Some(a), Some(b)) = (&r.start, &r.end) else {
                cx.error_spanned_by(
                    value,
                    Diag::RangeSyntax.with(format!("`{key}` takes `N` or `A..=B` with both ends")),
                );
                return None;
            };
            let (a, b) = (lit_int(cx, key, a)?.value, lit_int(cx, key, b)?.value);
            match r.limits {
                syn::RangeLimits::Closed(_) => (a, b),
                syn::RangeLimits::HalfOpen(_) => (a, b.saturating_sub(1)),
            }
        }
        other => {
            let v = lit_int(cx, key, other)?.value;
            (v, v)
        }
    };
    if lo == 0 || lo > hi || hi > max_allowed {
        cx.error_spanned_by(
            value,
            Diag::RangeEmpty.with(format!("`{key}` covers {lo}..={hi}, which is empty or outside 1..={max_allowed}; fix: give a non-empty range within 1..={max_allowed}")),
        );
        return None;
    }
    Some(Spanned { value: (lo as u32, hi as u32), span })
}

/// Largest dimension accepted: a feature count beyond 2^20 is a typo, not a model.
pub const MAX_DIM: u64 = 1 << 20;

pub(crate) fn dim(cx: &Ctxt, key: &str, value: &Expr) -> Option<Spanned<u32>> {
    let v = lit_int(cx, key, value)?;
    if v.value == 0 || v.value > MAX_DIM {
        cx.error_at(
            v.span,
            Diag::DimensionRange
                .with(format!("`{key} = {}` is out of range; fix: use a size from 1 to {MAX_DIM}", v.value)),
        );
        return None;
    }
    Some(Spanned { value: v.value as u32, span: v.span })
}
