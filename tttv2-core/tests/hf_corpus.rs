//! The config corpus (`models/corpus/*/config.json`, published values of real checkpoints; see
//! `models/corpus/README.md` for where each came from): every config is read, checked field by
//! field against the table below (what transformers would use), and planned for n150 — or
//! refused with the field that changes numerics named.
//!
//! RoPE inverse frequencies are checked against values computed here, independently of
//! `tttv2_core::hf::rope`, from transformers' formulas (`modeling_rope_utils.py`:
//! `_compute_default_rope_parameters`, `_compute_linear_scaling_rope_parameters`,
//! `_compute_dynamic_ntk_parameters`, `_compute_llama3_parameters`), and against literals
//! computed in f64 with Python's `math`.

use std::path::{Path, PathBuf};

use tttv2_core::device::SystemProfile;
use tttv2_core::hf::{HfConfig, HfErrorKind, LlamaConfig, RopeScaling};
use tttv2_core::plan::Mode;
use tttv2_core::plan::llama::{LlamaOptions, plan_llama};

fn corpus(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/corpus").join(name).join("config.json")
}

/// What transformers would use for a config, field by field.
struct Expect {
    name: &'static str,
    hidden: u32,
    intermediate: u32,
    heads: u32,
    kv_heads: u32,
    head_dim: u32,
    layers: u32,
    vocab: u32,
    eps: f64,
    theta: f64,
    scaling: Option<RopeScaling>,
    tie: bool,
    max_pos: u32,
    bos: &'static [u32],
    eos: &'static [u32],
    sliding_window: Option<u32>,
    /// q/k/v bias (Qwen2).
    qkv_bias: bool,
    dtype: &'static str,
    /// Whether the weights fit one n150 (12 GB) at decode batch 1, seq_len 128.
    fits_n150: bool,
}

const LLAMA31: RopeScaling = RopeScaling::Llama3 {
    factor: 8.0,
    low_freq_factor: 1.0,
    high_freq_factor: 4.0,
    original_max_position_embeddings: 8192,
};
const LLAMA32: RopeScaling = RopeScaling::Llama3 {
    factor: 32.0,
    low_freq_factor: 1.0,
    high_freq_factor: 4.0,
    original_max_position_embeddings: 8192,
};

#[rustfmt::skip]
const PLANNED: &[Expect] = &[
    Expect { name: "Llama-3.2-1B", hidden: 2048, intermediate: 8192, heads: 32, kv_heads: 8, head_dim: 64, layers: 16, vocab: 128256, eps: 1e-5, theta: 500000.0, scaling: Some(LLAMA32), tie: true, max_pos: 131072, bos: &[128000], eos: &[128001], sliding_window: None, qkv_bias: false, dtype: "bfloat16", fits_n150: true },
    Expect { name: "Llama-3.2-3B", hidden: 3072, intermediate: 8192, heads: 24, kv_heads: 8, head_dim: 128, layers: 28, vocab: 128256, eps: 1e-5, theta: 500000.0, scaling: Some(LLAMA32), tie: true, max_pos: 131072, bos: &[128000], eos: &[128001], sliding_window: None, qkv_bias: false, dtype: "bfloat16", fits_n150: true },
    Expect { name: "Llama-3.1-8B", hidden: 4096, intermediate: 14336, heads: 32, kv_heads: 8, head_dim: 128, layers: 32, vocab: 128256, eps: 1e-5, theta: 500000.0, scaling: Some(LLAMA31), tie: false, max_pos: 131072, bos: &[128000], eos: &[128001], sliding_window: None, qkv_bias: false, dtype: "bfloat16", fits_n150: true },
    Expect { name: "Llama-3.1-70B", hidden: 8192, intermediate: 28672, heads: 64, kv_heads: 8, head_dim: 128, layers: 80, vocab: 128256, eps: 1e-5, theta: 500000.0, scaling: Some(LLAMA31), tie: false, max_pos: 131072, bos: &[128000], eos: &[128001], sliding_window: None, qkv_bias: false, dtype: "bfloat16", fits_n150: false },
    Expect { name: "DeepSeek-R1-Distill-Llama-8B", hidden: 4096, intermediate: 14336, heads: 32, kv_heads: 8, head_dim: 128, layers: 32, vocab: 128256, eps: 1e-5, theta: 500000.0, scaling: Some(LLAMA31), tie: false, max_pos: 131072, bos: &[128000], eos: &[128001], sliding_window: None, qkv_bias: false, dtype: "bfloat16", fits_n150: true },
    Expect { name: "SmolLM2-135M", hidden: 576, intermediate: 1536, heads: 9, kv_heads: 3, head_dim: 64, layers: 30, vocab: 49152, eps: 1e-5, theta: 100000.0, scaling: None, tie: true, max_pos: 8192, bos: &[0], eos: &[0], sliding_window: None, qkv_bias: false, dtype: "bfloat16", fits_n150: true },
    Expect { name: "SmolLM2-135M-transformers5", hidden: 576, intermediate: 1536, heads: 9, kv_heads: 3, head_dim: 64, layers: 30, vocab: 49152, eps: 1e-5, theta: 100000.0, scaling: None, tie: true, max_pos: 8192, bos: &[0], eos: &[0], sliding_window: None, qkv_bias: false, dtype: "bfloat16", fits_n150: true },
    Expect { name: "SmolLM2-360M", hidden: 960, intermediate: 2560, heads: 15, kv_heads: 5, head_dim: 64, layers: 32, vocab: 49152, eps: 1e-5, theta: 100000.0, scaling: None, tie: true, max_pos: 8192, bos: &[0], eos: &[0], sliding_window: None, qkv_bias: false, dtype: "bfloat16", fits_n150: true },
    Expect { name: "SmolLM2-1.7B-Instruct", hidden: 2048, intermediate: 8192, heads: 32, kv_heads: 32, head_dim: 64, layers: 24, vocab: 49152, eps: 1e-5, theta: 130000.0, scaling: None, tie: true, max_pos: 8192, bos: &[1], eos: &[2], sliding_window: None, qkv_bias: false, dtype: "bfloat16", fits_n150: true },
    Expect { name: "TinyLlama-1.1B-Chat-v1.0", hidden: 2048, intermediate: 5632, heads: 32, kv_heads: 4, head_dim: 64, layers: 22, vocab: 32000, eps: 1e-5, theta: 10000.0, scaling: None, tie: false, max_pos: 2048, bos: &[1], eos: &[2], sliding_window: None, qkv_bias: false, dtype: "bfloat16", fits_n150: true },
    Expect { name: "Mistral-7B-v0.3", hidden: 4096, intermediate: 14336, heads: 32, kv_heads: 8, head_dim: 128, layers: 32, vocab: 32768, eps: 1e-5, theta: 1000000.0, scaling: None, tie: false, max_pos: 32768, bos: &[1], eos: &[2], sliding_window: None, qkv_bias: false, dtype: "bfloat16", fits_n150: true },
    Expect { name: "Qwen2.5-0.5B", hidden: 896, intermediate: 4864, heads: 14, kv_heads: 2, head_dim: 64, layers: 24, vocab: 151936, eps: 1e-6, theta: 1000000.0, scaling: None, tie: true, max_pos: 32768, bos: &[151643], eos: &[151643], sliding_window: None, qkv_bias: true, dtype: "bfloat16", fits_n150: true },
    Expect { name: "Qwen2.5-7B", hidden: 3584, intermediate: 18944, heads: 28, kv_heads: 4, head_dim: 128, layers: 28, vocab: 152064, eps: 1e-6, theta: 1000000.0, scaling: None, tie: false, max_pos: 131072, bos: &[151643], eos: &[151643], sliding_window: None, qkv_bias: true, dtype: "bfloat16", fits_n150: true },
];

#[test]
fn every_corpus_config_is_read_as_transformers_reads_it_and_planned_for_n150() {
    let n150 = SystemProfile::by_name("n150").expect("n150 is a known system");
    for e in PLANNED {
        let c = LlamaConfig::from_file(corpus(e.name)).unwrap_or_else(|err| panic!("{}: {err}", e.name));
        let n = e.name;
        assert_eq!(c.hidden_size, e.hidden, "{n}: hidden_size");
        assert_eq!(c.intermediate_size, e.intermediate, "{n}: intermediate_size");
        assert_eq!(c.num_attention_heads, e.heads, "{n}: num_attention_heads");
        assert_eq!(c.num_key_value_heads, e.kv_heads, "{n}: num_key_value_heads");
        assert_eq!(c.head_dim, e.head_dim, "{n}: head_dim");
        assert_eq!(c.num_hidden_layers, e.layers, "{n}: num_hidden_layers");
        assert_eq!(c.vocab_size, e.vocab, "{n}: vocab_size");
        assert_eq!(c.rms_norm_eps, e.eps, "{n}: rms_norm_eps");
        assert_eq!(c.rope_theta, e.theta, "{n}: rope_theta");
        assert_eq!(c.rope_scaling, e.scaling, "{n}: rope type and scaling");
        assert_eq!(c.tie_word_embeddings, e.tie, "{n}: tie_word_embeddings");
        assert_eq!(c.max_position_embeddings, e.max_pos, "{n}: max_position_embeddings");
        assert_eq!(c.bos_token_id, e.bos, "{n}: bos_token_id");
        assert_eq!(c.eos_token_id, e.eos, "{n}: eos_token_id");
        assert_eq!(c.sliding_window, e.sliding_window, "{n}: sliding_window");
        assert_eq!(c.qkv_bias, e.qkv_bias, "{n}: q/k/v bias (Qwen2ForCausalLM)");
        assert_eq!(c.torch_dtype.as_deref(), Some(e.dtype), "{n}: torch_dtype / dtype");
        assert_eq!(c.rope_inv_freq().len(), e.head_dim as usize / 2, "{n}: one inverse frequency per rotated pair");

        for batch in [1, 32] {
            let opts = LlamaOptions::new(Mode::Decode, batch);
            c.check_context(opts.seq_len).unwrap_or_else(|err| panic!("{n}: {err}"));
            match plan_llama(&c, &n150, &opts) {
                Ok(p) => {
                    assert!(e.fits_n150, "{n}: planned on n150 but expected not to fit");
                    assert_eq!(p.model, c, "{n}: the plan records the config it was made for");
                    let biased = p
                        .ops
                        .iter()
                        .filter(|o| matches!(o.call, tttv2_core::program::Call::Linear(l) if l.bias))
                        .count();
                    let want = if e.qkv_bias { e.layers as usize } else { 0 };
                    assert_eq!(biased, want, "{n}: one fused-bias QKV matmul per layer");
                }
                Err(err) => assert!(!e.fits_n150, "{n} batch {batch}: {err}"),
            }
        }
    }
}

#[test]
fn qwen2_configs_are_read_with_their_qkv_bias_and_window_rules() {
    for name in ["Qwen2.5-0.5B", "Qwen2.5-7B"] {
        let text = std::fs::read_to_string(corpus(name)).unwrap();
        // Read: the schema takes every field of the file.
        let hf = HfConfig::parse(&text, &corpus(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(hf.architectures.as_deref(), Some(&["Qwen2ForCausalLM".to_owned()][..]));
        assert_eq!(hf.use_sliding_window, Some(false), "{name}");
        assert!(hf.max_window_layers.is_some(), "{name}");
        assert_eq!(hf.rope_theta, Some(1_000_000.0), "{name}");
    }
    // transformers' Qwen2Config: the window applies only with use_sliding_window, and only to
    // layers max_window_layers.. (none when max_window_layers >= num_hidden_layers).
    let mut v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(corpus("Qwen2.5-0.5B")).unwrap()).unwrap();
    v["use_sliding_window"] = true.into();
    v["sliding_window"] = 4096.into();
    assert_eq!(
        LlamaConfig::from_json_str(&v.to_string()).unwrap().sliding_window,
        None,
        "max_window_layers = 24 = num_hidden_layers"
    );
    v["max_window_layers"] = 20.into();
    let c = LlamaConfig::from_json_str(&v.to_string()).unwrap();
    assert_eq!(c.sliding_window, Some(4096));
    let e = c.check_context(8192).unwrap_err();
    assert!(matches!(&e, HfErrorKind::Unsupported { field, .. } if field == "sliding_window"), "{e}");
    // A Llama o_proj bias stays refused, and says what is planned instead.
    let e = tiny_with(serde_json::json!({"attention_bias": true})).unwrap_err();
    assert!(e.to_string().contains("o_proj") && e.to_string().contains("fix:"), "{e}");
}

#[test]
fn transformers5_rope_parameters_give_the_same_model_as_transformers4() {
    // The silent bug: transformers 5 writes rope_theta only inside rope_parameters.
    let v4 = LlamaConfig::from_file(corpus("SmolLM2-135M")).unwrap();
    let v5 = LlamaConfig::from_file(corpus("SmolLM2-135M-transformers5")).unwrap();
    assert_eq!(v5.rope_theta, 100_000.0);
    assert_eq!(v4, v5);
    assert_eq!(v4.rope_inv_freq(), v5.rope_inv_freq());
}

/// transformers' default inverse frequencies, computed as torch does (f32):
/// `1.0 / (base ** (torch.arange(0, dim, 2).float() / dim))`.
fn torch_default(theta: f64, dim: usize) -> Vec<f32> {
    (0..dim).step_by(2).map(|k| 1.0 / (theta as f32).powf(k as f32 / dim as f32)).collect()
}

/// transformers' `_compute_llama3_parameters` on top of [`torch_default`].
fn torch_llama3(theta: f64, dim: usize, factor: f32, low: f32, high: f32, original: f32) -> Vec<f32> {
    let (low_wavelen, high_wavelen) = (original / low, original / high);
    torch_default(theta, dim)
        .into_iter()
        .map(|f| {
            let wavelen = 2.0 * std::f32::consts::PI / f;
            let scaled = if wavelen > low_wavelen { f / factor } else { f };
            let smooth = (original / wavelen - low) / (high - low);
            // Written as transformers writes it: `~(wavelen < high_freq_wavelen) * ~(wavelen > low_freq_wavelen)`.
            #[allow(clippy::neg_cmp_op_on_partial_ord)]
            let medium = !(wavelen < high_wavelen) && !(wavelen > low_wavelen);
            if medium { (1.0 - smooth) * scaled / factor + smooth * scaled } else { scaled }
        })
        .collect()
}

/// Agreement within `ulps` f32 units in the last place (relative).
fn close(got: &[f32], want: &[f32], ulps: f32, what: &str) {
    assert_eq!(got.len(), want.len(), "{what}");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!((g - w).abs() <= ulps * f32::EPSILON * w.abs(), "{what}[{i}]: {g} vs {w}");
    }
}

#[test]
fn default_inv_freq_matches_transformers() {
    let c = LlamaConfig::from_file(corpus("SmolLM2-135M")).unwrap();
    let f = c.rope_inv_freq();
    close(&f, &torch_default(100_000.0, 64), 4.0, "SmolLM2-135M vs torch f32");
    // f64 literals (Python: 100000 ** (-2 * i / 64)).
    for (i, want) in [(0, 1.0), (1, 0.6978305848598664), (16, 0.0031622776601683794), (31, 1.4330125702369627e-05)] {
        close(&f[i..=i], &[want as f32], 1.0, &format!("SmolLM2-135M literal {i}"));
    }
}

#[test]
fn llama3_inv_freq_matches_transformers() {
    let c = LlamaConfig::from_file(corpus("Llama-3.1-8B")).unwrap();
    let f = c.rope_inv_freq();
    close(&f, &torch_llama3(500_000.0, 128, 8.0, 1.0, 4.0, 8192.0), 8.0, "Llama-3.1-8B vs torch f32");
    // Python f64: index 1 and 20 are high-frequency (kept), 29 and 32 in the smoothed band,
    // 40 and 63 low-frequency (divided by 8).
    #[rustfmt::skip]
    let literals = [(1, 0.8146172338565447), (20, 0.016560440080994446), (29, 0.002166570763503359),
                    (32, 0.0005248461609929547), (40, 3.428102195952591e-05), (63, 3.068925988914511e-07)];
    for (i, want) in literals {
        close(&f[i..=i], &[want as f32], 1.0, &format!("Llama-3.1-8B literal {i}"));
    }
    // The 3.2 factor (32) differs from the 3.1 one only in the scaled bands.
    let f32x = LlamaConfig::from_file(corpus("Llama-3.2-3B")).unwrap().rope_inv_freq();
    assert_eq!(f32x[1], f[1]);
    assert!(f32x[63] < f[63]);
}

/// TinyLlama's config with `patch` merged in.
fn tiny_with(patch: serde_json::Value) -> Result<LlamaConfig, tttv2_core::hf::HfError> {
    let mut v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(corpus("TinyLlama-1.1B-Chat-v1.0")).unwrap()).unwrap();
    for (k, x) in patch.as_object().unwrap() {
        v[k] = x.clone();
    }
    LlamaConfig::parse(&v.to_string(), Path::new("tiny/config.json"))
}

#[test]
fn linear_inv_freq_divides_by_the_factor() {
    // transformers 4.x's pre-4.42 spelling `type` and 5.x's rope_parameters both read.
    let old = tiny_with(serde_json::json!({"rope_scaling": {"type": "linear", "factor": 4.0}})).unwrap();
    let new = tiny_with(serde_json::json!({"rope_theta": null, "rope_scaling": null,
        "rope_parameters": {"rope_type": "linear", "factor": 4.0, "rope_theta": 10000.0}}))
    .unwrap();
    assert_eq!(old.rope_scaling, Some(RopeScaling::Linear { factor: 4.0 }));
    assert_eq!(old, new);
    let want: Vec<f32> = torch_default(10_000.0, 64).into_iter().map(|f| f / 4.0).collect();
    close(&old.rope_inv_freq(), &want, 4.0, "linear vs torch f32");
    for (i, lit) in [(1, 0.18747355233311397), (31, 3.33380358040831e-05)] {
        close(&old.rope_inv_freq()[i..=i], &[lit as f32], 1.0, &format!("linear literal {i}"));
    }
}

#[test]
fn dynamic_inv_freq_is_the_default_within_max_position_embeddings() {
    // `_compute_dynamic_ntk_parameters`: seq_len = max(seq_len, max_position_embeddings), so the
    // base factor ((factor * seq_len / max_pos) - (factor - 1)) is exactly 1 at or below it.
    let d = tiny_with(serde_json::json!({"rope_scaling": {"rope_type": "dynamic", "factor": 2.0}})).unwrap();
    assert_eq!(d.rope_scaling, Some(RopeScaling::Dynamic { factor: 2.0 }));
    let plain = tiny_with(serde_json::json!({})).unwrap();
    assert_eq!(d.rope_inv_freq(), plain.rope_inv_freq());
    close(&d.rope_inv_freq(), &torch_default(10_000.0, 64), 4.0, "dynamic vs torch f32");
    // A dynamic threshold below max_position_embeddings would change frequencies inside the
    // plannable context: refused.
    let e =
        tiny_with(serde_json::json!({"rope_scaling": {"rope_type": "dynamic", "factor": 2.0, "original_max_position_embeddings": 1024}}))
            .unwrap_err();
    assert_eq!(e.field(), Some("rope_scaling.original_max_position_embeddings"), "{e}");
}

#[test]
fn fields_that_change_numerics_are_refused_naming_the_field() {
    let cases = [
        (serde_json::json!({"attention_bias": true}), "attention_bias"),
        (serde_json::json!({"mlp_bias": true}), "mlp_bias"),
        (serde_json::json!({"hidden_act": "gelu"}), "hidden_act"),
        (
            serde_json::json!({"rope_scaling": {"rope_type": "yarn", "factor": 4.0, "original_max_position_embeddings": 2048}}),
            "rope_scaling.rope_type",
        ),
        (
            serde_json::json!({"rope_scaling": null, "rope_parameters": {"rope_type": "yarn", "factor": 4.0, "rope_theta": 10000.0}}),
            "rope_parameters.rope_type",
        ),
        (
            serde_json::json!({"rope_scaling": {"type": "longrope", "short_factor": [1.0], "long_factor": [1.0]}}),
            "rope_scaling.type",
        ),
        (serde_json::json!({"partial_rotary_factor": 0.5}), "partial_rotary_factor"),
        (serde_json::json!({"quantization_config": {"quant_method": "gptq", "bits": 4}}), "quantization_config"),
        (serde_json::json!({"layer_types": ["full_attention", "sliding_attention"]}), "layer_types"),
        // transformers 4 and 5 forms that disagree: never pick one silently.
        (
            serde_json::json!({"rope_parameters": {"rope_type": "default", "rope_theta": 20000.0}}),
            "rope_parameters.rope_theta",
        ),
        (
            serde_json::json!({"rope_scaling": {"rope_type": "linear", "factor": 2.0}, "rope_parameters": {"rope_type": "default"}}),
            "rope_scaling",
        ),
        (
            serde_json::json!({"rope_scaling": {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 4.0, "high_freq_factor": 1.0, "original_max_position_embeddings": 8192}}),
            "rope_scaling.high_freq_factor",
        ),
        (serde_json::json!({"rope_scaling": {"rope_type": "llama3", "factor": 8.0}}), "rope_scaling.low_freq_factor"),
        (serde_json::json!({"hidden_size": "2048"}), "hidden_size"),
        (serde_json::json!({"eos_token_id": "2"}), "eos_token_id"),
    ];
    for (patch, field) in cases {
        let e = tiny_with(patch.clone()).unwrap_err();
        assert_eq!(e.field(), Some(field), "{patch}: {e}");
        assert!(e.to_string().starts_with("tiny/config.json: "), "{e}");
        if let HfErrorKind::Unsupported { fix, .. } = &e.kind {
            assert!(!fix.is_empty() && e.to_string().contains("; fix: "), "{e}");
        }
    }
}

#[test]
fn fields_that_do_not_change_numerics_are_accepted() {
    let base = tiny_with(serde_json::json!({})).unwrap();
    let c = tiny_with(serde_json::json!({
        "some_future_field": {"nested": [1, 2]}, "pad_token_id": null, "attention_dropout": 0.1,
        "pretraining_tp": 2, "hidden_act": "swish", "attention_bias": false, "mlp_bias": false,
        "rope_scaling": {"rope_type": "default"}, "sliding_window": 16
    }))
    .unwrap();
    assert_eq!(c, base, "Llama ignores sliding_window as transformers' LlamaConfig does");
    // eos as a list (Llama-3.1-Instruct) and transformers 5's `dtype`.
    let c = tiny_with(
        serde_json::json!({"eos_token_id": [128001, 128008, 128009], "torch_dtype": null, "dtype": "float32"}),
    )
    .unwrap();
    assert_eq!(c.eos_token_id, [128001, 128008, 128009]);
    assert_eq!(c.torch_dtype.as_deref(), Some("float32"));
}

#[test]
fn a_sliding_window_narrower_than_the_planned_context_is_refused() {
    let mut v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(corpus("Mistral-7B-v0.3")).unwrap()).unwrap();
    // Mistral-7B-v0.1 style: a 4096 window. Absent means MistralConfig's default, 4096 too.
    v["sliding_window"] = 4096.into();
    let explicit = LlamaConfig::from_json_str(&v.to_string()).unwrap();
    v.as_object_mut().unwrap().remove("sliding_window");
    let absent = LlamaConfig::from_json_str(&v.to_string()).unwrap();
    for c in [explicit, absent] {
        assert_eq!(c.sliding_window, Some(4096));
        assert!(c.check_context(4096).is_ok());
        let e = c.check_context(4097).unwrap_err();
        assert!(matches!(&e, HfErrorKind::Unsupported { field, .. } if field == "sliding_window"), "{e}");
        assert!(e.to_string().contains("fix: plan at most seq_len = 4096"), "{e}");
    }
    // Mistral-7B-v0.3 writes `null`: no window.
    assert_eq!(LlamaConfig::from_file(corpus("Mistral-7B-v0.3")).unwrap().sliding_window, None);
}
