//! Reads the user's struct: its fields and the layer attribute on each.

use proc_macro2::{Span, TokenStream};
use quote::ToTokens;
use syn::{Attribute, Fields, Ident, ItemStruct, Meta, Type, Visibility};

use std::collections::BTreeMap;

use crate::attr::{LLAMA_LAYER_ATTRS, LinearAttrs, LlamaLayerAttrs, parse_linear, parse_llama_layer};
use crate::ctxt::Ctxt;
use crate::diag::Diag;

/// The user's model struct.
pub struct Model {
    /// Attributes other than layer attributes, kept on the generated struct.
    pub attrs: Vec<Attribute>,
    /// Visibility.
    pub vis: Visibility,
    /// Name.
    pub ident: Ident,
    /// Layers, in declaration order (= execution order).
    pub layers: Vec<Layer>,
}

/// One field, i.e. one layer.
pub struct Layer {
    /// Field visibility.
    pub vis: Visibility,
    /// Field name.
    pub ident: Ident,
    /// What the attribute declares.
    pub kind: LayerAttr,
}

impl Model {
    /// Whether the declaration is a Llama-family decoder (its layers carry the Llama attributes;
    /// a `config = ...` model has no fields at all).
    pub fn is_llama(&self) -> bool {
        self.layers.is_empty() || self.layers.iter().any(|l| matches!(l.kind, LayerAttr::Llama(..)))
    }
}

/// A field's layer attribute.
pub enum LayerAttr {
    /// `#[linear(...)]`.
    Linear(LinearAttrs),
    /// One of the Llama layer attributes, with the span of each key's value.
    Llama(LlamaLayerAttrs, BTreeMap<String, Span>),
}

/// The layer attributes a field may carry, and the field type each expects.
fn expected_type(attr: &str) -> Option<&'static str> {
    if attr == "linear" {
        return Some("Linear");
    }
    LLAMA_LAYER_ATTRS.iter().find(|(n, _)| *n == attr).map(|(_, t)| *t)
}

fn last_segment(ty: &Type) -> Option<String> {
    match ty {
        Type::Path(p) => p.path.segments.last().map(|s| s.ident.to_string()),
        _ => None,
    }
}

/// Parses the struct; problems are recorded in `cx` and the offending field is skipped.
pub fn parse_model(cx: &Ctxt, item: ItemStruct, preset: bool) -> Model {
    let ItemStruct { attrs, vis, ident, generics, fields, .. } = item;
    if !generics.params.is_empty() {
        cx.error_spanned_by(
            &generics,
            Diag::GenericModel.with("a `#[ttt_model]` struct cannot be generic; fix: remove the generic parameters"),
        );
    }
    let named = match fields {
        Fields::Named(n) => n.named,
        Fields::Unnamed(u) => {
            cx.error_spanned_by(&u, Diag::NamedFields.with("a `#[ttt_model]` struct declares its layers as named fields; fix: use `struct Name { layer: Linear, … }`"));
            Default::default()
        }
        Fields::Unit if preset => Default::default(),
        Fields::Unit => {
            cx.error_spanned_by(&ident, Diag::NoLayers.with("a `#[ttt_model]` struct needs at least one layer field; fix: add e.g. `#[linear(in = 1024, out = 1024)] proj: Linear`, or `config = \"path/to/config.json\"`"));
            Default::default()
        }
    };
    let mut layers = Vec::new();
    for field in named {
        let fident = field.ident.clone().expect("named field");
        let mut kind = None;
        // A layer attribute written wrong is reported once, as itself, not again as a missing one.
        let mut malformed = false;
        for attr in &field.attrs {
            let Some(name) = attr.path().get_ident().map(|i| i.to_string()) else { continue };
            let Some(expected_ty) = expected_type(&name) else { continue };
            if kind.is_some() {
                cx.error_spanned_by(
                    attr,
                    Diag::DuplicateLayerAttribute
                        .with(format!("field `{fident}` has more than one layer attribute; fix: keep one")),
                );
                continue;
            }
            let tokens: TokenStream = match &attr.meta {
                Meta::List(l) => l.tokens.clone(),
                _ => {
                    cx.error_spanned_by(attr, Diag::AttributeSyntax.with(format!("write `#[{name}(key = value, …)]`")));
                    malformed = true;
                    continue;
                }
            };
            if last_segment(&field.ty).as_deref() != Some(expected_ty) {
                cx.error_spanned_by(
                    &field.ty,
                    Diag::FieldType.with(format!("a `#[{name}]` field has type `{expected_ty}` (`tttv2::nn::{expected_ty}`); fix: write `{fident}: {expected_ty}`")),
                );
            }
            kind = Some(match name.as_str() {
                "linear" => LayerAttr::Linear(parse_linear(cx, tokens, &attr.meta)),
                other => {
                    let mut spans = BTreeMap::new();
                    let l = parse_llama_layer(cx, other, tokens, &attr.meta, &mut spans);
                    LayerAttr::Llama(l, spans)
                }
            });
        }
        match kind {
            Some(kind) => layers.push(Layer { vis: field.vis, ident: fident, kind }),
            None if malformed => {}
            None => cx.error_spanned_by(
                &fident,
                Diag::MissingLayerAttribute.with(format!(
                    "field `{fident}` is not a layer; fix: add a layer attribute such as `#[linear(in = …, out = …)]`"
                )),
            ),
        }
    }
    if preset {
        if let Some(l) = layers.first() {
            cx.error_spanned_by(
                &l.ident,
                Diag::ConfigAndFields.with("a model declared from `config = \"…\"` takes its layers from the config; fix: remove the layer fields or the `config` option"),
            );
        }
    } else if layers.is_empty() && !cx.has_errors() {
        cx.error_spanned_by(&ident, Diag::NoLayers.with("a `#[ttt_model]` struct needs at least one layer field; fix: add e.g. `#[linear(in = 1024, out = 1024)] proj: Linear`"));
    }
    Model { attrs, vis, ident, layers }
}

impl Model {
    /// The span to blame for model-level problems.
    pub fn span(&self) -> Span {
        self.ident.span()
    }

    /// The kept attributes as tokens.
    pub fn attr_tokens(&self) -> TokenStream {
        self.attrs.iter().map(|a| a.to_token_stream()).collect()
    }
}
