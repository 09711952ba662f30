//! `tttv2`: command-line access to the compile-time optimizer.
//!
//! ```text
//! tttv2 plan --config <config.json|model.gguf> [--device n150] [--mode decode] [--batch 1] [--seq-len N]
//!            [--policy accuracy|performance] [--optimize-for latency|throughput]
//!            [--memory-budget <bytes>|<n>GB|<n>GiB|unlimited] [--override <spec>]... [--json]
//! tttv2 graph <same options> [--dot]     the compute graph as JSON, or Graphviz DOT
//! tttv2 generate <same options> [--name <StructName>] [--tttv2-path <dir>] --out <dir>
//!                                        the model as a standalone crate (Cargo.toml, src/lib.rs)
//! tttv2 new <name> --config <hf-dir> [--device ..] [--batch ..] [--seq-len ..] [--tttv2-path <dir>]
//!                                        a crate that chats with the model: `cargo run --release --
//!                                        --weights <hf-dir> --prompt "..."`
//! ```
//!
//! `--config` takes a Hugging Face config.json (or its directory) or a GGUF file (llama.cpp's
//! format), whose header metadata holds the same hyperparameters.
//!
//! `tttv2 <command> --help` describes every option. `plan --json` prints the deployment manifest:
//! the plan plus the hardware requirements, the tt-metal commit and a fingerprint.
//!
//! Exit codes: 0 success, 1 the model cannot be planned (the message names the rule), 2 bad
//! arguments or an unreadable / invalid config file.

mod new;

use std::path::Path;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};
use tttv2_core::device::SystemProfile;
use tttv2_core::hf::LlamaConfig;
use tttv2_core::plan::Mode;
use tttv2_core::plan::Policy;
use tttv2_core::plan::llama::{LayerOverride, LlamaOptions, LlamaPlan, LlamaPlanError, OptimizeFor, plan_llama};
use tttv2_core::ttnn::{MatmulProgramConfig, OpProgramConfig};

#[derive(Parser, Debug)]
#[command(
    name = "tttv2",
    version,
    about = "Plan a Hugging Face Llama-family model for a Tenstorrent device, generate its code, or make a crate that chats with it",
    arg_required_else_help = true
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Plan the model: print every op's TT-NN configs as a table, or the deployment manifest (--json).
    Plan(PlanArgs),
    /// The compute graph of the plan, as JSON or Graphviz DOT (--dot).
    Graph(GraphArgs),
    /// Write the model's generated program as a standalone crate (Cargo.toml, src/lib.rs, manifest).
    Generate(GenerateArgs),
    /// Write a crate that chats with a Hugging Face model on the host (or, with `--features ttnn`, on a device).
    New(new::NewArgs),
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum ModeArg {
    /// One token per user per step, with a KV cache.
    Decode,
    /// A whole prompt at once.
    Prefill,
}

/// What every planning command takes.
#[derive(Args, Debug)]
struct PlanOptions {
    /// The model's Hugging Face config.json (or the directory holding it), or a GGUF file
    /// (llama.cpp's format: the hyperparameters are read from its header metadata).
    #[arg(long, value_name = "CONFIG")]
    config: String,
    /// The system to plan for: n150, n300, t3k, galaxy (Wormhole B0), p150, p100 (Blackhole), e150 (Grayskull, legacy).
    #[arg(long, default_value = "n150")]
    device: String,
    /// Decode (a step of one token per user, with a KV cache) or prefill (a whole prompt).
    #[arg(long, value_enum, default_value = "decode")]
    mode: ModeArg,
    /// Users per step (decode) or prompts per call (prefill).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    batch: u32,
    /// Decode: positions in the KV cache; prefill: prompt length. `generate` also takes `A..=B`:
    /// plan for B and state the time of each power-of-two prefill bucket in A..=B. Default: the
    /// config's max_position_embeddings, at most 2048, halved while weights and KV cache exceed
    /// the device's memory.
    #[arg(long, value_name = "N")]
    seq_len: Option<String>,
    /// accuracy or performance (lower-precision weights where the accuracy budget allows).
    #[arg(long, default_value = "performance", value_parser = parse_policy)]
    policy: Policy,
    /// latency or throughput.
    #[arg(long, default_value = "latency", value_parser = parse_optimize_for)]
    optimize_for: OptimizeFor,
    /// DRAM bytes per chip for weights + KV cache: bytes, <n>MB, <n>MiB, <n>GB, <n>GiB or `unlimited` (default: the chip's DRAM).
    #[arg(long, value_parser = parse_bytes)]
    memory_budget: Option<u64>,
    /// <group>[@<first>-<last>|@<layer>]=<dtype>[:<fidelity>], group one of wqkv, wo, w1w3, w2,
    /// lm_head; e.g. w1w3@0-3=bf16:hifi4. Repeatable.
    #[arg(long = "override", value_name = "SPEC", value_parser = parse_override)]
    overrides: Vec<LayerOverride>,
}

#[derive(Args, Debug)]
struct PlanArgs {
    #[command(flatten)]
    plan: PlanOptions,
    /// Print the deployment manifest (plan + requirements) as JSON instead of a table.
    #[arg(long)]
    json: bool,
    /// Table only: show the ops of the first N decoder layers (default: all).
    #[arg(long, value_name = "N")]
    layers: Option<u32>,
}

#[derive(Args, Debug)]
struct GraphArgs {
    #[command(flatten)]
    plan: PlanOptions,
    /// Print the compute graph as Graphviz DOT instead of JSON.
    #[arg(long)]
    dot: bool,
}

#[derive(Args, Debug)]
struct GenerateArgs {
    #[command(flatten)]
    plan: PlanOptions,
    /// Directory to write Cargo.toml and src/lib.rs to (created if missing).
    #[arg(long)]
    out: String,
    /// The generated struct's name (default: from the config's directory).
    #[arg(long)]
    name: Option<String>,
    /// Depend on tttv2 by path (relative to --out) instead of by version.
    #[arg(long, value_name = "DIR")]
    tttv2_path: Option<String>,
}

fn bad(msg: impl std::fmt::Display) -> String {
    format!("error: {msg}\n\nFor more information, try '--help'.")
}

fn parse_policy(v: &str) -> Result<Policy, String> {
    Policy::parse(v).ok_or_else(|| format!("expected accuracy or performance, got `{v}`"))
}

fn parse_optimize_for(v: &str) -> Result<OptimizeFor, String> {
    OptimizeFor::parse(v).ok_or_else(|| format!("expected latency or throughput, got `{v}`"))
}

fn parse_u32(flag: &str, v: &str) -> Result<u32, String> {
    v.parse::<u32>().ok().filter(|n| *n > 0).ok_or_else(|| bad(format!("{flag} expects a positive integer, got `{v}`")))
}

/// `--memory-budget`: core's memory-size grammar, the one `memory_budget = "…"` uses.
fn parse_bytes(v: &str) -> Result<u64, String> {
    tttv2_core::plan::parse_memory_size(v)
}

/// `--override`: core's override grammar.
fn parse_override(v: &str) -> Result<LayerOverride, String> {
    v.parse()
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

/// The longest default context: each power of two from 128 up to it is a prefill bucket the
/// generated program compiles, and the host backend holds the KV cache in RAM; `--seq-len` goes
/// further.
const DEFAULT_SEQ_LEN_CAP: u32 = 2048;

/// The model's config, the system, and the planner's options, with the defaults filled in.
struct Planned {
    cfg: LlamaConfig,
    system: SystemProfile,
    opts: LlamaOptions,
    /// `--seq-len A..=B` (generate only).
    seq_range: Option<(u32, u32)>,
    /// The model's name: the directory holding its config.json (`models/Llama-3.1-8B`), or a
    /// GGUF file's stem (`SmolLM2-135M-Q8_0.gguf`).
    name: String,
    /// The config file as given.
    config_path: String,
}

/// A `--config` argument: a config.json or a GGUF file (as given; `LlamaConfig::from_file`
/// tells them apart by their first bytes), or a directory holding a config.json.
fn config_file(arg: &str) -> String {
    let p = Path::new(arg);
    if p.is_dir() { p.join("config.json").to_string_lossy().into_owned() } else { arg.to_owned() }
}

/// The model's name from its config's path: a config.json is named for its directory (every
/// model's file has the same name), a GGUF file for itself (a directory often holds several
/// quantizations of one model).
fn model_name(config: &Path) -> String {
    let gguf = config.extension().is_some_and(|e| e.eq_ignore_ascii_case("gguf"));
    let name = if gguf { config.file_stem() } else { config.parent().and_then(|d| d.file_name()) };
    name.map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "model".to_owned())
}

/// Reads the config and resolves the options (exit code and message on failure).
fn resolve(o: &PlanOptions, range_ok: bool) -> Result<Planned, (u8, String)> {
    let system = SystemProfile::by_name(&o.device).ok_or_else(|| {
        (2, bad(format!("unknown device `{}`; known: {}", o.device, SystemProfile::NAMES.join(", "))))
    })?;
    let config_path = config_file(&o.config);
    let cfg = LlamaConfig::from_file(&config_path).map_err(|e| (2, format!("error: {e}")))?;
    let mode = match o.mode {
        ModeArg::Decode => Mode::Decode,
        ModeArg::Prefill => Mode::Prefill,
    };
    let mut opts = LlamaOptions::new(mode, o.batch);
    opts.policy = o.policy;
    opts.optimize_for = o.optimize_for;
    opts.memory_budget = o.memory_budget;
    opts.overrides = o.overrides.clone();
    let mut seq_range = None;
    match &o.seq_len {
        Some(v) => {
            let (lo, hi) = parse_seq_len(v, range_ok).map_err(|m| (2, m))?;
            opts.seq_len = hi;
            seq_range = (lo != hi).then_some((lo, hi));
        }
        None => opts.seq_len = default_seq_len(&cfg, &system, &opts),
    }
    let name = model_name(Path::new(&config_path));
    Ok(Planned { cfg, system, opts, seq_range, name, config_path })
}

/// The context a user expects by default: the config's `max_position_embeddings`, at most
/// [`DEFAULT_SEQ_LEN_CAP`], halved (not below 128) while weights and KV cache do not fit the
/// device's memory. A plan that fails for another reason keeps the length; the planner's error
/// then says why.
fn default_seq_len(cfg: &LlamaConfig, system: &SystemProfile, opts: &LlamaOptions) -> u32 {
    let mut len = cfg.max_position_embeddings.min(DEFAULT_SEQ_LEN_CAP);
    while len > 128 {
        let o = LlamaOptions { seq_len: len, ..opts.clone() };
        match plan_llama(cfg, system, &o) {
            Err(LlamaPlanError::MemoryBudget { .. }) => len = (len / 2).max(128),
            _ => break,
        }
    }
    len
}

fn program_summary(pc: &Option<OpProgramConfig>) -> String {
    match pc {
        None => "-".into(),
        Some(OpProgramConfig::Matmul(m)) => match m {
            MatmulProgramConfig::MultiCore(_) => "MultiCore".into(),
            MatmulProgramConfig::Reuse(p) => {
                format!("Reuse pcM{} pcN{} w{}", p.per_core_M, p.per_core_N, p.in0_block_w)
            }
            MatmulProgramConfig::MultiCast2D(p) => format!(
                "2D {}x{} pcM{} pcN{} w{} sb{}x{}",
                p.compute_with_storage_grid_size.x,
                p.compute_with_storage_grid_size.y,
                p.per_core_M,
                p.per_core_N,
                p.in0_block_w,
                p.out_subblock_h,
                p.out_subblock_w
            ),
            MatmulProgramConfig::MultiCast1D(p) => format!(
                "1D {} pcM{} pcN{} w{} sb{}x{}",
                if p.mcast_in0 { "wide" } else { "tall" },
                p.per_core_M,
                p.per_core_N,
                p.in0_block_w,
                p.out_subblock_h,
                p.out_subblock_w
            ),
            MatmulProgramConfig::DramSharded(p) => format!("DRAMSharded pcN{} w{}", p.per_core_N, p.in0_block_w),
        },
        Some(OpProgramConfig::LayerNorm(tttv2_core::ttnn::LayerNormProgramConfig::Default(_))) => "LNDefault".into(),
        Some(OpProgramConfig::LayerNorm(tttv2_core::ttnn::LayerNormProgramConfig::Sharded(p))) => {
            format!("LNSharded bw{} sbw{}", p.block_w, p.subblock_w)
        }
        Some(OpProgramConfig::Sdpa(tttv2_core::ttnn::TaggedSdpa::Config(p))) => {
            format!("SDPA q{} k{}", p.q_chunk_size, p.k_chunk_size)
        }
    }
}

fn table(plan: &LlamaPlan, layers: Option<u32>) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let o = &plan.options;
    let _ = writeln!(
        s,
        "LlamaForCausalLM on {} (chip {}, mesh {}x{}): {:?}, batch {}, seq_len {}, policy {:?}, optimize_for {:?}",
        plan.system, plan.chip, plan.mesh.0, plan.mesh.1, o.mode, o.batch, o.seq_len, o.policy, o.optimize_for
    );
    let _ = writeln!(s, "parallelism: {}", plan.parallelism);
    let _ = writeln!(
        s,
        "{:<40} {:<18} {:>16} {:<34} {:<10} {:<6} {:>9} {:>10}",
        "op", "kind", "m x k x n", "program config", "weight", "fid", "L1 KiB", "est us"
    );
    let mut hidden = 0;
    for op in &plan.ops {
        if let (Some(limit), Some(l)) = (layers, op.layer)
            && l >= limit
        {
            hidden += 1;
            continue;
        }
        let mkn = match (op.shapes.m, op.shapes.k, op.shapes.n) {
            (Some(m), Some(k), Some(n)) => format!("{m}x{k}x{n}"),
            _ => String::new(),
        };
        let w = op
            .dtypes
            .get(&tttv2_core::program::Role::Weight)
            .filter(|_| !op.weights.is_empty())
            .map_or("-", |d| d.ttnn_name());
        let fid = op.compute_kernel_config.map_or("-".to_string(), |c| format!("{:?}", c.math_fidelity));
        let _ = writeln!(
            s,
            "{:<40} {:<18} {:>16} {:<34} {:<10} {:<6} {:>9.1} {:>10.2}",
            op.name,
            format!("{:?}", op.kind()),
            mkn,
            program_summary(&op.program_config),
            w,
            fid,
            op.l1_peak_bytes_per_core as f64 / 1024.0,
            op.estimate_us
        );
    }
    if hidden > 0 {
        let _ = writeln!(
            s,
            "... {hidden} ops of layers {}.. not shown (identical configs per layer unless overridden)",
            layers.unwrap_or(0)
        );
    }
    let t = &plan.totals;
    let _ = writeln!(
        s,
        "\ntotals: {} ops, {:.1} us per call, {:.1} tokens/s/user, {:.1} tokens/s",
        t.ops, t.estimate_us, t.tokens_per_s_per_user, t.tokens_per_s
    );
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
    if t.ethernet_bytes_per_call > 0 {
        let _ = writeln!(
            s,
            "ethernet per chip: {:.2} MB sent per call in its collectives, {:.1} us ({:.1} % of the call)",
            t.ethernet_bytes_per_call as f64 / 1e6,
            t.ethernet_us_per_call,
            t.ethernet_us_per_call / t.estimate_us * 100.0
        );
    }
    for n in &plan.notes {
        let _ = writeln!(s, "note: {n}");
    }
    s
}

/// Runs the CLI on `argv` (without the program name): exit code, stdout, stderr.
fn run(argv: Vec<String>) -> (u8, String, String) {
    let cli = match Cli::try_parse_from(std::iter::once("tttv2".to_owned()).chain(argv.iter().cloned())) {
        Ok(c) => c,
        Err(e) => {
            use clap::error::ErrorKind;
            let text = e.render().to_string();
            return match e.kind() {
                ErrorKind::DisplayHelp
                | ErrorKind::DisplayVersion
                | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => (0, text, String::new()),
                _ => (2, String::new(), text),
            };
        }
    };
    let fail = |(code, msg): (u8, String)| (code, String::new(), msg + "\n");
    match cli.command {
        Command::Plan(a) => match resolve(&a.plan, false) {
            Err(e) => fail(e),
            Ok(p) => match plan_llama(&p.cfg, &p.system, &p.opts) {
                Ok(plan) if a.json => {
                    (0, tttv2_core::manifest::Manifest::new(p.name, &plan, Vec::new()).to_json() + "\n", String::new())
                }
                Ok(plan) => (0, table(&plan, a.layers), String::new()),
                Err(e) => fail((1, format!("error: {e}"))),
            },
        },
        Command::Graph(a) => match resolve(&a.plan, false) {
            Err(e) => fail(e),
            Ok(p) => match plan_llama(&p.cfg, &p.system, &p.opts) {
                Ok(plan) => {
                    let g = tttv2_core::graph::Graph::from_llama(&plan);
                    if a.dot {
                        (0, g.to_dot(&p.name), String::new())
                    } else {
                        match serde_json::to_string_pretty(&g) {
                            Ok(s) => (0, s + "\n", String::new()),
                            Err(e) => fail((1, format!("error: cannot serialize the graph: {e}"))),
                        }
                    }
                }
                Err(e) => fail((1, format!("error: {e}"))),
            },
        },
        Command::Generate(a) => match resolve(&a.plan, true) {
            Err(e) => fail(e),
            Ok(p) => generate(&a, &p, &regenerate_args(&argv)),
        },
        Command::New(a) => new::run(&a),
    }
}

/// The arguments that regenerate `generate`'s output: all but `--out <dir>`, in the given order.
fn regenerate_args(argv: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    let mut it = argv.iter();
    while let Some(a) = it.next() {
        if a == "--out" {
            it.next();
        } else if !a.starts_with("--out=") {
            out.push(a.clone());
        }
    }
    out
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
fn generate(args: &GenerateArgs, p: &Planned, regenerate: &[String]) -> (u8, String, String) {
    use tttv2_codegen::generate::{GenerateOptions, Tttv2Dependency, generate_llama, package_name, struct_name};
    let out = Path::new(&args.out);
    let dir_name = out.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| p.name.clone());
    let g = GenerateOptions {
        name: args.name.clone().unwrap_or_else(|| struct_name(&p.name)),
        package: package_name(&dir_name),
        source: p.config_path.clone(),
        command: std::iter::once("tttv2".to_owned())
            .chain(regenerate.iter().map(|w| shell_word(w)))
            .collect::<Vec<_>>()
            .join(" "),
        tttv2: match &args.tttv2_path {
            Some(p) => Tttv2Dependency::Path(p.clone()),
            None => Tttv2Dependency::Version(env!("CARGO_PKG_VERSION").to_owned()),
        },
        seq_range: p.seq_range,
    };
    let generated = match generate_llama(&p.cfg, &p.system, &p.opts, &g) {
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
            format!(
                "wrote {0}/Cargo.toml and {0}/src/lib.rs (struct {1}, plan fingerprint {2})\n",
                out.display(),
                g.name,
                generated.fingerprint
            ),
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
        let (code, out, err) =
            run(argv(&format!("graph --config {} --device n150 --mode decode --batch 32 --dot", cfg("Llama-3.2-1B"))));
        assert_eq!(code, 0, "{err}");
        assert!(out.starts_with("digraph \"Llama-3.2-1B\" {"), "{out}");
        assert_eq!(out.matches("[style=dashed, label=\"residual\"]").count(), 2 * 16, "two residual adds per layer");
        assert!(out.contains("MatmulMultiCoreReuseMultiCastDRAMShardedProgramConfig"));
    }

    #[test]
    fn plan_json_is_the_manifest() {
        let (code, out, _) =
            run(argv(&format!("plan --config {} --device n150 --mode decode --batch 32 --json", cfg("Llama-3.2-1B"))));
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
        let cmd = format!(
            "plan --config {} --device n150 --mode decode --batch 32 --policy performance --json",
            cfg("Llama-3.1-8B")
        );
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
            "plan --device n150 --mode decode --batch 1".to_string(),
            format!("plan --config {c} --device n150 --mode decode --batch 1 --override w9=bf16"),
            "plan --config /nonexistent/config.json --device n150 --mode decode --batch 1".to_string(),
            format!(
                "plan --config {} --device n150 --mode decode --batch 1",
                env!("CARGO_MANIFEST_DIR").to_string() + "/Cargo.toml"
            ),
        ] {
            let (code, out, err) = run(argv(&bad_cmd));
            if bad_cmd.is_empty() {
                assert_eq!(code, 0, "no arguments prints the usage");
                assert!(out.contains("Usage: tttv2 <COMMAND>") && out.contains("new"), "{out}");
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
        let (code, msg, err) =
            run(argv(&format!("generate --config {c} --device n150 --mode decode --batch 32 --out {}", out.display())));
        assert_eq!(code, 0, "{err}");
        assert!(msg.contains("struct Llama3_2_1B"), "{msg}");
        let lib = std::fs::read_to_string(out.join("src/lib.rs")).unwrap();
        // A single-chip decode plan of ≤ 32 users is runnable: the struct holds the weights, the
        // decode program is emitted op by op, its configs in the plan module.
        assert!(
            lib.contains("pub struct Llama3_2_1B {")
                && lib.contains("fn decode_layer(")
                && lib.contains("pub mod decode {"),
            "decode plans generate runnable code"
        );
        assert!(
            out.join("manifest.json").exists() && lib.contains("include_str!(\"../manifest.json\")"),
            "the manifest sits beside the source"
        );
        assert!(lib.contains(&format!(
            "//     tttv2 generate --config {c} --device n150 --mode decode --batch 32 --out <this directory>"
        )));
        let toml = std::fs::read_to_string(out.join("Cargo.toml")).unwrap();
        assert!(
            toml.contains("name = \"llama_1b_n150\"")
                && toml.contains(&format!("version = \"{}\"", env!("CARGO_PKG_VERSION"))),
            "{toml}"
        );
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
    fn defaults_are_decode_batch_1_n150_and_the_configs_context() {
        // Llama-3.2-1B: max_position_embeddings 131072, capped to 2048; it fits an n150.
        let (code, out, err) = run(argv(&format!("plan --config {} --json", cfg("Llama-3.2-1B"))));
        assert_eq!(code, 0, "{err}");
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(
            (v["system"].as_str(), v["options"]["mode"].as_str()),
            (Some("n150"), Some("decode")),
            "{}",
            v["options"]
        );
        assert_eq!((v["options"]["batch"].as_u64(), v["options"]["seq_len"].as_u64()), (Some(1), Some(2048)));
        // The directory is accepted for the config.
        let dir = std::path::Path::new(&cfg("Llama-3.2-1B")).parent().unwrap().display().to_string();
        assert_eq!(run(argv(&format!("plan --config {dir} --json"))).1, out);
        // Llama-3.1-8B with 32 users in a 9 GiB budget: weights 6.76 GiB + KV cache 4.25 GiB at
        // 2048 positions do not fit, 1024 (2.13 GiB of cache) do: the default halves once.
        let (code, out, err) =
            run(argv(&format!("plan --config {} --batch 32 --memory-budget 9GiB --json", cfg("Llama-3.1-8B"))));
        assert_eq!(code, 0, "{err}");
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["options"]["seq_len"].as_u64(), Some(1024));
        // Every subcommand has its own help.
        for sub in ["plan", "graph", "generate", "new"] {
            let (code, out, _) = run(argv(&format!("{sub} --help")));
            assert_eq!(code, 0);
            assert!(out.contains(&format!("Usage: tttv2 {sub}")) && out.contains("--config"), "{out}");
        }
    }

    #[test]
    fn unplannable_models_exit_1_naming_the_rule() {
        let (code, _, err) =
            run(argv(&format!("plan --config {} --device n150 --mode decode --batch 32", cfg("Llama-3.1-70B"))));
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
        // The grammars are core's (tested there); an invalid value is a clap error naming the flag.
        let (code, _, err) = run(argv(&format!("plan --config {} --memory-budget lots", cfg("Llama-3.2-1B"))));
        assert_eq!(code, 2);
        assert!(err.contains("--memory-budget") && err.contains("got `lots`"), "{err}");
    }
}
