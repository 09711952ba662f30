//! Llama on the host backend: a small Llama declared field by field and Llama-3.2-1B declared
//! from its Hugging Face config, both planned for a Wormhole B0 n150 at compile time.
//!
//! `cargo run --release --example llama` runs the small model on deterministic synthetic weights;
//! `-- --model llama-3.2-1b` runs Llama-3.2-1B instead (synthetic weights, ~5 GB of host memory
//! while loading). `-- --weights <dir>` loads a Hugging Face checkpoint with the chosen model's
//! shapes (`config.json` + `model.safetensors` or a sharded index).
//!
//! The small model is planned for decode (4 users, a 512-position KV cache) plus prefill buckets
//! of 128/256/512 tokens; Llama-3.2-1B for decode of 32 users with a 2048-position cache plus
//! buckets of 128…2048 tokens. The prefill buckets read the decode plan's weights, so each model
//! holds one copy. The run prefills each user's prompt, then decodes all users together with the
//! KV cache. Options: `--users N`, `--tokens N` new tokens per user, `--top-p P [--temperature T]
//! [--seed S]` (default greedy), `--prompt "text"` (needs `tokenizer.json` in the `--weights`
//! directory), `--eos ID`.

use std::time::Instant;

use tttv2::hf::LlamaConfig;
use tttv2::nn::generate::{GenerateOptions, Sampling};
use tttv2::nn::{CausalLm, SafetensorsWeights, Weight, WeightSource, Weights};
use tttv2::{Device, ttt_model};

/// A small Llama-architecture model: 4 layers, GQA 8/2, vocab 2048.
#[ttt_model(device = "wormhole_b0", mode = "decode", batch = 4, seq_len = 512, policy = "performance")]
pub struct SmallLlama {
    #[embedding(vocab = 2048, dim = 512)]
    embed_tokens: Embedding,
    #[decoder(
        repeat = 4,
        eps = 1e-5,
        attention(heads = 8, kv_heads = 2, head_dim = 64, rope_theta = 10000.0),
        mlp(intermediate = 1536, activation = "silu")
    )]
    layers: Decoder,
    #[rms_norm(dim = 512, eps = 1e-5)]
    norm: RmsNorm,
    #[lm_head(vocab = 2048, tied = false)]
    lm_head: LmHead,
}

/// Llama-3.2-1B's decode plan on n150 (32 users, 2048 positions).
#[ttt_model(
    device = "wormhole_b0",
    config = "models/Llama-3.2-1B/config.json",
    mode = "decode",
    batch = 32,
    seq_len = 2048
)]
pub struct Llama32_1B;

/// Deterministic weights in [-scale, scale) from splitmix64, by Hugging Face name (no
/// `lm_head.weight` when the model ties it to the embedding).
fn synthetic_weights(cfg: &LlamaConfig) -> Weights {
    let (h, i, v) = (cfg.hidden_size as usize, cfg.intermediate_size as usize, cfg.vocab_size as usize);
    let (q, kv) =
        ((cfg.num_attention_heads * cfg.head_dim) as usize, (cfg.num_key_value_heads * cfg.head_dim) as usize);
    let mut state = 0x5eed_u64;
    let mut values = |n: usize, scale: f32| -> Vec<f32> {
        (0..n)
            .map(|_| {
                state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
                let mut z = state;
                z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
                z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
                z ^= z >> 31;
                ((z >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0) * scale
            })
            .collect()
    };
    let lin = |inp: usize| (3.0 / inp as f32).sqrt();
    let mut w = Weights::new();
    w.insert("model.embed_tokens.weight", vec![v, h], values(v * h, 1.0));
    if !cfg.tie_word_embeddings {
        w.insert("lm_head.weight", vec![v, h], values(v * h, lin(h)));
    }
    w.insert("model.norm.weight", vec![h], vec![1.0; h]);
    for l in 0..cfg.num_hidden_layers {
        let p = |s: &str| format!("model.layers.{l}.{s}");
        w.insert(p("self_attn.q_proj.weight"), vec![q, h], values(q * h, lin(h)));
        w.insert(p("self_attn.k_proj.weight"), vec![kv, h], values(kv * h, lin(h)));
        w.insert(p("self_attn.v_proj.weight"), vec![kv, h], values(kv * h, lin(h)));
        w.insert(p("self_attn.o_proj.weight"), vec![h, q], values(h * q, lin(q)));
        w.insert(p("mlp.gate_proj.weight"), vec![i, h], values(i * h, lin(h)));
        w.insert(p("mlp.up_proj.weight"), vec![i, h], values(i * h, lin(h)));
        w.insert(p("mlp.down_proj.weight"), vec![h, i], values(h * i, lin(i)));
        w.insert(p("input_layernorm.weight"), vec![h], vec![1.0; h]);
        w.insert(p("post_attention_layernorm.weight"), vec![h], vec![1.0; h]);
    }
    w
}

/// A compiled model's configuration, as its manifest records it.
fn compiled_config(manifest: &tttv2::serde_json::Value) -> LlamaConfig {
    let mut model = manifest["model"].clone();
    model["architectures"] = tttv2::serde_json::json!(["LlamaForCausalLM"]);
    LlamaConfig::from_json_str(&model.to_string()).expect("the manifest holds the model's config")
}

/// Fails naming the first field where a checkpoint's config differs from the compiled model.
fn check_checkpoint(dir: &std::path::Path, compiled: &LlamaConfig) -> Result<(), String> {
    let found = LlamaConfig::from_file(dir.join("config.json")).map_err(|e| e.to_string())?;
    let pairs = [
        ("hidden_size", compiled.hidden_size, found.hidden_size),
        ("intermediate_size", compiled.intermediate_size, found.intermediate_size),
        ("num_attention_heads", compiled.num_attention_heads, found.num_attention_heads),
        ("num_key_value_heads", compiled.num_key_value_heads, found.num_key_value_heads),
        ("head_dim", compiled.head_dim, found.head_dim),
        ("num_hidden_layers", compiled.num_hidden_layers, found.num_hidden_layers),
        ("vocab_size", compiled.vocab_size, found.vocab_size),
    ];
    for (field, want, got) in pairs {
        if want != got {
            return Err(format!(
                "{}: field `{field}` is {got} but the model was compiled with {want}; recompile the model for this checkpoint",
                dir.join("config.json").display()
            ));
        }
    }
    Ok(())
}

fn print_plan(name: &str, m: &tttv2::serde_json::Value) {
    let r = &m["requirements"];
    let t = &m["totals"];
    println!(
        "{name} on {} ({} {}, batch {}, seq_len {}): {} ops, {} cores, peak L1 {} B/core, DRAM weights {:.1} MB + KV cache {:.1} MB, est. {:.1} µs per call ({:.0} tokens/s), {:.0}% of the DRAM roofline, fingerprint {}",
        m["system"].as_str().unwrap_or("?"),
        m["options"]["mode"].as_str().unwrap_or("?"),
        m["options"]["policy"].as_str().unwrap_or("?"),
        m["options"]["batch"],
        m["options"]["seq_len"],
        t["ops"],
        r["min_cores"],
        r["peak_l1_bytes_per_core"],
        r["dram"]["weights"].as_f64().unwrap_or(0.0) / 1e6,
        r["dram"]["kv_cache"].as_f64().unwrap_or(0.0) / 1e6,
        r["latency_us"].as_f64().unwrap_or(0.0),
        t["tokens_per_s"].as_f64().unwrap_or(0.0),
        t["roofline_fraction"].as_f64().unwrap_or(0.0) * 100.0,
        m["fingerprint"].as_str().unwrap_or("?"),
    );
}

/// A [`WeightSource`] that shows a progress bar once loading has taken more than a second.
struct Progress<'a, W> {
    inner: &'a W,
    total: u64,
    start: Instant,
    bar: std::cell::RefCell<Option<indicatif::ProgressBar>>,
    done: std::cell::Cell<u64>,
}

impl<'a, W: WeightSource> Progress<'a, W> {
    fn new(inner: &'a W, total: u64) -> Self {
        Progress { inner, total, start: Instant::now(), bar: Default::default(), done: Default::default() }
    }
    fn finish(&self) {
        if let Some(b) = self.bar.borrow().as_ref() {
            b.finish_and_clear();
        }
    }
}

impl<W: WeightSource> WeightSource for Progress<'_, W> {
    fn weight(&self, name: &str) -> tttv2::Result<Weight<'_>> {
        let w = self.inner.weight(name)?;
        self.done.set(self.done.get() + 1);
        let mut bar = self.bar.borrow_mut();
        if bar.is_none() && self.start.elapsed().as_secs_f64() > 1.0 {
            let b = indicatif::ProgressBar::new(self.total).with_message("loading weights");
            b.set_style(
                indicatif::ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} tensors, {elapsed}")
                    .unwrap()
                    .progress_chars("=> "),
            );
            *bar = Some(b);
        }
        if let Some(b) = bar.as_ref() {
            b.set_position(self.done.get());
        }
        Ok(w)
    }
}

fn flag<T: std::str::FromStr>(args: &[String], name: &str) -> Result<Option<T>, String> {
    match args.iter().position(|a| a == name) {
        None => Ok(None),
        Some(i) => {
            let v = args.get(i + 1).ok_or_else(|| format!("{name} needs a value"))?;
            v.parse().map(Some).map_err(|_| format!("{name}: cannot parse `{v}`"))
        }
    }
}

/// The model the run uses: either compiled struct (they have the same methods).
enum Model {
    Small(SmallLlama),
    OneB(Llama32_1B),
}

impl Model {
    fn load(which: &str, device: &Device, weights: &impl WeightSource) -> tttv2::Result<Model> {
        Ok(match which {
            "small" => Model::Small(SmallLlama::load(device, weights)?),
            _ => Model::OneB(Llama32_1B::load(device, weights)?),
        })
    }

    fn weight_bytes(&self) -> u64 {
        match self {
            Model::Small(m) => m.weight_bytes(),
            Model::OneB(m) => m.weight_bytes(),
        }
    }

    fn as_lm(&mut self) -> &mut dyn CausalLm {
        match self {
            Model::Small(m) => m,
            Model::OneB(m) => m,
        }
    }

    fn generate(
        &mut self,
        device: &Device,
        prompts: &[Vec<u32>],
        options: &GenerateOptions,
    ) -> tttv2::Result<tttv2::nn::generate::Generation> {
        match self {
            Model::Small(m) => m.generate(device, prompts, options, |_, _| {}),
            Model::OneB(m) => m.generate(device, prompts, options, |_, _| {}),
        }
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let which: String = flag(&args, "--model")?.unwrap_or_else(|| "small".to_string());
    let (name, manifest, batch, device_profile, buckets, cache) = match which.as_str() {
        "small" => (
            "SmallLlama",
            SmallLlama::manifest(),
            small_llama_plan::BATCH,
            small_llama_plan::DEVICE,
            small_llama_plan::PREFILL_BUCKETS.to_vec(),
            small_llama_plan::MAX_SEQ_LEN,
        ),
        "llama-3.2-1b" => (
            "Llama32_1B",
            Llama32_1B::manifest(),
            llama32_1_b_plan::BATCH,
            llama32_1_b_plan::DEVICE,
            llama32_1_b_plan::PREFILL_BUCKETS.to_vec(),
            llama32_1_b_plan::MAX_SEQ_LEN,
        ),
        other => return Err(format!("--model `{other}`: expected `small` or `llama-3.2-1b`").into()),
    };
    let weights_dir: Option<String> = flag(&args, "--weights")?;
    let users: usize = flag(&args, "--users")?.unwrap_or(4);
    let new_tokens: usize = flag(&args, "--tokens")?.unwrap_or(if which == "small" { 32 } else { 8 });
    let top_p: Option<f32> = flag(&args, "--top-p")?;
    let temperature: f32 = flag(&args, "--temperature")?.unwrap_or(1.0);
    let seed: u64 = flag(&args, "--seed")?.unwrap_or(0);
    let text: Option<String> = flag(&args, "--prompt")?;
    let eos: Vec<u32> = flag(&args, "--eos")?.into_iter().collect();
    if users == 0 || users > batch as usize {
        return Err(format!("--users must be 1..={batch} for {name}").into());
    }

    println!("tttv2 Llama on the {} backend\n", Device::backend());
    println!("Plans chosen at compile time:");
    print_plan("SmallLlama", &SmallLlama::manifest());
    print_plan("Llama32_1B", &Llama32_1B::manifest());
    println!("\n{name} decode step, layer 0 ops:");
    for op in manifest["ops"].as_array().unwrap().iter().filter(|o| o["layer"] == 0) {
        let pc = op["program_config"]["type"].as_str().unwrap_or("-");
        let fid = op["compute_kernel_config"]["math_fidelity"].as_str().unwrap_or("-");
        let wdt = op["dtypes"]["weight"].as_str().unwrap_or("-");
        println!(
            "  {:<34} {:<58} {:<56} {:<6} {:<10} {:>7.2} µs",
            op["name"].as_str().unwrap(),
            op["ttnn_op"].as_str().unwrap(),
            pc,
            fid,
            wdt,
            op["estimate_us"].as_f64().unwrap()
        );
    }

    let device = Device::open(&device_profile)?;
    let compiled = compiled_config(&manifest);
    let tensors = 2 + !compiled.tie_word_embeddings as u64 + 9 * compiled.num_hidden_layers as u64;
    let start = Instant::now();
    let (mut model, tokenizer) = match &weights_dir {
        Some(dir) => {
            let dir = std::path::Path::new(dir);
            check_checkpoint(dir, &compiled)?;
            let source = SafetensorsWeights::open(dir)?;
            let progress = Progress::new(&source, tensors);
            let model = Model::load(&which, &device, &progress)?;
            progress.finish();
            let tok = dir.join("tokenizer.json");
            let tok = match tok.exists() {
                true => Some(tokenizers::Tokenizer::from_file(&tok).map_err(|e| format!("{}: {e}", tok.display()))?),
                false => None,
            };
            (model, tok)
        }
        None => {
            let source = synthetic_weights(&compiled);
            let progress = Progress::new(&source, tensors);
            let model = Model::load(&which, &device, &progress)?;
            progress.finish();
            (model, None)
        }
    };
    println!(
        "\n{name}: weights loaded and uploaded in {:.2?} ({}); {:.1} MB of weights on the device (one copy shared by the decode plan and the prefill buckets {buckets:?}); KV cache for {} users x {} positions",
        start.elapsed(),
        if weights_dir.is_some() { "checkpoint" } else { "synthetic" },
        model.weight_bytes() as f64 / 1e6,
        batch,
        cache,
    );

    let vocab = compiled.vocab_size;
    let prompts: Vec<Vec<u32>> = match (&text, &tokenizer) {
        (Some(t), Some(tok)) => {
            let ids = tok.encode(t.as_str(), true).map_err(|e| format!("tokenizer: {e}"))?.get_ids().to_vec();
            vec![ids; users]
        }
        (Some(_), None) => return Err("--prompt needs a tokenizer.json in the --weights directory".into()),
        (None, _) => {
            (0..users as u32).map(|u| (0..48 + 16 * u).map(|t| (t * 37 + 11 + 101 * u) % vocab).collect()).collect()
        }
    };
    let sampling = match top_p {
        Some(p) => Sampling::TopP { p, temperature, seed },
        None => Sampling::Greedy,
    };
    if args.iter().any(|a| a == "--check-trace") {
        check_trace(model.as_lm(), &device, name, &manifest, &compiled, &prompts[0])?;
    }
    let options = GenerateOptions { max_new_tokens: new_tokens, sampling, eos };
    let g = model.generate(&device, &prompts, &options)?;
    println!(
        "{} users, prompts of {:?} tokens, {:?} sampling",
        prompts.len(),
        prompts.iter().map(Vec::len).collect::<Vec<_>>(),
        sampling
    );
    for (u, (toks, stop)) in g.tokens.iter().zip(&g.stops).enumerate() {
        match &tokenizer {
            Some(tok) => {
                println!("  user {u} ({stop:?}): {:?}", tok.decode(toks, true).map_err(|e| format!("tokenizer: {e}"))?)
            }
            None => println!("  user {u} ({stop:?}): {toks:?}"),
        }
    }
    // Greedy picks the lowest id among equal logits; say so rather than hide it.
    for tie in &g.ties {
        let ids: Vec<String> = tie.tokens.iter().take(8).map(u32::to_string).collect();
        println!(
            "  warning: user {} token {}: {} tokens tie for the highest logit ({}{}); greedy took {}",
            tie.user,
            tie.step,
            tie.tokens.len(),
            ids.join(", "),
            if tie.tokens.len() > 8 { ", ..." } else { "" },
            tie.tokens[0]
        );
    }
    println!(
        "prefill: {} tokens in {:.3} s = {:.1} tokens/s",
        g.prefill_tokens,
        g.prefill_secs,
        g.prefill_tokens as f64 / g.prefill_secs
    );
    println!(
        "decode: {} steps, {} tokens in {:.3} s = {:.1} tokens/s ({:.1} tokens/s per user, {:.1} ms per step)",
        g.decode_steps,
        g.decode_tokens,
        g.decode_secs,
        g.decode_tokens as f64 / g.decode_secs,
        g.decode_steps as f64 / g.decode_secs,
        g.decode_secs * 1e3 / g.decode_steps.max(1) as f64
    );
    Ok(())
}

/// `--check-trace`: records the op trace of one prefill and one decode step of the generated
/// program and compares it, call for call, with the compiled plan (re-made through the planner's
/// API; its fingerprint must equal the compiled manifest's).
fn check_trace(
    model: &mut dyn CausalLm,
    device: &Device,
    name: &str,
    manifest: &tttv2::serde_json::Value,
    cfg: &LlamaConfig,
    prompt: &[u32],
) -> Result<(), Box<dyn std::error::Error>> {
    use tttv2::device::SystemProfile;
    use tttv2::plan::llama::{LlamaOptions, plan_llama, plan_llama_prefill_for};
    use tttv2::plan::{Mode, Policy};
    let o = &manifest["options"];
    let policy = if o["policy"] == "accuracy" { Policy::Accuracy } else { Policy::Performance };
    let opts = LlamaOptions {
        seq_len: o["seq_len"].as_u64().unwrap_or(0) as u32,
        policy,
        ..LlamaOptions::new(Mode::Decode, o["batch"].as_u64().unwrap_or(0) as u32)
    };
    let system = SystemProfile::by_name(manifest["system"].as_str().unwrap_or("")).ok_or("unknown system")?;
    let decode = plan_llama(cfg, &system, &opts)?;
    if tttv2::manifest::Manifest::new(name, &decode, Vec::new()).fingerprint
        != manifest["fingerprint"].as_str().unwrap_or("")
    {
        return Err("--check-trace: the re-made plan is not the compiled one".into());
    }
    let prompt = &prompt[..prompt.len().min(model.max_prefill_len() as usize)];
    let bucket = [128u32, 256, 512, 1024, 2048, 4096]
        .into_iter()
        .chain([opts.seq_len])
        .filter(|&b| b as usize >= prompt.len() && b <= opts.seq_len)
        .min()
        .ok_or("no bucket")?;
    let prefill = plan_llama_prefill_for(&decode, &system, bucket)?;
    tttv2::trace::start();
    model.prefill(device, 0, prompt)?;
    tttv2::nn::trace::compare(&prefill.op_trace(), &tttv2::trace::take()).map_err(|e| format!("prefill: {e}"))?;
    tttv2::trace::start();
    model.decode(device, &[1], &[prompt.len() as u32])?;
    tttv2::nn::trace::compare(&decode.op_trace(), &tttv2::trace::take()).map_err(|e| format!("decode: {e}"))?;
    println!(
        "op trace: the {bucket}-token prefill ran its {} planned calls and the decode step its {}, in order, with the planned configs",
        prefill.totals.ops, decode.totals.ops
    );
    Ok(())
}
