//! `tttv2 new`: a crate that chats with a Hugging Face model or a GGUF file. It declares the
//! model from the config.json beside its Cargo.toml (`#[ttt_model(config = "config.json", ...)]`,
//! planned when it compiles): the Hugging Face directory's, copied, or for a GGUF file one written
//! from its metadata ([`tttv2_core::hf::LlamaConfig::to_hf_config_json`]). Its `main` loads the
//! weights and tokenizer from `--weights <hf-dir>` (a crate made from a GGUF file also takes
//! `--weights <file.gguf>`), applies the model's chat template, and streams the reply until the
//! model's end-of-turn token.

use std::path::{Path, PathBuf};

use clap::Args;
use tttv2_codegen::generate::{package_name, struct_name};
use tttv2_core::hf::is_gguf;
use tttv2_core::plan::llama::plan_program;

use super::{ModeArg, PlanOptions, bad, resolve};

#[derive(Args, Debug)]
pub struct NewArgs {
    /// The crate's name (and its directory, unless --out says otherwise).
    name: String,
    /// The Hugging Face model directory (or its config.json), whose config.json is copied into the
    /// crate; or a GGUF file, whose metadata is written into the crate as a config.json.
    #[arg(long, value_name = "HF_DIR|GGUF")]
    config: String,
    /// The system to compile for (single-chip: n150, p150, p100, e150).
    #[arg(long, default_value = "n150")]
    device: String,
    /// Users per decode step (the generated `main` chats with one).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    batch: u32,
    /// KV-cache positions (default: the config's max_position_embeddings, at most 2048, halved
    /// while it does not fit the device).
    #[arg(long, value_name = "N")]
    seq_len: Option<String>,
    /// accuracy (bf16 weights where it matters) or performance (bfloat8_b/bfloat4_b weights where
    /// the accuracy budget allows).
    #[arg(long, default_value = "performance", value_parser = ["accuracy", "performance"])]
    policy: String,
    /// Depend on tttv2 by path (relative to the crate) instead of by version.
    #[arg(long, value_name = "DIR")]
    tttv2_path: Option<String>,
    /// Where to write the crate (default: ./<name>).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
}

/// Runs `tttv2 new`: exit code, stdout, stderr.
pub fn run(a: &NewArgs) -> (u8, String, String) {
    match write(a) {
        Ok(msg) => (0, msg, String::new()),
        Err((code, msg)) => (code, String::new(), msg + "\n"),
    }
}

fn write(a: &NewArgs) -> Result<String, (u8, String)> {
    let valid = a.name.starts_with(|c: char| c.is_ascii_alphabetic())
        && a.name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if !valid {
        return Err((
            2,
            bad(format!(
                "`{}` is not a crate name; fix: use letters, digits, `-` and `_`, starting with a letter, e.g. `{}`",
                a.name,
                package_name(&a.name)
            )),
        ));
    }
    // Plan now with the options the attribute will carry, so that what the macro would reject
    // at compile time is an error here.
    let opts = PlanOptions {
        config: a.config.clone(),
        device: a.device.clone(),
        mode: ModeArg::Decode,
        batch: a.batch,
        seq_len: a.seq_len.clone(),
        policy: tttv2_core::plan::Policy::parse(&a.policy).expect("clap checked the policy"),
        optimize_for: tttv2_core::plan::llama::OptimizeFor::Latency,
        memory_budget: None,
        overrides: Vec::new(),
    };
    let p = resolve(&opts, false)?;
    // A GGUF file carries the tokenizer, chat template and weights too: the crate gets a
    // config.json written from its metadata and reads the rest from the file at run time.
    let gguf = is_gguf(Path::new(&p.config_path));
    // What generated code cannot run is an error here, before anything is written.
    plan_program(&p.cfg, &p.system, &p.opts, None).map_err(|e| (1, format!("error: {e}")))?;

    let out = a.out.clone().unwrap_or_else(|| PathBuf::from(&a.name));
    if out.exists() && std::fs::read_dir(&out).map(|mut d| d.next().is_some()).unwrap_or(true) {
        return Err((2, format!("error: {} exists and is not empty; fix: pass another name or --out", out.display())));
    }
    let config = if gguf {
        p.cfg.to_hf_config_json()
    } else {
        std::fs::read_to_string(&p.config_path).map_err(|e| (2, format!("error: {}: {e}", p.config_path)))?
    };
    let model = model_struct_name(&a.name);
    let from_gguf = gguf.then(|| (p.config_path.as_str(), command(a)));
    let files = [
        (
            "Cargo.toml",
            cargo_toml(&a.name, a.tttv2_path.as_deref(), p.system.chip.arch.cargo_feature(), from_gguf.as_ref()),
        ),
        ("config.json", config),
        ("src/main.rs", main_rs(&model, &p.name, a, p.opts.seq_len, gguf)),
    ];
    let io = |e: std::io::Error| (2, format!("error: cannot write to {}: {e}", out.display()));
    std::fs::create_dir_all(out.join("src")).map_err(io)?;
    for (file, text) in &files {
        std::fs::write(out.join(file), text).map_err(io)?;
    }
    Ok(format!(
        "wrote {dir}: {model} ({source}) for {device}, decode, batch {batch}, {seq} positions\n\
         run it with:\n    cd {dir} && cargo run --release -- --weights {weights} --prompt \"Hello!\"\n",
        dir = out.display(),
        source = p.config_path,
        device = a.device,
        batch = a.batch,
        seq = p.opts.seq_len,
        // The GGUF file's absolute path, which still names it after the `cd`.
        weights = if gguf {
            std::fs::canonicalize(&p.config_path).map_or(p.config_path.clone(), |f| f.display().to_string())
        } else {
            Path::new(&p.config_path).parent().map_or(".".into(), |d| d.display().to_string())
        },
    ))
}

/// The command that wrote the crate, for its header.
fn command(a: &NewArgs) -> String {
    let mut c = format!(
        "tttv2 new {} --config {} --device {} --batch {} --policy {}",
        a.name, a.config, a.device, a.batch, a.policy
    );
    if let Some(s) = &a.seq_len {
        c += &format!(" --seq-len {s}");
    }
    if let Some(p) = &a.tttv2_path {
        c += &format!(" --tttv2-path {p}");
    }
    c
}

/// `from_gguf`: the GGUF file the config.json was written from, and the command that wrote it.
fn cargo_toml(
    package: &str,
    tttv2_path: Option<&str>,
    arch_feature: &str,
    from_gguf: Option<&(&str, String)>,
) -> String {
    let dep = match tttv2_path {
        Some(p) => format!("path = {:?}", p),
        None => format!("version = \"{}\"", env!("CARGO_PKG_VERSION")),
    };
    let (header, gguf_feature) = match from_gguf {
        Some((file, command)) => (
            format!(
                "# config.json was written from the metadata of {file} (LlamaConfig::to_hf_config_json);\n\
                 # regenerate the crate with `{command}`.\n"
            ),
            r#", "gguf""#,
        ),
        None => (String::new(), ""),
    };
    format!(
        r#"{header}[package]
name = "{package}"
version = "0.1.0"
edition = "2024"
publish = false

[dependencies]
tttv2 = {{ {dep}, default-features = false, features = ["{arch_feature}", "chat"{gguf_feature}] }}
clap = {{ version = "4", features = ["derive"] }}

[features]
# Run on a Tenstorrent device through a tt-metal install (TT_METAL_HOME) instead of the host backend.
ttnn = ["tttv2/ttnn"]

[profile.release]
debug = 1

# Its own workspace, so that it builds where it was written (e.g. inside another workspace).
[workspace]
"#
    )
}

fn main_rs(model: &str, source: &str, a: &NewArgs, seq_len: u32, gguf: bool) -> String {
    let plan = tttv2_codegen::plan_module_name(model);
    let text = if gguf {
        let replaced = |text: &str, parts: &[(&str, &str)]| {
            parts.iter().fold(text.to_owned(), |t, (hf, gguf)| t.replace(hf, gguf))
        };
        replaced(MAIN_RS, GGUF_PARTS)
    } else {
        MAIN_RS.to_owned()
    };
    text.replace("{COMMAND}", &command(a))
        .replace("{CONFIG_SOURCE}", &a.config)
        .replace("{SOURCE}", source)
        .replace("{MODEL}", model)
        .replace("{PLAN}", &plan)
        .replace("{DEVICE}", &a.device)
        .replace("{BATCH}", &a.batch.to_string())
        .replace("{SEQ_LEN}", &seq_len.to_string())
        .replace("{POLICY}", &a.policy)
}

/// Names `main.rs` itself declares or imports: a crate named after one (`tttv2 new chat`) gets
/// `<Name>Model` as its model struct, so the two do not clash.
const MAIN_RS_NAMES: &[&str] = &[
    "Args",
    "Chat",
    "Device",
    "GenerateOptions",
    "GgufWeights",
    "Message",
    "Parser",
    "PathBuf",
    "SafetensorsWeights",
    "Sampling",
    "Write",
];

/// The model struct's name for crate `name`.
fn model_struct_name(name: &str) -> String {
    let model = struct_name(name);
    if MAIN_RS_NAMES.contains(&model.as_str()) { format!("{model}Model") } else { model }
}

const MAIN_RS: &str = r#"//! Chat with {SOURCE} through tttv2: the model is planned for {DEVICE} when this crate compiles
//! (decode, batch {BATCH}, {SEQ_LEN} KV-cache positions) from the config.json beside Cargo.toml.
//!
//! Written by `{COMMAND}`.
//!
//!     cargo run --release -- --weights <hf-dir> --prompt "Hello!"
//!
//! `<hf-dir>` holds the checkpoint (model.safetensors or shards), tokenizer.json and
//! tokenizer_config.json (its chat template), and the config.json / generation_config.json whose
//! end-of-sequence tokens stop the reply. Built with `--features ttnn`, it runs on the device.

use std::io::Write;
use std::path::PathBuf;

use clap::Parser;
use tttv2::chat::{Chat, Message};
use tttv2::nn::SafetensorsWeights;
use tttv2::nn::generate::{GenerateOptions, Sampling};
use tttv2::{Device, ttt_model};

/// {SOURCE}, planned at compile time.
#[ttt_model(config = "config.json", device = "{DEVICE}", mode = "decode", batch = {BATCH}, seq_len = {SEQ_LEN}, policy = "{POLICY}")]
pub struct {MODEL};

/// Chat with the model: the prompt goes through the model's chat template, the reply streams to
/// stdout until its end-of-turn token or --max-new-tokens.
#[derive(Parser)]
struct Args {
    /// The Hugging Face model directory: weights, tokenizer.json, tokenizer_config.json, config.json.
    #[arg(long)]
    weights: PathBuf,
    /// The user's message.
    #[arg(long)]
    prompt: String,
    /// A system message (without one, the chat template's default, if it has one).
    #[arg(long)]
    system: Option<String>,
    /// New tokens at most.
    #[arg(long, default_value_t = 256)]
    max_new_tokens: usize,
    /// Nucleus sampling with this top-p instead of greedy decoding.
    #[arg(long)]
    top_p: Option<f32>,
    /// Softmax temperature for --top-p.
    #[arg(long, default_value_t = 1.0)]
    temperature: f32,
    /// Seed for --top-p.
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let chat = Chat::from_dir(&args.weights)?;
    let device = Device::open(&{PLAN}::DEVICE)?;
    let mut model = {MODEL}::load(&device, &SafetensorsWeights::open(&args.weights)?)?;

    let mut messages = Vec::new();
    if let Some(system) = &args.system {
        messages.push(Message::system(system.as_str()));
    }
    messages.push(Message::user(args.prompt.as_str()));
    let prompt = chat.prompt(&messages)?;
    let sampling = match args.top_p {
        Some(p) => Sampling::TopP { p, temperature: args.temperature, seed: args.seed },
        None => Sampling::Greedy,
    };
    let options = GenerateOptions { max_new_tokens: args.max_new_tokens, sampling, eos: chat.stop_tokens().to_vec() };

    let mut stream = chat.stream();
    let mut failed = None;
    let mut stdout = std::io::stdout().lock();
    let g = model.generate(&device, &[prompt.clone()], &options, |_, token| match stream.push(token) {
        Ok(Some(text)) => {
            let _ = stdout.write_all(text.as_bytes());
            let _ = stdout.flush();
        }
        Ok(None) => {}
        Err(e) => {
            failed.get_or_insert(e);
        }
    })?;
    if let Some(text) = stream.finish()? {
        stdout.write_all(text.as_bytes())?;
    }
    writeln!(stdout)?;
    if let Some(e) = failed {
        return Err(e.into());
    }
    for tie in &g.ties {
        let shown: Vec<String> = tie.tokens.iter().take(8).map(u32::to_string).collect();
        let more = if tie.tokens.len() > 8 { ", ..." } else { "" };
        eprintln!(
            "warning: new token {}: {} tokens tie for the highest logit (ids {}{more}); greedy took {}",
            tie.step,
            tie.tokens.len(),
            shown.join(", "),
            tie.tokens[0]
        );
    }
    eprintln!(
        "[{} prompt tokens, {} new tokens, stopped by {:?}; prefill {:.1} tokens/s, decode {:.1} tokens/s]",
        prompt.len(),
        g.tokens[0].len(),
        g.stops[0],
        g.prefill_tokens as f64 / g.prefill_secs.max(1e-9),
        g.decode_tokens as f64 / g.decode_secs.max(1e-9),
    );
    Ok(())
}
"#;

/// What a crate made from a GGUF file says and does differently: pairs of (text of [`MAIN_RS`],
/// its replacement). Its `--weights` takes the GGUF file (found by its magic) or, as the
/// Hugging Face crate's does, a model directory.
const GGUF_PARTS: &[(&str, &str)] = &[
    (
        "//! Chat with {SOURCE} through tttv2: the model is planned for {DEVICE} when this crate compiles
//! (decode, batch {BATCH}, {SEQ_LEN} KV-cache positions) from the config.json beside Cargo.toml.",
        "//! Chat with {SOURCE} through tttv2; config.json was written from the metadata of {CONFIG_SOURCE}
//! (rerun the command below to regenerate it). The model is planned from it for {DEVICE} when this
//! crate compiles (decode, batch {BATCH}, {SEQ_LEN} KV-cache positions).",
    ),
    (
        "//!     cargo run --release -- --weights <hf-dir> --prompt \"Hello!\"
//!
//! `<hf-dir>` holds the checkpoint (model.safetensors or shards), tokenizer.json and
//! tokenizer_config.json (its chat template), and the config.json / generation_config.json whose
//! end-of-sequence tokens stop the reply.",
        "//!     cargo run --release -- --weights <file.gguf> --prompt \"Hello!\"
//!
//! The GGUF file holds the weights (any ggml type `tttv2::nn::GgufWeights` dequantizes) and, in
//! its metadata, the tokenizer, the chat template and the end-of-sequence tokens that stop the
//! reply. `--weights` also takes a Hugging Face directory of the same model: the checkpoint
//! (model.safetensors or shards), tokenizer.json, tokenizer_config.json (its chat template) and
//! the config.json / generation_config.json whose end-of-sequence tokens stop the reply.",
    ),
    ("use tttv2::nn::SafetensorsWeights;", "use tttv2::nn::{GgufWeights, SafetensorsWeights};"),
    (
        "/// The Hugging Face model directory: weights, tokenizer.json, tokenizer_config.json, config.json.",
        "/// The GGUF file, or the Hugging Face model directory (weights, tokenizer.json,
    /// tokenizer_config.json, config.json).",
    ),
    (
        "    let chat = Chat::from_dir(&args.weights)?;
    let device = Device::open(&{PLAN}::DEVICE)?;
    let mut model = {MODEL}::load(&device, &SafetensorsWeights::open(&args.weights)?)?;",
        "    // A GGUF file (it starts with the magic `GGUF`) or a Hugging Face directory.
    let gguf = tttv2::hf::is_gguf(&args.weights);
    let chat = if gguf { Chat::from_gguf(&args.weights)? } else { Chat::from_dir(&args.weights)? };
    let device = Device::open(&{PLAN}::DEVICE)?;
    let mut model = if gguf {
        {MODEL}::load(&device, &GgufWeights::open(&args.weights)?)?
    } else {
        {MODEL}::load(&device, &SafetensorsWeights::open(&args.weights)?)?
    };",
    ),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_model_struct_never_shadows_a_name_main_rs_uses() {
        assert_eq!(model_struct_name("my_model"), "MyModel");
        assert_eq!(model_struct_name("chat"), "ChatModel");
        assert_eq!(model_struct_name("device"), "DeviceModel");
        for name in MAIN_RS_NAMES {
            // In the template or in its GGUF variant.
            assert!(include_str!("new.rs").matches(name).count() > 1, "{name} is used by main.rs");
            assert_ne!(&model_struct_name(name), name);
        }
    }
}
