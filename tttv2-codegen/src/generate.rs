//! `tttv2 generate`: the `#[ttt_model]` expansion of a Llama model written out as a standalone
//! crate a user can commit, diff and build without running the macro.
//!
//! The source is the same token stream the macro emits for
//! `#[ttt_model(device = …, config = …, …)] pub struct <Name>;` (both call
//! [`llama_tokens`]), formatted with prettyplease, with three differences that do not change what
//! the items mean: the struct has a doc line saying where it came from, the manifest and DOT are
//! raw string literals (one source line per line, so plan changes diff well), and there is no
//! `include_bytes!` of the config, which the generated source no longer reads.

use std::fmt;

use proc_macro2::{Ident, TokenStream};
use quote::quote;

use super::llama::{DevicePlan, LlamaItem, fingerprint, llama_tokens, prefill_buckets};
use tttv2_core::device::SystemProfile;
use tttv2_core::hf::LlamaConfig;
use tttv2_core::plan::llama::{LlamaOptions, LlamaPlanError, plan_llama};

/// Formats a token stream as a Rust source file (prettyplease). Fails only if the tokens are not
/// a sequence of items, which would be a bug in the emission.
pub fn format_tokens(tokens: TokenStream) -> Result<String, syn::Error> {
    let file: syn::File = syn::parse2(tokens)?;
    Ok(prettyplease::unparse(&file))
}

/// How the generated crate depends on `tttv2`.
#[derive(Debug, Clone, PartialEq)]
pub enum Tttv2Dependency {
    /// `tttv2 = { path = "…" }` (`--tttv2-path`): for crates inside a tttv2 checkout.
    Path(String),
    /// `tttv2 = { version = "…" }`: the version of the generator.
    Version(String),
}

/// What, besides the plan options, shapes the generated crate.
#[derive(Debug, Clone)]
pub struct GenerateOptions {
    /// The struct's name (a Rust identifier, e.g. `SmallLlama`).
    pub name: String,
    /// The Cargo package name.
    pub package: String,
    /// Where the model's config came from (the `--config` path), for the struct's doc.
    pub source: String,
    /// The command that regenerates the crate, recorded in the header.
    pub command: String,
    /// How to depend on tttv2.
    pub tttv2: Tttv2Dependency,
    /// Prefill over a range of prompt lengths `(lo, hi)`: also plan each power-of-two bucket (the
    /// plan itself is made for `opts.seq_len`, which should be `hi`).
    pub seq_range: Option<(u32, u32)>,
}

/// A generated crate's files.
#[derive(Debug, Clone, PartialEq)]
pub struct GeneratedCrate {
    /// `Cargo.toml`.
    pub cargo_toml: String,
    /// `src/lib.rs`.
    pub lib_rs: String,
    /// `manifest.json`: the deployment manifest (`include_str!`d by `src/lib.rs`).
    pub manifest_json: String,
    /// `graph.json`: the compute graph.
    pub graph_json: String,
    /// `graph.dot`: the compute graph as Graphviz DOT.
    pub graph_dot: String,
    /// The plan's fingerprint (also in the header of `lib_rs` and in its manifest).
    pub fingerprint: String,
}

/// Why nothing was generated.
#[derive(Debug, Clone, PartialEq)]
pub enum GenerateError {
    /// `--name` is not a Rust identifier.
    Name(String),
    /// The model cannot be planned on the device.
    Plan(LlamaPlanError),
}

impl fmt::Display for GenerateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GenerateError::Name(n) => {
                write!(f, "[generate-name] `{n}` is not a Rust identifier; fix: pass e.g. `--name SmallLlama`")
            }
            GenerateError::Plan(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for GenerateError {}

/// Plans `cfg` on `system` and returns the crate's files.
pub fn generate_llama(
    cfg: &LlamaConfig,
    system: &SystemProfile,
    opts: &LlamaOptions,
    g: &GenerateOptions,
) -> Result<GeneratedCrate, GenerateError> {
    let ident: Ident = syn::parse_str(&g.name).map_err(|_| GenerateError::Name(g.name.clone()))?;
    let plan = plan_llama(cfg, system, opts).map_err(GenerateError::Plan)?;
    let buckets = prefill_buckets(cfg, system, opts, g.seq_range);
    let fp = fingerprint(&g.name, &plan, buckets.clone());
    // What a user would write above `#[ttt_model]`: says where the model came from.
    let doc = format!(" `{}` ({}), planned for `{}` by `tttv2 generate`.", g.name, g.source, system.name);
    let item =
        LlamaItem { attrs: quote!(#[doc = #doc]), vis: quote!(pub), ident, track_file: None, artifacts_beside: true };
    let manifest = tttv2_core::manifest::Manifest::new(g.name.clone(), &plan, buckets.clone());
    let graph = tttv2_core::graph::Graph::from_llama(&plan);
    let manifest_json = manifest.to_json() + "\n";
    let graph_json = serde_json::to_string_pretty(&graph).expect("a graph serializes") + "\n";
    let graph_dot = graph.to_dot(&g.name);
    let tokens = llama_tokens(&item, &DevicePlan { module: None, plan: &plan, prefill_buckets_us: buckets });
    let body = format_tokens(tokens).expect("the Llama emission is a sequence of items");
    // Plain `//` comments: an inner `//!` doc or `#![…]` attribute would stop the file from being
    // `include!`d, which is how the repository's test compiles the committed example.
    let header = format!(
        "// @generated by tttv2 {version} — do not edit; regenerate with\n\
         //\n\
         //     {command} --out <this directory>\n\
         //\n\
         // Plan fingerprint: {fp} (equal fingerprints mean equal plans; `{name}::manifest()` has the\n\
         // full plan). These are the items `#[ttt_model]` emits for the same model and options.\n\n",
        version = env!("CARGO_PKG_VERSION"),
        command = g.command,
        name = g.name,
    );
    let feature = system.chip.arch.cargo_feature();
    let dep = match &g.tttv2 {
        Tttv2Dependency::Path(p) => format!("path = {}", toml_str(p)),
        Tttv2Dependency::Version(v) => format!("version = {}", toml_str(v)),
    };
    let cargo_toml = format!(
        "# @generated by tttv2 {version}; regenerate with the command in src/lib.rs rather than edit.\n\
         [package]\n\
         name = {package}\n\
         version = \"0.1.0\"\n\
         edition = \"2024\"\n\
         publish = false\n\
         \n\
         [dependencies]\n\
         tttv2 = {{ {dep}, default-features = false, features = [\"{feature}\"] }}\n\
         \n\
         # Its own workspace, so it builds where it is generated (e.g. inside another workspace).\n\
         [workspace]\n",
        version = env!("CARGO_PKG_VERSION"),
        package = toml_str(&g.package),
    );
    Ok(GeneratedCrate { cargo_toml, lib_rs: header + &body, manifest_json, graph_json, graph_dot, fingerprint: fp })
}

/// A TOML basic string.
fn toml_str(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A Rust type name from a model's name: `Llama-3.2-1B` → `Llama3_2_1B`, `small-llama` →
/// `SmallLlama`.
pub fn struct_name(model: &str) -> String {
    let mut out = String::new();
    for part in model.split(|c: char| !c.is_ascii_alphanumeric()).filter(|p| !p.is_empty()) {
        if out.ends_with(|c: char| c.is_ascii_digit()) && part.starts_with(|c: char| c.is_ascii_digit()) {
            out.push('_');
        }
        let mut chars = part.chars();
        out.extend(chars.next().map(|c| c.to_ascii_uppercase()));
        out.extend(chars);
    }
    if !out.starts_with(|c: char| c.is_ascii_alphabetic()) {
        out.insert_str(0, "Model");
    }
    out
}

/// A Cargo package name from an output directory's name: `small_llama_n150`.
pub fn package_name(dir: &str) -> String {
    let s: String = dir.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '_' }).collect();
    if s.starts_with(|c: char| c.is_ascii_alphabetic()) { s } else { format!("model_{s}") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(struct_name("Llama-3.2-1B"), "Llama3_2_1B");
        assert_eq!(struct_name("small-llama"), "SmallLlama");
        assert_eq!(struct_name("3b"), "Model3b");
        assert_eq!(package_name("small_llama_n150"), "small_llama_n150");
        assert_eq!(package_name("Llama-3.2-1B_n150"), "llama_3_2_1b_n150");
    }
}
