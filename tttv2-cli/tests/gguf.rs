//! `tttv2 plan --config model.gguf`: a GGUF file (llama.cpp's format) plans as the same model's
//! config.json does, named for the file.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use tttv2_core::hf::LlamaConfig;

fn tttv2(args: &[&str]) -> Output {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_owned();
    Command::new(env!("CARGO_BIN_EXE_tttv2")).current_dir(root).args(args).output().expect("the tttv2 binary runs")
}

fn plan_json(config: &Path) -> serde_json::Value {
    let config = config.to_str().unwrap();
    let args = ["plan", "--config", config, "--device", "n150", "--mode", "decode", "--batch", "1", "--json"];
    let out = tttv2(&args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{config}: {stderr}");
    serde_json::from_slice(&out.stdout).unwrap()
}

fn scratch() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("tiny-gguf-model");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn put_str(b: &mut Vec<u8>, s: &str) {
    b.extend((s.len() as u64).to_le_bytes());
    b.extend(s.as_bytes());
}

/// A GGUF v3 header (llama.cpp's docs/gguf.md) of a 2-layer Llama: hidden 256, 4 heads of 64,
/// 2 KV heads, MLP 512, vocab 512. u32 and f32 values only; one f32 tensor info per tensor, no
/// tensor data (a config is read from the header alone).
fn tiny_llama_gguf() -> Vec<u8> {
    let (u32_ty, f32_ty, str_ty) = (4u32, 6u32, 8u32);
    let counts = [
        ("llama.block_count", 2),
        ("llama.context_length", 512),
        ("llama.embedding_length", 256),
        ("llama.feed_forward_length", 512),
        ("llama.attention.head_count", 4),
        ("llama.attention.head_count_kv", 2),
        ("llama.vocab_size", 512),
        ("llama.rope.dimension_count", 64),
    ];
    let floats = [("llama.rope.freq_base", 1e6f32), ("llama.attention.layer_norm_rms_epsilon", 1e-5)];
    let mut tensors = vec![
        ("token_embd.weight".to_owned(), vec![256u64, 512]),
        ("output_norm.weight".to_owned(), vec![256]),
        ("output.weight".to_owned(), vec![256, 512]),
    ];
    for i in 0..2 {
        for (name, dims) in [
            ("attn_norm", vec![256]),
            ("attn_q", vec![256, 256]),
            ("attn_k", vec![256, 128]),
            ("attn_v", vec![256, 128]),
            ("attn_output", vec![256, 256]),
            ("ffn_norm", vec![256]),
            ("ffn_gate", vec![256, 512]),
            ("ffn_up", vec![256, 512]),
            ("ffn_down", vec![512, 256]),
        ] {
            tensors.push((format!("blk.{i}.{name}.weight"), dims));
        }
    }
    let mut b = b"GGUF".to_vec();
    b.extend(3u32.to_le_bytes());
    b.extend((tensors.len() as u64).to_le_bytes());
    b.extend((1 + counts.len() as u64 + floats.len() as u64).to_le_bytes());
    put_str(&mut b, "general.architecture");
    b.extend(str_ty.to_le_bytes());
    put_str(&mut b, "llama");
    for (k, v) in counts {
        put_str(&mut b, k);
        b.extend(u32_ty.to_le_bytes());
        b.extend(u32::to_le_bytes(v));
    }
    for (k, v) in floats {
        put_str(&mut b, k);
        b.extend(f32_ty.to_le_bytes());
        b.extend(v.to_le_bytes());
    }
    let mut offset = 0u64;
    for (name, dims) in &tensors {
        put_str(&mut b, name);
        b.extend((dims.len() as u32).to_le_bytes());
        dims.iter().for_each(|d| b.extend(d.to_le_bytes()));
        b.extend(0u32.to_le_bytes());
        b.extend(offset.to_le_bytes());
        offset += dims.iter().product::<u64>() * 4;
    }
    b
}

const TINY_LLAMA_JSON: &str = r#"{"architectures": ["LlamaForCausalLM"], "hidden_size": 256,
    "intermediate_size": 512, "num_attention_heads": 4, "num_key_value_heads": 2, "num_hidden_layers": 2,
    "vocab_size": 512, "rms_norm_eps": 1e-5, "rope_theta": 1000000.0, "max_position_embeddings": 512}"#;

#[test]
fn a_gguf_file_plans_as_its_config_json_named_for_the_file() {
    let dir = scratch();
    let gguf = dir.join("tiny-llama-Q8_0.gguf");
    std::fs::write(&gguf, tiny_llama_gguf()).unwrap();
    let json = dir.join("config.json");
    std::fs::write(&json, TINY_LLAMA_JSON).unwrap();

    let (from_gguf, from_json) = (plan_json(&gguf), plan_json(&json));
    assert_eq!(from_gguf["name"], "tiny-llama-Q8_0");
    assert_eq!(from_json["name"], "tiny-gguf-model");
    for section in ["model", "options", "ops", "totals"] {
        assert_eq!(from_gguf[section], from_json[section], "{section}");
    }
    assert!(!from_gguf["ops"].as_array().unwrap().is_empty());
}

/// The fixture written by ggml-org's gguf package reads, but its heads (8 wide) are narrower
/// than a tile: the planner refuses it, naming the rule and the fix (exit 1, not a config error).
#[test]
fn the_tiny_fixture_is_refused_by_the_planner_not_the_reader() {
    let out = tttv2(&[
        "plan",
        "--config",
        "tests/gguf/tiny_qwen2.gguf",
        "--device",
        "n150",
        "--mode",
        "decode",
        "--batch",
        "1",
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("tile") && err.contains("fix:"), "{err}");
}

#[test]
fn a_binary_file_is_not_a_config() {
    let path = scratch().join("weights.bin");
    std::fs::write(&path, b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR").unwrap();
    let out =
        tttv2(&["plan", "--config", path.to_str().unwrap(), "--device", "n150", "--mode", "decode", "--batch", "1"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    let expected = format!(
        "error: {} is not a config: expected a Hugging Face config.json (or the directory holding it) or a GGUF file (llama.cpp's format)",
        path.display()
    );
    assert_eq!(err.trim_end(), expected);
}

/// `tttv2 new` on a GGUF file writes a crate whose config.json is the file's config (written from
/// its metadata, saying so), whose tttv2 reads GGUF files, and whose `main` loads the file; on a
/// Hugging Face config it writes the crate as before. (tests/new.rs builds and runs both.)
#[test]
fn new_on_a_gguf_file_writes_its_config_as_config_json() {
    let dir = scratch();
    let gguf = dir.join("for-new.gguf");
    std::fs::write(&gguf, tiny_llama_gguf()).unwrap();
    let out_dir = dir.join("new-out");
    let _ = std::fs::remove_dir_all(&out_dir);
    let out = tttv2(&["new", "chat", "--config", gguf.to_str().unwrap(), "--out", out_dir.to_str().unwrap()]);
    let (stdout, err) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{err}");
    let file = std::fs::canonicalize(&gguf).unwrap();
    assert!(stdout.contains(&format!("--weights {} --prompt", file.display())), "{stdout}");

    let written = LlamaConfig::from_file(out_dir.join("config.json")).unwrap();
    assert_eq!(written, LlamaConfig::from_file(&gguf).unwrap());
    assert_eq!(written, LlamaConfig::from_json_str(TINY_LLAMA_JSON).unwrap(), "the same model as its config.json");
    let toml = std::fs::read_to_string(out_dir.join("Cargo.toml")).unwrap();
    assert!(toml.starts_with(&format!("# config.json was written from the metadata of {}", gguf.display())), "{toml}");
    assert!(toml.contains(r#"features = ["wormhole_b0", "chat", "gguf"]"#), "{toml}");
    let main = std::fs::read_to_string(out_dir.join("src/main.rs")).unwrap();
    assert!(
        main.starts_with("//! Chat with for-new through tttv2; config.json was written from the metadata of "),
        "{main}"
    );
    for code in [
        "tttv2::hf::is_gguf(&args.weights)",
        "Chat::from_gguf(&args.weights)?",
        "GgufWeights::open(&args.weights)?",
        "SafetensorsWeights::open(&args.weights)?",
        "--weights <file.gguf>",
        "/// The GGUF file, or the Hugging Face model directory",
    ] {
        assert!(main.contains(code), "{code}:\n{main}");
    }

    // A Hugging Face config: copied as is, no `gguf` feature, the directory's `main`.
    let json_dir = dir.join("hf-dir");
    std::fs::create_dir_all(&json_dir).unwrap();
    std::fs::write(json_dir.join("config.json"), TINY_LLAMA_JSON).unwrap();
    let hf_out = dir.join("new-hf-out");
    let _ = std::fs::remove_dir_all(&hf_out);
    let out = tttv2(&["new", "chat", "--config", json_dir.to_str().unwrap(), "--out", hf_out.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(std::fs::read_to_string(hf_out.join("config.json")).unwrap(), TINY_LLAMA_JSON);
    let toml = std::fs::read_to_string(hf_out.join("Cargo.toml")).unwrap();
    assert!(toml.starts_with("[package]") && toml.contains(r#"features = ["wormhole_b0", "chat"] }"#), "{toml}");
    let main = std::fs::read_to_string(hf_out.join("src/main.rs")).unwrap();
    assert!(
        !main.contains("Gguf") && !main.contains("from_gguf") && main.contains("Chat::from_dir(&args.weights)?"),
        "{main}"
    );
}
