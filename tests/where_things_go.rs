//! README's "Where things go", checked: every TT-NN call a plan can hold reaches every layer an op
//! must have — its planner (a plan holds it), its emit arm in codegen, its `tttv2::ops` function,
//! the `cxx` bridge declaration, the shim header, the host backend's kernel, the TT-NN backend's
//! call and the TT-NN replay's runner. An op added to one layer and forgotten in another fails
//! here with the file to edit.

use std::collections::BTreeMap;
use std::path::PathBuf;

use tttv2::hf::LlamaConfig;
use tttv2::plan::Mode;
use tttv2::plan::Policy;
use tttv2::plan::llama::{LlamaOptions, plan_llama};
use tttv2::program::{Call, PlannedOp};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(root().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// The variant's name. The match is exhaustive: a new `Call` variant fails to compile here until
/// it is named, and `EVERY_VARIANT` (checked against it) lists it.
fn variant(call: &Call) -> &'static str {
    match call {
        Call::Embedding { .. } => "Embedding",
        Call::Reshape { .. } => "Reshape",
        Call::ToMemoryConfig { .. } => "ToMemoryConfig",
        Call::RmsNorm { .. } => "RmsNorm",
        Call::Linear(_) => "Linear",
        Call::NlpCreateQkvHeads { .. } => "NlpCreateQkvHeads",
        Call::NlpCreateQkvHeadsDecode { .. } => "NlpCreateQkvHeadsDecode",
        Call::RotaryEmbeddingLlama { .. } => "RotaryEmbeddingLlama",
        Call::Typecast { .. } => "Typecast",
        Call::FillCache => "FillCache",
        Call::PagedUpdateCache => "PagedUpdateCache",
        Call::ScaledDotProductAttention { .. } => "ScaledDotProductAttention",
        Call::ScaledDotProductAttentionDecode { .. } => "ScaledDotProductAttentionDecode",
        Call::NlpConcatHeads { .. } => "NlpConcatHeads",
        Call::NlpConcatHeadsDecode { .. } => "NlpConcatHeadsDecode",
        Call::Add { .. } => "Add",
        Call::Multiply { .. } => "Multiply",
        Call::SliceLastToken { .. } => "SliceLastToken",
        Call::AllReduce { .. } => "AllReduce",
        Call::AllGather { .. } => "AllGather",
    }
}

/// Every variant of `Call`, the list the layers are checked for.
const EVERY_VARIANT: &[&str] = &[
    "Embedding",
    "Reshape",
    "ToMemoryConfig",
    "RmsNorm",
    "Linear",
    "NlpCreateQkvHeads",
    "NlpCreateQkvHeadsDecode",
    "RotaryEmbeddingLlama",
    "Typecast",
    "FillCache",
    "PagedUpdateCache",
    "ScaledDotProductAttention",
    "ScaledDotProductAttentionDecode",
    "NlpConcatHeads",
    "NlpConcatHeadsDecode",
    "Add",
    "Multiply",
    "SliceLastToken",
    "AllReduce",
    "AllGather",
];

/// Collectives are planned for multi-chip systems but not executed (README: multi-chip plans
/// carry their manifest only): they have a planner and nothing below it yet.
const NOT_EXECUTABLE: &[&str] = &["AllReduce", "AllGather"];

/// The ops of every step a single-chip user can run (decode with its prefill buckets, prefill,
/// both policies, a Qwen2 with its bias) and of a T3K plan for the collectives: one op per
/// variant, with the TT-NN names the plans give it.
fn planned_ops() -> BTreeMap<&'static str, (PlannedOp, Vec<&'static str>)> {
    let mut seen: BTreeMap<&'static str, (PlannedOp, Vec<&'static str>)> = BTreeMap::new();
    let configs = ["models/small-llama/config.json", "tests/models/tiny-qwen2/config.json"];
    let systems = ["n150", "t3k"];
    for config in configs {
        let cfg = LlamaConfig::from_file(root().join(config)).unwrap();
        for system in systems {
            let system = tttv2::device::SystemProfile::by_name(system).unwrap();
            for (mode, batch) in [(Mode::Decode, 4), (Mode::Prefill, 1)] {
                for policy in [Policy::Accuracy, Policy::Performance] {
                    let mut opts = LlamaOptions::new(mode, batch);
                    opts.seq_len = 256;
                    opts.policy = policy;
                    let Ok(plan) = plan_llama(&cfg, &system, &opts) else { continue };
                    for op in plan.ops {
                        let entry = seen.entry(variant(&op.call)).or_insert_with(|| (op.clone(), Vec::new()));
                        if !entry.1.contains(&op.ttnn_op()) {
                            entry.1.push(op.ttnn_op());
                        }
                    }
                }
            }
        }
    }
    seen
}

/// The bridge function `tttv2::ops::{op_fn}` calls (`ffi::sdpa` for
/// `scaled_dot_product_attention`).
fn bridge_fn(sys_ops: &str, op_fn: &str) -> Option<String> {
    let at = sys_ops.find(&format!("pub fn {op_fn}("))?;
    let after = &sys_ops[at..];
    let end = after[1..].find("\npub fn ").map_or(after.len(), |e| e + 1);
    let body = &after[..end];
    let call = body.find("ffi::")? + "ffi::".len();
    Some(body[call..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect())
}

/// Whether a C++ source defines (or the header declares) `name`: a line that starts with a
/// return type and names the function before its parameters.
fn cpp_has(source: &str, name: &str) -> bool {
    source.lines().any(|l| {
        (l.starts_with("std::unique_ptr<Tensor> ") || l.starts_with("void ") || l.starts_with("QkvHeads "))
            && l.contains(&format!(" {name}("))
    })
}

#[test]
fn every_planned_call_has_every_layer_of_an_op() {
    let planned = planned_ops();
    let emit = read("tttv2-codegen/src/program.rs");
    let sys_ops = read("tttv2-sys/src/ops.rs");
    let bridge = read("tttv2-sys/src/bridge.rs");
    let shim = read("tttv2-sys/include/tttv2/shim.h");
    let host: String = ["ops_eltwise.cc", "ops_matmul.cc", "ops_tensor.cc", "ops_transformer.cc"]
        .iter()
        .map(|f| read(&format!("tttv2-sys/cpp/host/{f}")))
        .collect();
    let ttnn = read("tttv2-sys/cpp/ttnn/ops.cc");
    let replay = read("tools/ttnn-replay/replay.py");

    let mut missing = Vec::new();
    for name in planned.keys() {
        assert!(EVERY_VARIANT.contains(name), "Call::{name} is planned but missing from EVERY_VARIANT");
    }
    for &name in EVERY_VARIANT {
        let Some((op, ttnn_names)) = planned.get(name) else {
            missing.push(format!("Call::{name}: no plan holds it (its planner: tttv2-core/src/plan/llama/ops.rs)"));
            continue;
        };
        if NOT_EXECUTABLE.contains(&name) {
            continue;
        }
        if !emit.contains(&format!("Call::{name}")) {
            missing.push(format!("Call::{name}: no emit arm in tttv2-codegen/src/program.rs"));
        }
        let op_fn = op.call.op_fn();
        let Some(ffi) = bridge_fn(&sys_ops, op_fn) else {
            missing.push(format!("Call::{name}: no `pub fn {op_fn}` calling the bridge in tttv2-sys/src/ops.rs"));
            continue;
        };
        if !bridge.contains(&format!("fn {ffi}(")) {
            missing.push(format!("Call::{name}: `fn {ffi}` not declared in tttv2-sys/src/bridge.rs"));
        }
        for (file, text) in [
            ("tttv2-sys/include/tttv2/shim.h", &shim),
            ("tttv2-sys/cpp/host/ops_*.cc", &host),
            ("tttv2-sys/cpp/ttnn/ops.cc", &ttnn),
        ] {
            if !cpp_has(text, &ffi) {
                missing.push(format!("Call::{name}: `{ffi}` not in {file}"));
            }
        }
        for t in ttnn_names {
            if !replay.contains(&format!("\"{t}\": run_")) {
                missing.push(format!("Call::{name}: {t} has no runner in tools/ttnn-replay/replay.py (RUNNERS)"));
            }
        }
    }
    assert!(missing.is_empty(), "an op is missing a layer (README \"Where things go\"):\n{}", missing.join("\n"));
}

/// The checks above can fail: a name that no layer has is reported for each of them.
#[test]
fn the_layer_checks_find_a_missing_name() {
    assert_eq!(bridge_fn(&read("tttv2-sys/src/ops.rs"), "no_such_op"), None);
    assert!(!cpp_has(&read("tttv2-sys/include/tttv2/shim.h"), "no_such_op"));
    assert!(cpp_has(&read("tttv2-sys/include/tttv2/shim.h"), "sdpa_decode"));
    assert_eq!(bridge_fn(&read("tttv2-sys/src/ops.rs"), "scaled_dot_product_attention").as_deref(), Some("sdpa"));
}
