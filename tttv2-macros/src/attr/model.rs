//! `#[ttt_model(...)]`: the target and the model-level options.

use std::collections::BTreeMap;
use std::path::PathBuf;

use proc_macro2::{Span, TokenStream};
use syn::Expr;
use syn::spanned::Spanned as _;
use tttv2_core::device::DeviceProfile;
use tttv2_core::plan::llama::OptimizeFor;
use tttv2_core::plan::{Mode, Policy};

use super::{Spanned, for_each_key, lit_str, parse_key_values, range};
use crate::ctxt::Ctxt;
use crate::diag::Diag;

/// A device with its name as written (`"n150"` and `"wormhole_b0"` are the same profile).
pub type NamedDevice = Spanned<(DeviceProfile, String)>;

/// The options of `#[ttt_model(...)]`.
pub struct ModelAttrs {
    /// `device = "..."`, with the name as written.
    pub device: Option<Spanned<(DeviceProfile, String)>>,
    /// `devices = ["wormhole_b0", "blackhole"]`: one plan per device, each compiled in only when
    /// tttv2's feature for the device's architecture is enabled. Each device with its name as
    /// written (it names the device's plan module), and the span of the list.
    pub devices: Option<Spanned<Vec<NamedDevice>>>,
    /// `config = "path/to/config.json"`: the path as written and as resolved.
    pub config: Option<Spanned<(String, PathBuf)>>,
    /// `policy = "performance" | "accuracy"`.
    pub policy: Policy,
    /// `mode = "prefill" | "decode"`.
    pub mode: Mode,
    /// `batch = N` or `batch = A..=B`: rows (users) per call; the plan is made for the maximum.
    pub batch: (u32, u32),
    /// `seq_len = N` or `A..=B`: prompt lengths (prefill) / KV-cache positions (decode).
    pub seq_len: Option<(u32, u32)>,
    /// `optimize_for = "latency" | "throughput"`.
    pub optimize_for: OptimizeFor,
    /// `memory_budget = "8GB"`: DRAM bytes the weights and KV cache may use.
    pub memory_budget: Option<u64>,
    /// Where the keys whose errors come later (planning) were written.
    pub spans: ModelSpans,
}

/// Where a `#[ttt_model(...)]` key was written, for errors found after parsing (planning,
/// cross-key rules); `None` when the key is absent.
#[derive(Default, Clone, Copy)]
pub struct ModelSpans {
    /// `batch = …`.
    pub batch: Option<Span>,
    /// `seq_len = …`.
    pub seq_len: Option<Span>,
    /// `memory_budget = …`.
    pub memory_budget: Option<Span>,
    /// `device = …`.
    pub device: Option<Span>,
    /// `config = …`.
    pub config: Option<Span>,
}

impl ModelSpans {
    fn from_keys(seen: &BTreeMap<String, Span>) -> ModelSpans {
        let at = |key: &str| seen.get(key).copied();
        ModelSpans {
            batch: at("batch"),
            seq_len: at("seq_len"),
            memory_budget: at("memory_budget"),
            device: at("device"),
            config: at("config"),
        }
    }
}

/// Rows per forward when `batch` is not given: one tile row.
pub const DEFAULT_BATCH: u32 = 32;
/// Largest batch a plan may be made for.
pub const MAX_BATCH: u64 = 1024;
/// Largest sequence length a plan may be made for (Llama 3.1's context).
pub const MAX_SEQ_LEN: u64 = 131_072;

const MODEL_KEYS: &[&str] =
    &["device", "devices", "config", "policy", "mode", "batch", "seq_len", "optimize_for", "memory_budget"];

/// Resolves a `config` path: relative to `CARGO_MANIFEST_DIR`, else relative to the file the
/// macro is invoked from.
fn resolve(path: &str) -> PathBuf {
    let p = PathBuf::from(path);
    if p.is_absolute() {
        return p;
    }
    if let Some(dir) = std::env::var_os("CARGO_MANIFEST_DIR") {
        let candidate = PathBuf::from(dir).join(&p);
        if candidate.exists() {
            return candidate;
        }
    }
    // Span::local_file is only meaningful inside a real macro expansion.
    let here = if proc_macro::is_available() { proc_macro::Span::call_site().local_file() } else { None };
    if let Some(parent) = here.as_deref().and_then(|f| f.parent()) {
        let candidate = parent.join(&p);
        if candidate.exists() {
            return candidate;
        }
    }
    match std::env::var_os("CARGO_MANIFEST_DIR") {
        Some(dir) => PathBuf::from(dir).join(p),
        None => p,
    }
}

/// `[unknown-device]`: the message for a name [`DeviceProfile::by_name`] does not know.
fn unknown_device(name: &str) -> String {
    Diag::UnknownDevice.with(format!(
        "unknown device `{}`; fix: use one of {}",
        name,
        DeviceProfile::NAMES.iter().map(|n| format!("\"{n}\"")).collect::<Vec<_>>().join(", ")
    ))
}

/// Parses `devices = ["…", …]`: each name known, none twice (aliases such as `n150` and
/// `wormhole_b0` are the same device), at least one.
fn parse_devices(cx: &Ctxt, value: &Expr) -> Option<Spanned<Vec<NamedDevice>>> {
    let Expr::Array(list) = value else {
        cx.error_spanned_by(
            value,
            Diag::ExpectedList.with(
                "`devices` takes a list of device names; fix: write e.g. `devices = [\"wormhole_b0\", \"blackhole\"]`",
            ),
        );
        return None;
    };
    if list.elems.is_empty() {
        cx.error_spanned_by(
            value,
            Diag::DevicesEmpty.with("`devices` lists no device; fix: list at least one, e.g. `devices = [\"wormhole_b0\", \"blackhole\"]`, or write `device = \"wormhole_b0\"` for one"),
        );
        return None;
    }
    let mut devices: Vec<NamedDevice> = Vec::new();
    for elem in &list.elems {
        let Some(s) = lit_str(cx, "devices", elem) else { continue };
        let Some(profile) = DeviceProfile::by_name(&s.value) else {
            cx.error_at(s.span, unknown_device(&s.value));
            continue;
        };
        if let Some(first) = devices.iter().find(|d| d.value.0.name == profile.name) {
            let same = if first.value.1 == s.value {
                String::new()
            } else {
                format!(" (`{}` and `{}` are both `{}`)", first.value.1, s.value, profile.name)
            };
            cx.error_at(
                s.span,
                Diag::DuplicateDevice.with(format!(
                    "`{}` is already in `devices`{same}, and a device has one plan; fix: remove this entry",
                    s.value
                )),
            );
            continue;
        }
        devices.push(Spanned { value: (profile, s.value), span: s.span });
    }
    Some(Spanned { value: devices, span: value.span() })
}

/// Parses the arguments of `#[ttt_model(...)]`.
pub fn parse_model_attrs(cx: &Ctxt, args: TokenStream) -> ModelAttrs {
    let pairs = parse_key_values(cx, args);
    let mut attrs = ModelAttrs {
        device: None,
        devices: None,
        config: None,
        policy: Policy::Performance,
        mode: Mode::Prefill,
        batch: (DEFAULT_BATCH, DEFAULT_BATCH),
        seq_len: None,
        optimize_for: OptimizeFor::Latency,
        memory_budget: None,
        spans: ModelSpans::default(),
    };
    let seen = for_each_key(cx, "ttt_model", MODEL_KEYS, &pairs, |key, kv| match key {
        "device" => {
            if let Some(s) = lit_str(cx, key, &kv.value) {
                match DeviceProfile::by_name(&s.value) {
                    Some(p) => attrs.device = Some(Spanned { value: (p, s.value.clone()), span: s.span }),
                    None => cx.error_at(s.span, unknown_device(&s.value)),
                }
            }
        }
        "devices" => attrs.devices = parse_devices(cx, &kv.value),
        "config" => {
            if let Some(s) = lit_str(cx, key, &kv.value) {
                let resolved = resolve(&s.value);
                attrs.config = Some(Spanned { value: (s.value, resolved), span: s.span });
            }
        }
        "policy" => {
            if let Some(s) = lit_str(cx, key, &kv.value) {
                match Policy::parse(&s.value) {
                    Some(p) => attrs.policy = p,
                    None => cx.error_at(
                        s.span,
                        Diag::UnknownPolicy
                            .with(format!("unknown policy `{}`; fix: use \"performance\" or \"accuracy\"", s.value)),
                    ),
                }
            }
        }
        "mode" => {
            if let Some(s) = lit_str(cx, key, &kv.value) {
                match Mode::parse(&s.value) {
                    Some(mode) => attrs.mode = mode,
                    None => cx.error_at(
                        s.span,
                        Diag::UnknownMode
                            .with(format!("unknown mode `{}`; fix: use \"prefill\" or \"decode\"", s.value)),
                    ),
                }
            }
        }
        "batch" => {
            if let Some(r) = range(cx, key, &kv.value, MAX_BATCH) {
                attrs.batch = r.value;
            }
        }
        "seq_len" => {
            if let Some(r) = range(cx, key, &kv.value, MAX_SEQ_LEN) {
                attrs.seq_len = Some(r.value);
            }
        }
        "optimize_for" => {
            if let Some(s) = lit_str(cx, key, &kv.value) {
                match OptimizeFor::parse(&s.value) {
                    Some(o) => attrs.optimize_for = o,
                    None => cx.error_at(
                        s.span,
                        Diag::UnknownOptimizeFor
                            .with(format!("unknown goal `{}`; fix: use \"latency\" or \"throughput\"", s.value)),
                    ),
                }
            }
        }
        "memory_budget" => {
            if let Some(s) = lit_str(cx, key, &kv.value) {
                match tttv2_core::plan::parse_memory_size(&s.value) {
                    Ok(b) => attrs.memory_budget = Some(b),
                    Err(_) => cx.error_at(
                        s.span,
                        Diag::MemoryBudgetSyntax
                            .with(format!("`{}` is not a size; fix: write e.g. \"8GB\" or \"512MiB\"", s.value)),
                    ),
                }
            }
        }
        _ => unreachable!("key list and match arms agree"),
    });
    if seen.contains_key("device") && seen.contains_key("devices") {
        // Blame whichever of the two was written second.
        let second =
            pairs.iter().filter(|kv| kv.key == "device" || kv.key == "devices").nth(1).expect("both keys were seen");
        cx.error_spanned_by(
            &second.key,
            Diag::DeviceOrDevices.with("`device` and `devices` are both given; fix: keep `device = \"…\"` for one target, or list every target in `devices = [\"…\", …]`"),
        );
        attrs.devices = None;
    } else if !seen.contains_key("device") && !seen.contains_key("devices") {
        cx.error_at(
            Span::call_site(),
            Diag::MissingKey.with(
                "`#[ttt_model]` needs a target; fix: add `device = \"wormhole_b0\"` (or \"blackhole\", \"grayskull\")",
            ),
        );
    }
    attrs.spans = ModelSpans::from_keys(&seen);
    attrs
}
