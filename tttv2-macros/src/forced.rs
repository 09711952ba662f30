//! Parses a program config the user forces on a layer, written with TT-NN's struct and field
//! names:
//!
//! ```text
//! #[linear(in = 4096, out = 4096, program_config = MatmulMultiCoreReuseMultiCast1DProgramConfig {
//!     compute_with_storage_grid_size: (8, 8), in0_block_w: 4, out_subblock_h: 1,
//!     out_subblock_w: 4, per_core_M: 1, per_core_N: 16, mcast_in0: true,
//! })]
//! ```
//!
//! As in TT-NN's Python bindings, `out_block_h`/`out_block_w` default to `per_core_M`/`per_core_N`
//! and `fuse_batch` to `true`; `fused_activation` comes from the layer's `activation`.

use std::collections::BTreeMap;

use proc_macro2::Span;
use syn::spanned::Spanned as _;
use syn::{Expr, ExprLit, ExprStruct, Lit, Member};
use tttv2_core::ttnn::{
    CoreCoord, MatmulMultiCoreProgramConfig, MatmulMultiCoreReuseMultiCast1DProgramConfig,
    MatmulMultiCoreReuseMultiCastDRAMShardedProgramConfig, MatmulMultiCoreReuseMultiCastProgramConfig,
    MatmulMultiCoreReuseProgramConfig, MatmulProgramConfig,
};

use crate::ctxt::Ctxt;
use crate::diag::Diag;

/// A parsed forced config and where each of its fields was written (keyed by field name).
pub struct ForcedConfig {
    /// The config (fused_activation still unset).
    pub config: MatmulProgramConfig,
    /// Span of each field's value.
    pub field_spans: BTreeMap<String, Span>,
}

enum Kind {
    MultiCore,
    Reuse,
    MultiCast2D,
    MultiCast1D,
    DramSharded,
}

/// A program-config struct: (struct name, kind, required fields, optional fields).
type Family = (&'static str, fn() -> Kind, &'static [&'static str], &'static [&'static str]);

const FAMILIES: &[Family] = &[
    ("MatmulMultiCoreProgramConfig", || Kind::MultiCore, &[], &[]),
    (
        "MatmulMultiCoreReuseProgramConfig",
        || Kind::Reuse,
        &[
            "compute_with_storage_grid_size",
            "in0_block_w",
            "out_subblock_h",
            "out_subblock_w",
            "per_core_M",
            "per_core_N",
        ],
        &[],
    ),
    (
        "MatmulMultiCoreReuseMultiCastProgramConfig",
        || Kind::MultiCast2D,
        &[
            "compute_with_storage_grid_size",
            "in0_block_w",
            "out_subblock_h",
            "out_subblock_w",
            "per_core_M",
            "per_core_N",
        ],
        &["out_block_h", "out_block_w", "transpose_mcast", "fuse_batch"],
    ),
    (
        "MatmulMultiCoreReuseMultiCast1DProgramConfig",
        || Kind::MultiCast1D,
        &[
            "compute_with_storage_grid_size",
            "in0_block_w",
            "out_subblock_h",
            "out_subblock_w",
            "per_core_M",
            "per_core_N",
            "mcast_in0",
        ],
        &["out_block_h", "out_block_w", "fuse_batch"],
    ),
    (
        "MatmulMultiCoreReuseMultiCastDRAMShardedProgramConfig",
        || Kind::DramSharded,
        &["in0_block_w", "per_core_M", "per_core_N"],
        &[],
    ),
];

enum Value {
    Int(u32),
    Bool(bool),
    Grid(CoreCoord),
}

fn int(e: &Expr) -> Option<u32> {
    match e {
        Expr::Lit(ExprLit { lit: Lit::Int(i), .. }) => i.base10_parse().ok(),
        _ => None,
    }
}

fn value(e: &Expr) -> Option<Value> {
    match e {
        Expr::Lit(ExprLit { lit: Lit::Bool(b), .. }) => Some(Value::Bool(b.value)),
        Expr::Lit(_) => int(e).map(Value::Int),
        Expr::Tuple(t) if t.elems.len() == 2 => Some(Value::Grid(CoreCoord::new(int(&t.elems[0])?, int(&t.elems[1])?))),
        Expr::Array(a) if a.elems.len() == 2 => Some(Value::Grid(CoreCoord::new(int(&a.elems[0])?, int(&a.elems[1])?))),
        _ => None,
    }
}

/// Parses `expr` as a forced program config; errors go to `cx`.
pub fn parse_forced(cx: &Ctxt, expr: &Expr) -> Option<ForcedConfig> {
    let Expr::Struct(ExprStruct { path, fields, rest, .. }) = expr else {
        cx.error_spanned_by(expr, Diag::ProgramConfigSyntax.with("`program_config` takes a TT-NN program config struct literal, e.g. `MatmulMultiCoreReuseMultiCast1DProgramConfig { compute_with_storage_grid_size: (8, 8), in0_block_w: 4, … }`"));
        return None;
    };
    let name = path.segments.last().map(|s| s.ident.to_string()).unwrap_or_default();
    let Some(&(_, kind, required, optional)) = FAMILIES.iter().find(|f| f.0 == name) else {
        cx.error_spanned_by(
            path,
            Diag::UnknownProgramConfig.with(format!(
                "`{name}` is not a TT-NN matmul program config; fix: use one of {}",
                FAMILIES.iter().map(|f| format!("`{}`", f.0)).collect::<Vec<_>>().join(", ")
            )),
        );
        return None;
    };
    if let Some(rest) = rest {
        cx.error_spanned_by(rest, Diag::ProgramConfigSyntax.with("`..` is not allowed: write every field"));
    }
    let mut values: BTreeMap<String, Value> = BTreeMap::new();
    let mut field_spans = BTreeMap::new();
    let mut ok = true;
    for f in fields {
        let Member::Named(ident) = &f.member else {
            cx.error_spanned_by(&f.member, Diag::ProgramConfigSyntax.with("fields are named"));
            ok = false;
            continue;
        };
        let fname = ident.to_string();
        if !required.contains(&fname.as_str()) && !optional.contains(&fname.as_str()) {
            let all: Vec<String> = required.iter().chain(optional).map(|f| format!("`{f}`")).collect();
            cx.error_spanned_by(
                ident,
                Diag::UnknownProgramConfigField.with(format!(
                    "`{fname}` is not a field of `{name}`{}",
                    if all.is_empty() { String::new() } else { format!("; fix: use {}", all.join(", ")) }
                )),
            );
            ok = false;
            continue;
        }
        let expected_grid = fname == "compute_with_storage_grid_size";
        let expected_bool = matches!(fname.as_str(), "transpose_mcast" | "fuse_batch" | "mcast_in0");
        match value(&f.expr) {
            Some(Value::Grid(g)) if expected_grid => {
                values.insert(fname.clone(), Value::Grid(g));
            }
            Some(Value::Bool(b)) if expected_bool => {
                values.insert(fname.clone(), Value::Bool(b));
            }
            Some(Value::Int(i)) if !expected_grid && !expected_bool => {
                values.insert(fname.clone(), Value::Int(i));
            }
            _ => {
                let want = if expected_grid {
                    "a grid `(x, y)`"
                } else if expected_bool {
                    "`true` or `false`"
                } else {
                    "an integer literal"
                };
                cx.error_spanned_by(&f.expr, Diag::ProgramConfigSyntax.with(format!("`{fname}` takes {want}")));
                ok = false;
                continue;
            }
        }
        field_spans.insert(fname, f.expr.span());
    }
    for r in required {
        if !values.contains_key(*r) && ok {
            cx.error_spanned_by(
                path,
                Diag::MissingProgramConfigField.with(format!("`{name}` needs `{r}`; fix: add `{r}: …`")),
            );
            ok = false;
        }
    }
    if !ok {
        return None;
    }
    let n = |k: &str| match values.get(k) {
        Some(Value::Int(i)) => Some(*i),
        _ => None,
    };
    let b = |k: &str, d: bool| match values.get(k) {
        Some(Value::Bool(v)) => *v,
        _ => d,
    };
    let grid = match values.get("compute_with_storage_grid_size") {
        Some(Value::Grid(g)) => *g,
        _ => CoreCoord::new(0, 0),
    };
    let (pm, pn) = (n("per_core_M").unwrap_or(0), n("per_core_N").unwrap_or(0));
    let config = match kind() {
        Kind::MultiCore => MatmulProgramConfig::MultiCore(MatmulMultiCoreProgramConfig {}),
        Kind::Reuse => MatmulProgramConfig::Reuse(MatmulMultiCoreReuseProgramConfig {
            compute_with_storage_grid_size: grid,
            in0_block_w: n("in0_block_w").unwrap_or(0),
            out_subblock_h: n("out_subblock_h").unwrap_or(0),
            out_subblock_w: n("out_subblock_w").unwrap_or(0),
            per_core_M: pm,
            per_core_N: pn,
        }),
        Kind::MultiCast2D => MatmulProgramConfig::MultiCast2D(MatmulMultiCoreReuseMultiCastProgramConfig {
            compute_with_storage_grid_size: grid,
            in0_block_w: n("in0_block_w").unwrap_or(0),
            out_subblock_h: n("out_subblock_h").unwrap_or(0),
            out_subblock_w: n("out_subblock_w").unwrap_or(0),
            out_block_h: n("out_block_h").unwrap_or(pm),
            out_block_w: n("out_block_w").unwrap_or(pn),
            per_core_M: pm,
            per_core_N: pn,
            transpose_mcast: b("transpose_mcast", false),
            fused_activation: None,
            fuse_batch: b("fuse_batch", true),
        }),
        Kind::MultiCast1D => MatmulProgramConfig::MultiCast1D(MatmulMultiCoreReuseMultiCast1DProgramConfig {
            compute_with_storage_grid_size: grid,
            in0_block_w: n("in0_block_w").unwrap_or(0),
            out_subblock_h: n("out_subblock_h").unwrap_or(0),
            out_subblock_w: n("out_subblock_w").unwrap_or(0),
            out_block_h: n("out_block_h").unwrap_or(pm),
            out_block_w: n("out_block_w").unwrap_or(pn),
            per_core_M: pm,
            per_core_N: pn,
            fuse_batch: b("fuse_batch", true),
            fused_activation: None,
            mcast_in0: b("mcast_in0", true),
        }),
        Kind::DramSharded => MatmulProgramConfig::DramSharded(MatmulMultiCoreReuseMultiCastDRAMShardedProgramConfig {
            in0_block_w: n("in0_block_w").unwrap_or(0),
            per_core_M: pm,
            per_core_N: pn,
            fused_activation: None,
        }),
    };
    Some(ForcedConfig { config, field_spans })
}

/// The program-config field a broken rule is about, to point the error at it.
pub fn field_for_rule(rule: tttv2_core::rules::Rule) -> Option<&'static str> {
    use tttv2_core::rules::Rule;
    Some(match rule {
        Rule::SubblockFitsDest | Rule::ShardedOutputSubblock => "out_subblock_w",
        Rule::In0BlockWDividesK => "in0_block_w",
        Rule::GridFitsDevice => "compute_with_storage_grid_size",
        Rule::Mcast1dWholeM | Rule::DramShardedSingleTileRow => "per_core_M",
        Rule::ReuseFullWidth | Rule::OutputBlocksFitCores => "per_core_N",
        _ => return None,
    })
}
