//! Qwen2 and Mistral, declared from their `config.json`, on the host backend against
//! candle-transformers' own implementations of those families (`models::qwen2`,
//! `models::mistral`) on the same deterministic random checkpoint.
//!
//! Bars, as for Llama (tests/llama_accuracy.rs, tests/llama_decode.rs): prefill logits PCC ≥ 0.999
//! under `accuracy` and ≥ 0.99 under `performance`; greedy top-1 agreement over 64 teacher-forced
//! decode steps ≥ 95 % under `accuracy` (≥ 75 % under `performance`, whose random-weight logits
//! are nearly flat). Every decode step's logits PCC is held to ≥ 0.99 under `accuracy` and
//! ≥ 0.985 under `performance`: bfloat4_b MLP weights with LoFi put Mistral's worst step at
//! 0.9896 on this checkpoint (Llama's decode test holds 0.99; its mean is well above).
//!
//! The whole file runs in about 5 s in a debug build (tiny models), so like the Llama accuracy
//! tests it runs in `cargo test` rather than behind `--release`.

mod support;

use support::family_ref::{Family, candle_forced_logits, write_checkpoint};
use support::llama_ref::{TempDir, argmax, pcc};
use tttv2::nn::{CausalLm, SafetensorsWeights};
use tttv2::{Device, ttt_model};

const QWEN2: &str = "tests/models/tiny-qwen2/config.json";
const MISTRAL: &str = "tests/models/tiny-mistral/config.json";

// A 256-position KV cache, prefill buckets of 128 and 256 tokens. Mistral's window is 256: the
// whole cache fits in it, so full causal attention is exact.
#[ttt_model(
    device = "wormhole_b0",
    config = "tests/models/tiny-qwen2/config.json",
    mode = "decode",
    batch = 1,
    seq_len = 256,
    policy = "accuracy"
)]
pub struct Qwen2Accuracy;
#[ttt_model(
    device = "wormhole_b0",
    config = "tests/models/tiny-qwen2/config.json",
    mode = "decode",
    batch = 1,
    seq_len = 256,
    policy = "performance"
)]
pub struct Qwen2Performance;
#[ttt_model(
    device = "wormhole_b0",
    config = "tests/models/tiny-mistral/config.json",
    mode = "decode",
    batch = 1,
    seq_len = 256,
    policy = "accuracy"
)]
pub struct MistralAccuracy;
#[ttt_model(
    device = "wormhole_b0",
    config = "tests/models/tiny-mistral/config.json",
    mode = "decode",
    batch = 1,
    seq_len = 256,
    policy = "performance"
)]
pub struct MistralPerformance;

fn open() -> Device {
    Device::open(&qwen2_accuracy_plan::DEVICE).unwrap()
}

fn prompt(len: u32, salt: u32) -> Vec<u32> {
    (0..len).map(|t| (t * 37 + 11 + salt * 101) % 512).collect()
}

/// The two policies' models of one family, loaded from `dir`.
fn models(family: Family, device: &Device, dir: &std::path::Path) -> [(&'static str, Box<dyn CausalLm>); 2] {
    let w = SafetensorsWeights::open(dir).unwrap();
    match family {
        Family::Qwen2 => [
            ("accuracy", Box::new(Qwen2Accuracy::load(device, &w).unwrap())),
            ("performance", Box::new(Qwen2Performance::load(device, &w).unwrap())),
        ],
        Family::Mistral => [
            ("accuracy", Box::new(MistralAccuracy::load(device, &w).unwrap())),
            ("performance", Box::new(MistralPerformance::load(device, &w).unwrap())),
        ],
    }
}

fn prefill_matches_candle(family: Family, config: &str) {
    let dir = TempDir::new("family-prefill").unwrap();
    write_checkpoint(dir.path(), family, config, 7).unwrap();
    let device = open();
    let tokens = prompt(100, 0);
    let want = candle_forced_logits(dir.path(), family, &tokens, &[]).remove(0);
    for ((policy, mut model), bar) in models(family, &device, dir.path()).into_iter().zip([0.999, 0.99]) {
        let got = model.prefill(&device, 0, &tokens).unwrap();
        let p = pcc(&got, &want);
        eprintln!(
            "{family:?} {policy}: prefill logits PCC {p:.6}, top-1 ours {:?} candle {:?}",
            argmax(&got),
            argmax(&want)
        );
        assert!(p >= bar, "{family:?} {policy}: PCC {p} < {bar}");
    }
}

fn greedy_decode_agrees_with_candle(family: Family, config: &str) {
    let dir = TempDir::new("family-decode").unwrap();
    write_checkpoint(dir.path(), family, config, 11).unwrap();
    let device = open();
    let p = prompt(40, 3);
    for ((policy, mut model), (bar, step_bar)) in
        models(family, &device, dir.path()).into_iter().zip([(0.95, 0.99), (0.75, 0.985)])
    {
        let mut logits = model.prefill(&device, 0, &p).unwrap();
        let (mut ids, mut ours) = (Vec::new(), Vec::new());
        for k in 0..=64 {
            let next = argmax(&logits).unwrap();
            ids.push(next);
            ours.push(logits);
            if k == 64 {
                break;
            }
            logits = model.decode(&device, &[next], &[(p.len() + k) as u32]).unwrap().remove(0);
        }
        // Candle sees the same history: the prompt, then our ids.
        let theirs = candle_forced_logits(dir.path(), family, &p, &ids[..64]);
        let agree = (1..=64).filter(|&k| argmax(&ours[k]) == argmax(&theirs[k])).count();
        let worst = (1..=64).map(|k| pcc(&ours[k], &theirs[k])).fold(1.0f64, f64::min);
        let rate = agree as f64 / 64.0;
        eprintln!(
            "{family:?} {policy}: greedy top-1 agreement {agree}/64 = {:.1} %, worst decode-step logits PCC {worst:.6}",
            rate * 100.0
        );
        assert!(rate >= bar, "{family:?} {policy}: top-1 agreement {rate} < {bar}");
        assert!(worst >= step_bar, "{family:?} {policy}: a decode step's logits PCC is {worst} < {step_bar}");
    }
}

#[test]
fn qwen2_prefill_logits_match_candle() {
    prefill_matches_candle(Family::Qwen2, QWEN2);
}

#[test]
fn qwen2_greedy_decode_agrees_with_candle() {
    greedy_decode_agrees_with_candle(Family::Qwen2, QWEN2);
}

#[test]
fn mistral_prefill_logits_match_candle() {
    prefill_matches_candle(Family::Mistral, MISTRAL);
}

#[test]
fn mistral_greedy_decode_agrees_with_candle() {
    greedy_decode_agrees_with_candle(Family::Mistral, MISTRAL);
}

/// The q/k/v bias is part of the numerics: the same checkpoint with its biases zeroed gives
/// logits candle tells apart (so the comparison above would catch a bias dropped or misplaced).
#[test]
fn qwen2_bias_changes_the_logits() {
    let dir = TempDir::new("family-bias").unwrap();
    write_checkpoint(dir.path(), Family::Qwen2, QWEN2, 7).unwrap();
    let device = open();
    let tokens = prompt(100, 0);
    let want = candle_forced_logits(dir.path(), Family::Qwen2, &tokens, &[]).remove(0);
    let w = SafetensorsWeights::open(dir.path()).unwrap();
    let mut zeroed = tttv2::nn::Weights::new();
    let spec = support::family_ref::spec_of(&serde_json::from_str(&std::fs::read_to_string(QWEN2).unwrap()).unwrap());
    for (name, shape) in support::family_ref::tensor_shapes(Family::Qwen2, &spec) {
        use tttv2::nn::WeightSource;
        let data = if name.ends_with(".bias") {
            vec![0.0; shape.iter().product()]
        } else {
            w.weight(&name).unwrap().data.into_owned()
        };
        zeroed.insert(name, shape, data);
    }
    let got = Qwen2Accuracy::load(&device, &zeroed).unwrap().prefill(&device, 0, &tokens).unwrap();
    let p = pcc(&got, &want);
    eprintln!("Qwen2 with its q/k/v biases zeroed: prefill logits PCC {p:.6} against candle with them");
    assert!(p < 0.99, "zeroing the biases left PCC {p}");
}

/// What runs is what was planned, for a model with a bias: the op trace of a prefill and of a
/// decode step of the generated Qwen2 program equals the plan's op list call for call, and the
/// QKV matmul of every layer is planned and run with its fused bias.
#[test]
fn the_generated_qwen2_program_runs_exactly_the_planned_ops() {
    use tttv2::device::SystemProfile;
    use tttv2::plan::llama::{LlamaOptions, plan_llama, plan_llama_prefill_for};
    use tttv2::plan::{Mode, Policy};
    use tttv2::program::Call;
    let cfg = tttv2::hf::LlamaConfig::from_file(QWEN2).unwrap();
    assert!(cfg.qkv_bias && cfg.tie_word_embeddings);
    let opts = LlamaOptions { seq_len: 256, policy: Policy::Performance, ..LlamaOptions::new(Mode::Decode, 1) };
    let decode_plan = plan_llama(&cfg, &SystemProfile::N150, &opts).unwrap();
    let fp = tttv2::manifest::Manifest::new("Qwen2Performance", &decode_plan, Vec::new()).fingerprint;
    assert_eq!(Qwen2Performance::manifest()["fingerprint"], fp.as_str(), "the test re-plans what the macro compiled");
    let prefill_plan = plan_llama_prefill_for(&decode_plan, &SystemProfile::N150, 128).unwrap();
    for plan in [&decode_plan, &prefill_plan] {
        let biased: Vec<&str> =
            plan.ops.iter().filter(|o| matches!(o.call, Call::Linear(c) if c.bias)).map(|o| o.name.as_str()).collect();
        assert_eq!(biased, ["layers.0.attention.wqkv", "layers.1.attention.wqkv"], "{:?}", plan.options.mode);
    }

    let dir = TempDir::new("family-trace").unwrap();
    write_checkpoint(dir.path(), Family::Qwen2, QWEN2, 5).unwrap();
    let device = open();
    let mut model = Qwen2Performance::load(&device, &SafetensorsWeights::open(dir.path()).unwrap()).unwrap();
    tttv2::trace::start();
    model.prefill(&device, 0, &prompt(100, 1)).unwrap();
    let ran = tttv2::trace::take();
    tttv2::nn::trace::compare(&prefill_plan.op_trace(), &ran).unwrap_or_else(|e| panic!("prefill: {e}"));
    tttv2::trace::start();
    model.decode(&device, &[5], &[100]).unwrap();
    let ran = tttv2::trace::take();
    tttv2::nn::trace::compare(&decode_plan.op_trace(), &ran).unwrap_or_else(|e| panic!("decode: {e}"));
    // The linears the program ran with three tensor arguments are the biased ones.
    let with_bias = ran.iter().filter(|e| e.op == "linear" && e.inputs.len() == 3).count();
    assert_eq!(with_bias, 2);
}

/// The planner refuses a context longer than Mistral's sliding window, naming the field and the
/// fix (the macro refuses it at compile time with the same message).
#[test]
fn a_context_past_the_sliding_window_is_refused_by_the_planner() {
    use tttv2::device::SystemProfile;
    use tttv2::plan::Mode;
    use tttv2::plan::llama::{LlamaOptions, plan_llama};
    let cfg = tttv2::hf::LlamaConfig::from_file(MISTRAL).unwrap();
    assert_eq!(cfg.sliding_window, Some(256));
    let opts = |seq_len| LlamaOptions { seq_len, ..LlamaOptions::new(Mode::Decode, 1) };
    assert!(plan_llama(&cfg, &SystemProfile::N150, &opts(256)).is_ok());
    let e = plan_llama(&cfg, &SystemProfile::N150, &opts(257)).unwrap_err().to_string();
    assert!(e.contains("sliding_window") && e.contains("fix: plan at most seq_len = 256"), "{e}");
}

/// A Qwen2 published as a GGUF (issue 18): the same checkpoint written the way llama.cpp's
/// converter stores a `qwen2` model (`blk.N.attn_{q,k,v}.bias`, rows as stored, tied head without
/// `output.weight`, hyperparameters as `qwen2.*` metadata) plans from its header alone as the
/// config.json does, loads with its biases through `GgufWeights`, and matches candle's `qwen2`.
#[cfg(feature = "gguf")]
#[test]
fn a_qwen2_gguf_plans_loads_its_biases_and_matches_candle() {
    use candle_core::quantized::gguf_file::{self, Value};
    use candle_core::quantized::{GgmlDType, QTensor};
    use tttv2::hf::LlamaConfig;
    use tttv2::nn::{GgufWeights, WeightSource};

    let dir = TempDir::new("family-gguf").unwrap();
    write_checkpoint(dir.path(), Family::Qwen2, QWEN2, 7).unwrap();
    let st = SafetensorsWeights::open(dir.path()).unwrap();
    let spec = support::family_ref::spec_of(&serde_json::from_str(&std::fs::read_to_string(QWEN2).unwrap()).unwrap());
    // llama.cpp's tensor names (gguf-py `constants.py` TENSOR_NAMES).
    let gguf_name = |hf: &str| -> String {
        let fixed = [("model.embed_tokens.weight", "token_embd.weight"), ("model.norm.weight", "output_norm.weight")];
        if let Some((_, g)) = fixed.iter().find(|(h, _)| *h == hf) {
            return g.to_string();
        }
        let rest = hf.strip_prefix("model.layers.").unwrap();
        let (layer, part) = rest.split_once('.').unwrap();
        let (module, kind) = part.rsplit_once('.').unwrap();
        let short = match module {
            "input_layernorm" => "attn_norm",
            "post_attention_layernorm" => "ffn_norm",
            "self_attn.q_proj" => "attn_q",
            "self_attn.k_proj" => "attn_k",
            "self_attn.v_proj" => "attn_v",
            "self_attn.o_proj" => "attn_output",
            "mlp.gate_proj" => "ffn_gate",
            "mlp.up_proj" => "ffn_up",
            "mlp.down_proj" => "ffn_down",
            other => panic!("{other}"),
        };
        format!("blk.{layer}.{short}.{kind}")
    };
    let cpu = candle_core::Device::Cpu;
    let mut tensors = Vec::new();
    for (name, shape) in support::family_ref::tensor_shapes(Family::Qwen2, &spec) {
        let data = st.weight(&name).unwrap().data.into_owned();
        let t = candle_core::Tensor::from_vec(data, shape, &cpu).unwrap();
        tensors.push((gguf_name(&name), QTensor::quantize(&t, GgmlDType::F32).unwrap()));
    }
    assert!(tensors.iter().any(|(n, _)| n == "blk.1.attn_v.bias"), "the biases are in the file");
    let meta: Vec<(&str, Value)> = vec![
        ("general.architecture", Value::String("qwen2".into())),
        ("qwen2.context_length", Value::U32(512)),
        ("qwen2.embedding_length", Value::U32(256)),
        ("qwen2.block_count", Value::U32(2)),
        ("qwen2.feed_forward_length", Value::U32(512)),
        ("qwen2.attention.head_count", Value::U32(4)),
        ("qwen2.attention.head_count_kv", Value::U32(2)),
        ("qwen2.rope.freq_base", Value::F32(1e6)),
        ("qwen2.attention.layer_norm_rms_epsilon", Value::F32(1e-6)),
    ];
    let path = dir.path().join("tiny-qwen2.gguf");
    let mut file = std::fs::File::create(&path).unwrap();
    let meta_refs: Vec<(&str, &Value)> = meta.iter().map(|(k, v)| (*k, v)).collect();
    let tensor_refs: Vec<(&str, &QTensor)> = tensors.iter().map(|(n, t)| (n.as_str(), t)).collect();
    gguf_file::write(&mut file, &meta_refs, &tensor_refs).unwrap();
    drop(file);

    // Plans: the header is the config the models were compiled from.
    let from_header = LlamaConfig::from_file(&path).unwrap();
    assert_eq!(qwen2_accuracy_plan::model_config().first_difference(&from_header), None);
    assert!(from_header.qkv_bias);

    // Loads with its biases and computes what candle's qwen2 computes.
    let gguf = GgufWeights::open(&path).unwrap();
    let device = open();
    let tokens = prompt(100, 0);
    let want = candle_forced_logits(dir.path(), Family::Qwen2, &tokens, &[]).remove(0);
    let got = Qwen2Accuracy::load(&device, &gguf).unwrap().prefill(&device, 0, &tokens).unwrap();
    let from_safetensors = Qwen2Accuracy::load(&device, &st).unwrap().prefill(&device, 0, &tokens).unwrap();
    let p = pcc(&got, &want);
    eprintln!("Qwen2 from a GGUF: prefill logits PCC {p:.6} against candle's qwen2");
    assert!(p >= 0.999, "PCC {p}");
    assert_eq!(got, from_safetensors, "the GGUF holds the same weights, biases included");
}
