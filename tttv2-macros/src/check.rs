//! The macro's cross-field rules, one named function each (serde_derive's `check.rs`): rules
//! that relate two or more keys, checked once the keys are parsed. Each pushes its error to the
//! `Ctxt` at the token to change and says whether the declaration passed, so every broken rule
//! is reported in one build.

use quote::format_ident;
use tttv2_core::device::{Arch, DeviceProfile, SystemProfile};

use crate::attr::{ModelAttrs, Spanned};
use crate::ctxt::Ctxt;
use crate::diag::Diag;
use crate::emit::Target;

/// The sizes of a Llama declared field by field, each with where it was written.
pub(crate) struct DecoderSizes {
    /// `#[embedding(dim)]`: the hidden size.
    pub hidden: Spanned<u32>,
    /// `#[embedding(vocab)]`.
    pub vocab: Spanned<u32>,
    /// `attention(heads)`.
    pub heads: Spanned<u32>,
    /// `attention(kv_heads)`, `heads` when not written (at the `heads` token then).
    pub kv_heads: Spanned<u32>,
    /// `attention(head_dim)`, if written.
    pub head_dim: Option<Spanned<u32>>,
    /// `#[rms_norm(dim)]`.
    pub norm_dim: Spanned<u32>,
    /// `#[lm_head(vocab)]`.
    pub head_vocab: Spanned<u32>,
}

/// Every size rule of a field-by-field Llama; false if any is broken (all are reported).
pub(crate) fn decoder_sizes(cx: &Ctxt, s: &DecoderSizes) -> bool {
    let rules: [fn(&Ctxt, &DecoderSizes) -> bool; 6] =
        [heads_divide_hidden, kv_heads_divide_heads, head_dim_consistent, head_dim_tile, norm_dim, vocab_consistent];
    // Every rule runs (no short-circuit), so all broken ones are reported together.
    rules.map(|rule| rule(cx, s)).iter().all(|passed| *passed)
}

/// Without `head_dim`, the head width is hidden / heads: it must divide evenly, as transformers'
/// `LlamaConfig` requires.
fn heads_divide_hidden(cx: &Ctxt, s: &DecoderSizes) -> bool {
    let (hidden, heads) = (s.hidden.value, s.heads.value);
    if s.head_dim.is_some() || hidden % heads == 0 {
        return true;
    }
    cx.error_at(
        s.heads.span,
        Diag::HeadsDivideHidden.with(format!(
            "heads = {heads} does not divide the hidden size {hidden}; fix: choose heads dividing {hidden} or give `head_dim`"
        )),
    );
    false
}

/// Grouped-query attention shares each KV head among heads / kv_heads query heads.
fn kv_heads_divide_heads(cx: &Ctxt, s: &DecoderSizes) -> bool {
    let (heads, kv_heads) = (s.heads.value, s.kv_heads.value);
    if heads % kv_heads == 0 {
        return true;
    }
    cx.error_at(s.kv_heads.span, Diag::KvHeadsDivideHeads.with(format!("kv_heads = {kv_heads} does not divide heads = {heads} (grouped-query attention shares each KV head among heads / kv_heads query heads); fix: choose kv_heads dividing {heads}")));
    false
}

/// The planned attention concatenates the heads back into the hidden width.
fn head_dim_consistent(cx: &Ctxt, s: &DecoderSizes) -> bool {
    let Some(hd) = s.head_dim else { return true };
    let (hidden, heads) = (s.hidden.value, s.heads.value);
    if hd.value * heads == hidden {
        return true;
    }
    cx.error_at(
        hd.span,
        Diag::HeadDimConsistent.with(format!(
            "heads × head_dim = {heads} × {} = {} but the hidden size is {hidden}; fix: set head_dim = {}",
            hd.value,
            heads * hd.value,
            hidden / heads.max(1)
        )),
    );
    false
}

/// TT-NN's attention ops work on whole 32-wide tiles of a head.
fn head_dim_tile(cx: &Ctxt, s: &DecoderSizes) -> bool {
    let Some(hd) = s.head_dim else { return true };
    if hd.value % 32 == 0 {
        return true;
    }
    cx.error_at(hd.span, Diag::HeadDimTile.with(format!("head_dim = {} is not a multiple of the 32-wide tile that TT-NN's attention ops need (rotary_embedding_llama decode: head_dim % 32 == 0); fix: use a multiple of 32", hd.value)));
    false
}

/// The final norm normalizes the hidden state.
fn norm_dim(cx: &Ctxt, s: &DecoderSizes) -> bool {
    let (norm, hidden) = (s.norm_dim.value, s.hidden.value);
    if norm == hidden {
        return true;
    }
    cx.error_at(
        s.norm_dim.span,
        Diag::NormDim
            .with(format!("the final norm has dim = {norm} but the hidden size is {hidden}; fix: set dim = {hidden}")),
    );
    false
}

/// The LM head scores the embedding's vocabulary.
fn vocab_consistent(cx: &Ctxt, s: &DecoderSizes) -> bool {
    let (head, vocab) = (s.head_vocab.value, s.vocab.value);
    if head == vocab {
        return true;
    }
    cx.error_at(
        s.head_vocab.span,
        Diag::VocabConsistent.with(format!(
            "the LM head has vocab = {head} but the embedding has vocab = {vocab}; fix: use the same vocabulary"
        )),
    );
    false
}

/// What to plan for: `device`, or each of `devices` whose feature is on, in the order listed. A
/// device whose Cargo feature is off is an error in `feature_error` (reported after the others)
/// and is still planned and emitted in full, so that error is the only one the user sees.
pub(crate) fn device_targets(
    feature_error: &Ctxt,
    attrs: &ModelAttrs,
    arch_enabled: &impl Fn(Arch) -> bool,
) -> Vec<Target> {
    let feature_fix = |arch: Arch| {
        let f = arch.cargo_feature();
        format!(
            "fix: enable it, e.g. `tttv2 = {{ version = \"…\", features = [\"{f}\"] }}` or `cargo build --features {f}`"
        )
    };
    let mut targets: Vec<Target> = Vec::new();
    if let Some(dev) = &attrs.device {
        let (profile, written) = &dev.value;
        let arch = profile.arch;
        if !arch_enabled(arch) {
            feature_error.error_at(
                dev.span,
                Diag::DeviceFeature.with(format!(
                    "device `{}` needs the `{}` feature of tttv2, which is not enabled; {}",
                    written,
                    arch.cargo_feature(),
                    feature_fix(arch)
                )),
            );
        }
        targets.push(Target { module: None, device: *profile, system: system_of(profile), span: dev.span });
    }
    if let Some(devs) = &attrs.devices {
        let mut on: Vec<_> = devs.value.iter().filter(|d| arch_enabled(d.value.0.arch)).collect();
        if on.is_empty() && !devs.value.is_empty() {
            let first = devs.value[0].value.0.arch;
            feature_error.error_at(
                devs.span,
                Diag::DeviceFeature.with(format!(
                    "none of `devices` is compiled in: {}; {}",
                    devs.value
                        .iter()
                        .map(|d| format!(
                            "`{}` needs the `{}` feature of tttv2",
                            d.value.1,
                            d.value.0.arch.cargo_feature()
                        ))
                        .collect::<Vec<_>>()
                        .join(", "),
                    feature_fix(first).replace("enable it", "enable at least one")
                )),
            );
            on = devs.value.iter().collect();
        }
        targets.extend(on.into_iter().map(|d| Target {
            module: Some(format_ident!("{}", d.value.1)),
            device: d.value.0,
            system: system_of(&d.value.0),
            span: d.span,
        }));
    }
    targets
}

/// The system a device name stands for: a multi-chip card or mesh by its name, else the chip
/// alone.
fn system_of(device: &DeviceProfile) -> SystemProfile {
    SystemProfile::by_name(device.name).unwrap_or(SystemProfile::single(device.name, *device))
}
