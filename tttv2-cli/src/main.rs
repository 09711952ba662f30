//! `tttv2`: command-line access to the compile-time optimizer.
//!
//! ```text
//! tttv2 plan --config <config.json> --device n150 --mode decode --batch 32 [--seq-len N]
//!            [--policy accuracy|performance] [--optimize-for latency|throughput]
//!            [--memory-budget <bytes>|<n>GB|<n>GiB|unlimited] [--override <spec>]... [--json]
//!
//! tttv2 graph <same options> [--dot]     the compute graph as JSON, or Graphviz DOT
//!
//! tttv2 generate <same options> [--name <StructName>] [--tttv2-path <dir>] --out <dir>
//!                                        the model as a standalone crate (Cargo.toml, src/lib.rs)
//! ```
//!
//! `plan --json` prints the deployment manifest: the plan plus the hardware requirements, the
//! tt-metal commit and a fingerprint.
//!
//! Exit codes: 0 success, 1 the model cannot be planned (the message names the rule), 2 bad
//! arguments or an unreadable / invalid config file.

use std::process::ExitCode;

use tttv2_core::device::SystemProfile;
use tttv2_core::hf::LlamaConfig;
use tttv2_core::plan::Mode;
use tttv2_core::plan::Policy;
use tttv2_core::plan::llama::{LayerOverride, LlamaOptions, LlamaPlan, OptimizeFor, WeightGroup, plan_llama};
use tttv2_core::ttnn::{DataType, MathFidelity, MatmulProgramConfig, OpProgramConfig};

const USAGE: &str = "usage: tttv2 plan --config <config.json> --device <n150|n300|t3k|galaxy|p150|p100|e150> --mode <decode|prefill> --batch <N>
                  [--seq-len <N>] [--policy <accuracy|performance>] [--optimize-for <latency|throughput>]
                  [--memory-budget <bytes|<n>GB|<n>GiB|unlimited>] [--override <spec>]... [--json]

  --seq-len        prefill: prompt length; decode: positions in the KV cache (default 128)
  --memory-budget  DRAM bytes per chip for weights + KV cache (default: the chip's DRAM)
  --override       <group>[@<first>-<last>|@<layer>]=<dtype>[:<fidelity>], group one of
                   wqkv, wo, w1w3, w2, lm_head; e.g. w1w3@0-3=bf16:hifi4
  --layers <N>     table only: show the ops of the first N decoder layers (default: all)
  --json           print the deployment manifest (plan + requirements) as JSON instead of a table

       tttv2 graph <the same options> [--dot]
  --dot            print the compute graph as Graphviz DOT instead of JSON

       tttv2 generate <the same options> [--name <StructName>] [--tttv2-path <dir>] --out <dir>
  --out            directory to write Cargo.toml and src/lib.rs to (created if missing)
  --name           the generated struct's name (default: from the config's directory)
  --tttv2-path     depend on tttv2 by path (relative to --out) instead of by version
  --seq-len <A..=B> generate only, prefill: plan for B and state the time of each
                   power-of-two bucket in A..=B";

struct Args {
    /// `plan`, `graph` or `generate`.
    command: Command,
    graph: bool,
    dot: bool,
    config: String,
    device: String,
    opts: LlamaOptions,
    json: bool,
    layers: Option<u32>,
    /// `generate`: prefill bucket range given as `--seq-len A..=B`.
    seq_range: Option<(u32, u32)>,
    name: Option<String>,
    out: Option<String>,
    tttv2_path: Option<String>,
    /// `generate`: the arguments that regenerate the output, i.e. all but `--out <dir>`.
    regenerate: Vec<String>,
}

#[derive(Clone, Copy, PartialEq)]
enum Command {
    Plan,
    Graph,
    Generate,
}

fn bad(msg: impl std::fmt::Display) -> String {
    format!("error: {msg}\n{USAGE}")
}

fn parse_u32(flag: &str, v: &str) -> Result<u32, String> {
    v.parse::<u32>().ok().filter(|n| *n > 0).ok_or_else(|| bad(format!("{flag} expects a positive integer, got `{v}`")))
}

fn parse_bytes(v: &str) -> Result<Option<u64>, String> {
    if v == "unlimited" {
        return Ok(None);
    }
    let (num, mult) = if let Some(n) = v.strip_suffix("GiB") {
        (n, 1u64 << 30)
    } else if let Some(n) = v.strip_suffix("GB") {
        (n, 1_000_000_000)
    } else if let Some(n) = v.strip_suffix("MiB") {
        (n, 1 << 20)
    } else if let Some(n) = v.strip_suffix("MB") {
        (n, 1_000_000)
    } else {
        (v, 1)
    };
    let x: f64 = num.trim().parse().map_err(|_| bad(format!("--memory-budget expects bytes, <n>GB, <n>GiB or `unlimited`, got `{v}`")))?;
    if !(x.is_finite() && x > 0.0) {
        return Err(bad(format!("--memory-budget must be positive, got `{v}`")));
    }
    Ok(Some((x * mult as f64) as u64))
}

fn parse_override(v: &str) -> Result<LayerOverride, String> {
    let err = || bad(format!("--override expects <group>[@<first>-<last>]=<dtype>[:<fidelity>], got `{v}`"));
    let (lhs, rhs) = v.split_once('=').ok_or_else(err)?;
    let (group, layers) = match lhs.split_once('@') {
        Some((g, r)) => {
            let (a, b) = r.split_once('-').unwrap_or((r, r));
            let a: u32 = a.parse().map_err(|_| err())?;
            let b: u32 = b.parse().map_err(|_| err())?;
            if a > b {
                return Err(err());
            }
            (g, Some((a, b)))
        }
        None => (lhs, None),
    };
    let group = WeightGroup::parse(group).ok_or_else(|| bad(format!("unknown weight group `{group}` (wqkv, wo, w1w3, w2, lm_head)")))?;
    let (dt, fid) = match rhs.split_once(':') {
        Some((d, f)) => (d, Some(f)),
        None => (rhs, None),
    };
    let dtype = if dt.is_empty() { None } else { Some(DataType::parse(dt).ok_or_else(|| bad(format!("unknown dtype `{dt}`")))?) };
    let math_fidelity = match fid {
        Some(f) => Some(MathFidelity::parse(f).ok_or_else(|| bad(format!("unknown math fidelity `{f}` (lofi, hifi2, hifi3, hifi4)")))?),
        None => None,
    };
    Ok(LayerOverride { layers, group, dtype, math_fidelity })
}

/// `N`, or `A..=B` (generate only).
fn parse_seq_len(v: &str, range_ok: bool) -> Result<(u32, u32), String> {
    match v.split_once("..=") {
        Some((a, b)) if range_ok => {
            let (a, b) = (parse_u32("--seq-len", a)?, parse_u32("--seq-len", b)?);
            if a > b {
                return Err(bad(format!("--seq-len range `{v}` is empty")));
            }
            Ok((a, b))
        }
        Some(_) => Err(bad("--seq-len takes a range `A..=B` only with `generate`")),
        None => parse_u32("--seq-len", v).map(|n| (n, n)),
    }
}

fn parse_args(mut it: impl Iterator<Item = String>) -> Result<Args, String> {
    let command = match it.next().as_deref() {
        Some("plan") => Command::Plan,
        Some("graph") => Command::Graph,
        Some("generate") => Command::Generate,
        Some("-h" | "--help") | None => return Err(USAGE.to_string()),
        Some(other) => return Err(bad(format!("unknown command `{other}`"))),
    };
    let graph = command == Command::Graph;
    let generate = command == Command::Generate;
    let (mut seq_range, mut name, mut out, mut tttv2_path) = (None, None, None, None);
    let mut regenerate = vec!["generate".to_owned()];
    let mut dot = false;
    let (mut config, mut device, mut mode, mut batch) = (None, None, None, None);
    let mut opts = LlamaOptions::new(Mode::Decode, 1);
    let mut json = false;
    let mut layers = None;
    while let Some(flag) = it.next() {
        let mut value = |f: &str| {
            let v = it.next().ok_or_else(|| bad(format!("{f} needs a value")))?;
            if f != "--out" {
                regenerate.extend([f.to_owned(), v.clone()]);
            }
            Ok::<String, String>(v)
        };
        match flag.as_str() {
            "--config" => config = Some(value("--config")?),
            "--device" => device = Some(value("--device")?),
            "--mode" => {
                let v = value("--mode")?;
                mode = Some(match v.as_str() {
                    "decode" => Mode::Decode,
                    "prefill" => Mode::Prefill,
                    _ => return Err(bad(format!("--mode expects decode or prefill, got `{v}`"))),
                });
            }
            "--batch" => batch = Some(parse_u32("--batch", &value("--batch")?)?),
            "--seq-len" => {
                let (lo, hi) = parse_seq_len(&value("--seq-len")?, generate)?;
                opts.seq_len = hi;
                seq_range = (lo != hi).then_some((lo, hi));
            }
            "--name" if generate => name = Some(value("--name")?),
            "--out" if generate => out = Some(value("--out")?),
            "--tttv2-path" if generate => tttv2_path = Some(value("--tttv2-path")?),
            "--policy" => {
                let v = value("--policy")?;
                opts.policy = Policy::parse(&v).ok_or_else(|| bad(format!("--policy expects accuracy or performance, got `{v}`")))?;
            }
            "--optimize-for" => {
                let v = value("--optimize-for")?;
                opts.optimize_for = OptimizeFor::parse(&v).ok_or_else(|| bad(format!("--optimize-for expects latency or throughput, got `{v}`")))?;
            }
            "--memory-budget" => opts.memory_budget = parse_bytes(&value("--memory-budget")?)?.or(Some(u64::MAX)),
            "--override" => opts.overrides.push(parse_override(&value("--override")?)?),
            "--json" => json = true,
            "--dot" if graph => dot = true,
            "--layers" => {
                let v = value("--layers")?;
                layers = Some(v.parse::<u32>().map_err(|_| bad(format!("--layers expects a number, got `{v}`")))?);
            }
            "-h" | "--help" => return Err(USAGE.to_string()),
            other => return Err(bad(format!("unknown argument `{other}`"))),
        }
    }
    if generate && out.is_none() {
        return Err(bad("--out is required"));
    }
    opts.mode = mode.ok_or_else(|| bad("--mode is required"))?;
    opts.batch = batch.ok_or_else(|| bad("--batch is required"))?;
    Ok(Args {
        command,
        graph,
        dot,
        config: config.ok_or_else(|| bad("--config is required"))?,
        device: device.ok_or_else(|| bad("--device is required"))?,
        opts,
        json,
        layers,
        seq_range,
        name,
        out,
        tttv2_path,
        regenerate,
    })
}

fn program_summary(pc: &Option<OpProgramConfig>) -> String {
    match pc {
        None => "-".into(),
        Some(OpProgramConfig::Matmul(m)) => match m {
            MatmulProgramConfig::MultiCore(_) => "MultiCore".into(),
            MatmulProgramConfig::Reuse(p) => format!("Reuse pcM{} pcN{} w{}", p.per_core_M, p.per_core_N, p.in0_block_w),
            MatmulProgramConfig::MultiCast2D(p) => format!(
                "2D {}x{} pcM{} pcN{} w{} sb{}x{}",
                p.compute_with_storage_grid_size.x, p.compute_with_storage_grid_size.y, p.per_core_M, p.per_core_N, p.in0_block_w, p.out_subblock_h, p.out_subblock_w
            ),
            MatmulProgramConfig::MultiCast1D(p) => format!(
                "1D {} pcM{} pcN{} w{} sb{}x{}",
                if p.mcast_in0 { "wide" } else { "tall" }, p.per_core_M, p.per_core_N, p.in0_block_w, p.out_subblock_h, p.out_subblock_w
            ),
            MatmulProgramConfig::DramSharded(p) => format!("DRAMSharded pcN{} w{}", p.per_core_N, p.in0_block_w),
        },
        Some(OpProgramConfig::LayerNorm(tttv2_core::ttnn::LayerNormProgramConfig::Default(_))) => "LNDefault".into(),
        Some(OpProgramConfig::LayerNorm(tttv2_core::ttnn::LayerNormProgramConfig::Sharded(p))) => format!("LNSharded bw{} sbw{}", p.block_w, p.subblock_w),
        Some(OpProgramConfig::Sdpa(tttv2_core::ttnn::TaggedSdpa::Config(p))) => format!("SDPA q{} k{}", p.q_chunk_size, p.k_chunk_size),
    }
}

fn table(plan: &LlamaPlan, layers: Option<u32>) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let o = &plan.options;
    let _ = writeln!(
        s,
        "{} on {} (chip {}, mesh {}x{}): {:?}, batch {}, seq_len {}, policy {:?}, optimize_for {:?}",
        "LlamaForCausalLM", plan.system, plan.chip, plan.mesh.0, plan.mesh.1, o.mode, o.batch, o.seq_len, o.policy, o.optimize_for
    );
    let _ = writeln!(s, "parallelism: {}", plan.parallelism);
    let _ = writeln!(s, "{:<40} {:<18} {:>16} {:<34} {:<10} {:<6} {:>9} {:>10}", "op", "kind", "m x k x n", "program config", "weight", "fid", "L1 KiB", "est us");
    let mut hidden = 0;
    for op in &plan.ops {
        if let (Some(limit), Some(l)) = (layers, op.layer) {
            if l >= limit {
                hidden += 1;
                continue;
            }
        }
        let mkn = match (op.shapes.m, op.shapes.k, op.shapes.n) {
            (Some(m), Some(k), Some(n)) => format!("{m}x{k}x{n}"),
            _ => String::new(),
        };
        let w = op.dtypes.get("weight").filter(|_| !op.weights.is_empty()).map_or("-", |d| d.ttnn_name());
        let fid = op.compute_kernel_config.map_or("-".to_string(), |c| format!("{:?}", c.math_fidelity));
        let _ = writeln!(
            s,
            "{:<40} {:<18} {:>16} {:<34} {:<10} {:<6} {:>9.1} {:>10.2}",
            op.name,
            format!("{:?}", op.op),
            mkn,
            program_summary(&op.program_config),
            w,
            fid,
            op.l1_peak_bytes_per_core as f64 / 1024.0,
            op.estimate_us
        );
    }
    if hidden > 0 {
        let _ = writeln!(s, "... {hidden} ops of layers {}.. not shown (identical configs per layer unless overridden)", layers.unwrap_or(0));
    }
    let t = &plan.totals;
    let _ = writeln!(s, "\ntotals: {} ops, {:.1} us per call, {:.1} tokens/s/user, {:.1} tokens/s", t.ops, t.estimate_us, t.tokens_per_s_per_user, t.tokens_per_s);
    let _ = writeln!(
        s,
        "memory per chip: weights {:.2} GiB + KV cache {:.2} GiB of budget {:.2} GiB; peak L1 {:.1} KiB/core",
        t.weight_bytes_per_chip as f64 / (1u64 << 30) as f64,
        t.kv_cache_bytes_per_chip as f64 / (1u64 << 30) as f64,
        t.memory_budget_bytes as f64 / (1u64 << 30) as f64,
        t.l1_peak_bytes_per_core as f64 / 1024.0
    );
    let _ = writeln!(
        s,
        "DRAM roofline: {:.2} GB of weights per call -> {:.1} us at peak; plan reaches {:.1} % of it",
        t.weight_bytes_read_per_call as f64 / 1e9,
        t.weight_roofline_us,
        t.roofline_fraction * 100.0
    );
    for n in &plan.notes {
        let _ = writeln!(s, "note: {n}");
    }
    s
}

/// Runs the CLI on `argv` (without the program name): exit code, stdout, stderr.
fn run(argv: Vec<String>) -> (u8, String, String) {
    let args = match parse_args(argv.into_iter()) {
        Ok(a) => a,
        Err(msg) if msg == USAGE => return (0, msg + "\n", String::new()),
        Err(msg) => return (2, String::new(), msg + "\n"),
    };
    let Some(system) = SystemProfile::by_name(&args.device) else {
        return (2, String::new(), bad(format!("unknown device `{}`; known: {}", args.device, SystemProfile::NAMES.join(", "))) + "\n");
    };
    let cfg = match LlamaConfig::from_file(&args.config) {
        Ok(c) => c,
        Err(e) => return (2, String::new(), format!("error: {e}\n")),
    };
    // The model's name: the directory holding its config.json (`models/Llama-3.1-8B`).
    let name = std::path::Path::new(&args.config)
        .parent()
        .and_then(|d| d.file_name())
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "model".to_owned());
    if args.command == Command::Generate {
        return generate(&args, &cfg, &system, &name);
    }
    match plan_llama(&cfg, &system, &args.opts) {
        Ok(plan) if args.graph => {
            let g = tttv2_core::graph::Graph::from_llama(&plan);
            if args.dot {
                (0, g.to_dot(&name), String::new())
            } else {
                match serde_json::to_string_pretty(&g) {
                    Ok(s) => (0, s + "\n", String::new()),
                    Err(e) => (1, String::new(), format!("error: cannot serialize the graph: {e}\n")),
                }
            }
        }
        Ok(plan) if args.json => (0, tttv2_core::manifest::Manifest::new(name, &plan, Vec::new()).to_json() + "\n", String::new()),
        Ok(plan) => (0, table(&plan, args.layers), String::new()),
        Err(e) => (1, String::new(), format!("error: {e}\n")),
    }
}

/// A shell word: quoted when it holds anything but the usual path and option characters.
fn shell_word(w: &str) -> String {
    if !w.is_empty() && w.chars().all(|c| c.is_ascii_alphanumeric() || "-_./=:@,+".contains(c)) {
        w.to_owned()
    } else {
        format!("'{}'", w.replace('\'', "'\\''"))
    }
}

/// `tttv2 generate`: plans, then writes `Cargo.toml` and `src/lib.rs` under `--out`.
fn generate(args: &Args, cfg: &LlamaConfig, system: &SystemProfile, model: &str) -> (u8, String, String) {
    use tttv2_codegen::generate::{GenerateOptions, Tttv2Dependency, generate_llama, package_name, struct_name};
    let out = std::path::Path::new(args.out.as_deref().expect("--out is required for generate"));
    let dir_name = out.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| model.to_owned());
    let g = GenerateOptions {
        name: args.name.clone().unwrap_or_else(|| struct_name(model)),
        package: package_name(&dir_name),
        source: args.config.clone(),
        command: std::iter::once("tttv2".to_owned()).chain(args.regenerate.iter().map(|w| shell_word(w))).collect::<Vec<_>>().join(" "),
        tttv2: match &args.tttv2_path {
            Some(p) => Tttv2Dependency::Path(p.clone()),
            None => Tttv2Dependency::Version(env!("CARGO_PKG_VERSION").to_owned()),
        },
        seq_range: args.seq_range,
    };
    let generated = match generate_llama(cfg, system, &args.opts, &g) {
        Ok(c) => c,
        Err(e @ tttv2_codegen::generate::GenerateError::Name(_)) => return (2, String::new(), bad(e) + "\n"),
        Err(e) => return (1, String::new(), format!("error: {e}\n")),
    };
    let write = || -> std::io::Result<()> {
        std::fs::create_dir_all(out.join("src"))?;
        std::fs::write(out.join("Cargo.toml"), &generated.cargo_toml)?;
        std::fs::write(out.join("manifest.json"), &generated.manifest_json)?;
        std::fs::write(out.join("graph.json"), &generated.graph_json)?;
        std::fs::write(out.join("graph.dot"), &generated.graph_dot)?;
        std::fs::write(out.join("src/lib.rs"), &generated.lib_rs)
    };
    match write() {
        Ok(()) => (
            0,
            format!("wrote {0}/Cargo.toml and {0}/src/lib.rs (struct {1}, plan fingerprint {2})\n", out.display(), g.name, generated.fingerprint),
            String::new(),
        ),
        Err(e) => (2, String::new(), format!("error: cannot write to {}: {e}\n", out.display())),
    }
}

fn main() -> ExitCode {
    let (code, out, err) = run(std::env::args().skip(1).collect());
    // A closed pipe (`| head`) is not an error worth a panic.
    use std::io::Write;
    let _ = std::io::stdout().lock().write_all(out.as_bytes());
    let _ = std::io::stderr().lock().write_all(err.as_bytes());
    ExitCode::from(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_owned).collect()
    }

    #[test]
    fn graph_prints_dot_with_every_op_and_residuals() {
        let (code, out, err) = run(argv(&format!("graph --config {} --device n150 --mode decode --batch 32 --dot", cfg("Llama-3.2-1B"))));
        assert_eq!(code, 0, "{err}");
        assert!(out.starts_with("digraph \"Llama-3.2-1B\" {"), "{out}");
        assert_eq!(out.matches("[style=dashed, label=\"residual\"]").count(), 2 * 16, "two residual adds per layer");
        assert!(out.contains("MatmulMultiCoreReuseMultiCastDRAMShardedProgramConfig"));
    }

    #[test]
    fn plan_json_is_the_manifest() {
        let (code, out, _) = run(argv(&format!("plan --config {} --device n150 --mode decode --batch 32 --json", cfg("Llama-3.2-1B"))));
        assert_eq!(code, 0);
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["name"], "Llama-3.2-1B");
        assert_eq!(v["tt_metal_commit"], tttv2_core::ttnn::TT_METAL_COMMIT);
        assert!(v["requirements"]["dram"]["weights"].as_u64().unwrap() > 0);
        assert_eq!(v["fingerprint"].as_str().unwrap().len(), 16);
        assert!(v["ops"].as_array().unwrap().len() > 100);
    }

    fn cfg(name: &str) -> String {
        format!("{}/../models/{name}/config.json", env!("CARGO_MANIFEST_DIR"))
    }

    #[test]
    fn json_is_byte_identical_across_runs() {
        let cmd = format!("plan --config {} --device n150 --mode decode --batch 32 --policy performance --json", cfg("Llama-3.1-8B"));
        let (c1, a, _) = run(argv(&cmd));
        let (c2, b, _) = run(argv(&cmd));
        assert_eq!((c1, c2), (0, 0));
        assert_eq!(a, b);
        let v: serde_json::Value = serde_json::from_str(&a).unwrap();
        // embedding, reshape, to_memory_config, attention_norm, then the fused QKV matmul.
        assert_eq!(v["ops"][4]["weights"][0], "model.layers.0.self_attn.q_proj.weight");
        assert!(v["totals"]["estimate_us"].as_f64().unwrap() > 0.0);
    }

    #[test]
    fn bad_arguments_and_files_exit_2() {
        let c = cfg("Llama-3.2-1B");
        for bad_cmd in [
            "".to_string(),
            "frobnicate".to_string(),
            format!("plan --config {c} --device h100 --mode decode --batch 1"),
            format!("plan --config {c} --device n150 --mode sideways --batch 1"),
            format!("plan --config {c} --device n150 --mode decode --batch 0"),
            format!("plan --config {c} --device n150 --mode decode"),
            format!("plan --config {c} --device n150 --mode decode --batch 1 --override w9=bf16"),
            "plan --config /nonexistent/config.json --device n150 --mode decode --batch 1".to_string(),
            format!("plan --config {} --device n150 --mode decode --batch 1", env!("CARGO_MANIFEST_DIR").to_string() + "/Cargo.toml"),
        ] {
            let (code, out, err) = run(argv(&bad_cmd));
            if bad_cmd.is_empty() {
                assert_eq!(code, 0, "no arguments prints the usage");
                assert!(out.contains("usage"));
                continue;
            }
            assert_eq!(code, 2, "{bad_cmd}: {err}");
            assert!(err.starts_with("error: "), "{err}");
        }
    }

    #[test]
    fn generate_writes_a_crate_and_checks_its_arguments() {
        let c = cfg("Llama-3.2-1B");
        let out = std::env::temp_dir().join(format!("tttv2-cli-generate-{}", std::process::id())).join("llama_1b_n150");
        let (code, msg, err) = run(argv(&format!("generate --config {c} --device n150 --mode decode --batch 32 --out {}", out.display())));
        assert_eq!(code, 0, "{err}");
        assert!(msg.contains("struct Llama3_2_1B"), "{msg}");
        let lib = std::fs::read_to_string(out.join("src/lib.rs")).unwrap();
        // A single-chip decode plan of ≤ 32 users is runnable: the struct holds the weights, the
        // decode program is emitted op by op, its configs in the plan module.
        assert!(lib.contains("pub struct Llama3_2_1B {") && lib.contains("fn decode_layer(") && lib.contains("pub mod decode {"), "decode plans generate runnable code");
        assert!(out.join("manifest.json").exists() && lib.contains("include_str!(\"../manifest.json\")"), "the manifest sits beside the source");
        assert!(lib.contains(&format!("//     tttv2 generate --config {c} --device n150 --mode decode --batch 32 --out <this directory>")));
        let toml = std::fs::read_to_string(out.join("Cargo.toml")).unwrap();
        assert!(toml.contains("name = \"llama_1b_n150\"") && toml.contains(&format!("version = \"{}\"", env!("CARGO_PKG_VERSION"))), "{toml}");
        let _ = std::fs::remove_dir_all(out.parent().unwrap());
        for bad_cmd in [
            format!("generate --config {c} --device n150 --mode decode --batch 32"),
            format!("generate --config {c} --device n150 --mode decode --batch 32 --name 9lives --out /tmp/x"),
            format!("plan --config {c} --device n150 --mode prefill --batch 1 --seq-len 128..=256"),
            format!("plan --config {c} --device n150 --mode prefill --batch 1 --out /tmp/x"),
        ] {
            let (code, _, err) = run(argv(&bad_cmd));
            assert_eq!(code, 2, "{bad_cmd}: {err}");
        }
        assert_eq!(shell_word("a b"), "'a b'");
        assert_eq!(shell_word("models/x.json"), "models/x.json");
    }

    #[test]
    fn unplannable_models_exit_1_naming_the_rule() {
        let (code, _, err) = run(argv(&format!("plan --config {} --device n150 --mode decode --batch 32", cfg("Llama-3.1-70B"))));
        assert_eq!(code, 1);
        assert!(err.contains("[memory-budget]") && err.contains("short by"), "{err}");
    }

    #[test]
    fn table_and_options_parse() {
        let (code, out, _) = run(argv(&format!(
            "plan --config {} --device t3k --mode prefill --batch 1 --seq-len 256 --policy accuracy --optimize-for throughput --memory-budget 10GiB --override w1w3@0-1=bfp8:hifi2 --layers 1",
            cfg("Llama-3.2-1B")
        )));
        assert_eq!(code, 0);
        assert!(out.contains("layers.0.mlp.w1") && !out.contains("layers.1.mlp.w1"), "{out}");
        assert!(out.contains("totals:"));
        let o = parse_override("w2@3=bf16").unwrap();
        assert_eq!((o.layers, o.group, o.dtype), (Some((3, 3)), WeightGroup::W2, Some(DataType::Bfloat16)));
        assert_eq!(parse_bytes("2GB").unwrap(), Some(2_000_000_000));
        assert_eq!(parse_bytes("1GiB").unwrap(), Some(1 << 30));
        assert!(parse_bytes("lots").is_err());
    }
}
