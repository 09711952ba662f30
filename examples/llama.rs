//! Llama on the host backend: a small Llama declared field by field and Llama-3.2-1B declared
//! from its Hugging Face config, both planned for a Wormhole B0 n150 at compile time.
//!
//! `cargo run --release --example llama` runs the small model on deterministic synthetic weights;
//! `-- --weights <dir>` loads a Hugging Face checkpoint with the small model's shapes instead
//! (`config.json` + `model.safetensors` or a sharded index).
//!
//! Generated today: prefill (prompt processing) with the planned configs. Decode with a KV cache
//! is not generated yet, so each new token here re-runs prefill over the prompt so far (correct,
//! but quadratic); the Llama-3.2-1B plan is shown, not run.

use std::time::Instant;

use tttv2::hf::LlamaConfig;
use tttv2::nn::{SafetensorsWeights, Weights};
use tttv2::{Device, ttt_model};

/// A small Llama-architecture model: 4 layers, GQA 8/2, vocab 2048.
#[ttt_model(device = "wormhole_b0", mode = "prefill", batch = 1, seq_len = 128, policy = "performance")]
pub struct SmallLlama {
    #[embedding(vocab = 2048, dim = 512)]
    embed_tokens: Embedding,
    #[decoder(repeat = 4, eps = 1e-5,
              attention(heads = 8, kv_heads = 2, head_dim = 64, rope_theta = 10000.0),
              mlp(intermediate = 1536, activation = "silu"))]
    layers: Decoder,
    #[rms_norm(dim = 512, eps = 1e-5)]
    norm: RmsNorm,
    #[lm_head(vocab = 2048, tied = false)]
    lm_head: LmHead,
}

/// Llama-3.2-1B's decode plan on n150 (32 users, 2048 positions).
#[ttt_model(device = "wormhole_b0", config = "models/Llama-3.2-1B/config.json", mode = "decode", batch = 32, seq_len = 2048)]
pub struct Llama32_1B;

/// Deterministic weights in [-scale, scale) from splitmix64, by Hugging Face name.
fn synthetic_weights(cfg: &LlamaConfig) -> Weights {
    let (h, i, v) = (cfg.hidden_size as usize, cfg.intermediate_size as usize, cfg.vocab_size as usize);
    let (q, kv) = ((cfg.num_attention_heads * cfg.head_dim) as usize, (cfg.num_key_value_heads * cfg.head_dim) as usize);
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
    w.insert("lm_head.weight", vec![v, h], values(v * h, lin(h)));
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

/// The compiled model's configuration, as the manifest records it.
fn compiled_config() -> LlamaConfig {
    let mut model = SmallLlama::manifest()["model"].clone();
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
            return Err(format!("{}: field `{field}` is {got} but the model was compiled with {want}; recompile the model for this checkpoint", dir.join("config.json").display()));
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

fn argmax(v: &[f32]) -> u32 {
    v.iter().enumerate().fold((0, f32::NEG_INFINITY), |b, (i, &x)| if x > b.1 { (i, x) } else { b }).0 as u32
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let weights_dir = args.iter().position(|a| a == "--weights").and_then(|i| args.get(i + 1));

    println!("tttv2 Llama on the {} backend\n", Device::backend());
    println!("Plans chosen at compile time:");
    print_plan("SmallLlama", &SmallLlama::manifest());
    print_plan("Llama32_1B", &Llama32_1B::manifest());
    println!("\nSmallLlama, layer 0 ops:");
    for op in SmallLlama::manifest()["ops"].as_array().unwrap().iter().filter(|o| o["layer"] == 0) {
        let pc = op["program_config"]["type"].as_str().unwrap_or("-");
        let fid = op["compute_kernel_config"]["math_fidelity"].as_str().unwrap_or("-");
        let wdt = op["dtypes"]["weight"].as_str().unwrap_or("-");
        println!("  {:<34} {:<58} {:<56} {:<6} {:<10} {:>7.2} µs", op["name"].as_str().unwrap(), op["ttnn_op"].as_str().unwrap(), pc, fid, wdt, op["estimate_us"].as_f64().unwrap());
    }

    let device = Device::open(&small_llama_plan::DEVICE)?;
    let compiled = compiled_config();
    let start = Instant::now();
    let mut model = match weights_dir {
        Some(dir) => {
            let dir = std::path::Path::new(dir);
            check_checkpoint(dir, &compiled)?;
            SmallLlama::load(&device, &SafetensorsWeights::open(dir)?)?
        }
        None => SmallLlama::load(&device, &synthetic_weights(&compiled))?,
    };
    println!("\nweights loaded and uploaded in {:.2?} ({})", start.elapsed(), if weights_dir.is_some() { "checkpoint" } else { "synthetic" });

    let vocab = compiled.vocab_size;
    let mut tokens: Vec<u32> = (0..64).map(|t| (t * 37 + 11) % vocab).collect();
    let prompt_len = tokens.len();
    let t0 = Instant::now();
    let logits = model.prefill(&device, &tokens)?;
    let prefill = t0.elapsed();
    println!("prefill of {prompt_len} tokens: {:.2?} = {:.1} tokens/s", prefill, prompt_len as f64 / prefill.as_secs_f64());
    tokens.push(argmax(&logits));
    // No decode kernel path is generated yet: each further token re-runs prefill.
    let t1 = Instant::now();
    while tokens.len() < prompt_len + 16 {
        let logits = model.prefill(&device, &tokens)?;
        tokens.push(argmax(&logits));
    }
    println!(
        "generated (greedy): {:?}\n  ({} tokens by re-running prefill, {:.2?}; decode with a KV cache is not generated yet)",
        &tokens[prompt_len..],
        tokens.len() - prompt_len - 1,
        t1.elapsed()
    );
    Ok(())
}
