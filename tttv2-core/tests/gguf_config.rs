//! A GGUF file as a model's config: `LlamaConfig::from_file` reads the hyperparameters from its
//! header. The fixtures in tests/gguf were written by ggml-org's own `gguf` Python package
//! (scripts/make_gguf_fixtures.py); the other files are written here, by `gguf()` below.

use std::path::{Path, PathBuf};

use tttv2_core::hf::{HfError, HfErrorKind, LlamaConfig, RopeScaling};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/gguf").join(name)
}

/// What the fixtures hold, as a config.json (the same as tests/gguf_load.rs's `tiny_config`).
fn tiny_config(arch: &str) -> LlamaConfig {
    let text = format!(
        r#"{{"architectures": ["{arch}"], "hidden_size": 32, "intermediate_size": 32, "num_attention_heads": 2,
            "num_key_value_heads": 1, "head_dim": 8, "num_hidden_layers": 1, "vocab_size": 8, "rms_norm_eps": 1e-5,
            "rope_theta": 10000.0, "max_position_embeddings": 128, "tie_word_embeddings": false}}"#
    );
    LlamaConfig::parse(&text, Path::new("tiny/config.json")).unwrap()
}

#[test]
fn the_fixtures_read_as_their_config_json() {
    for (arch, hf) in [("llama", "LlamaForCausalLM"), ("qwen2", "Qwen2ForCausalLM")] {
        let gguf = LlamaConfig::from_file(fixture(&format!("tiny_{arch}.gguf"))).unwrap();
        let json = tiny_config(hf);
        assert_eq!(json.first_difference(&gguf), None, "{arch}");
        assert_eq!(gguf.max_position_embeddings, json.max_position_embeddings, "{arch}");
        assert_eq!(gguf.qkv_bias, arch == "qwen2", "{arch}");
        assert_eq!(gguf.qkv_bias, json.qkv_bias, "{arch}");
        assert_eq!(gguf.tie_word_embeddings, json.tie_word_embeddings, "{arch}");
        // Everything else too: the f32 epsilon reads back as config.json's 1e-5, no dtype, no
        // token ids (the fixtures have no tokenizer).
        assert_eq!(gguf, json, "{arch}");
    }
}

/// A scratch file under Cargo's per-target temporary directory.
fn write(name: &str, bytes: &[u8]) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("gguf_config");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

const NOT_A_CONFIG: &str = "is not a config: expected a Hugging Face config.json (or the directory holding it) or a GGUF file (llama.cpp's format)";

#[test]
fn a_binary_file_is_not_a_config() {
    let safetensors = fixture("tiny_llama.hf.safetensors");
    let mut late_binary = vec![b' '; 9000];
    late_binary.push(0xff);
    for path in [
        safetensors,
        write("png.bin", b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"),
        write("nul.json", b"\0{}"),
        // Text for longer than the bytes sniffed first, then not UTF-8.
        write("late_binary.json", &late_binary),
    ] {
        let e = LlamaConfig::from_file(&path).unwrap_err();
        assert_eq!(e.kind, HfErrorKind::NotAConfig, "{}", path.display());
        assert_eq!(e.to_string(), format!("{} {NOT_A_CONFIG}", path.display()));
    }
    // Text stays a (bad) config.json, with JSON's own error.
    let e = LlamaConfig::from_file(write("text.json", b"GGU")).unwrap_err();
    assert!(matches!(e.kind, HfErrorKind::InvalidJson { .. }), "{e}");
}

fn malformed(path: &Path) -> String {
    let e = LlamaConfig::from_file(path).unwrap_err();
    assert!(matches!(e.kind, HfErrorKind::MalformedGguf { .. }), "{}: {e}", path.display());
    assert!(e.to_string().starts_with(&format!("{}: not a readable GGUF header: at byte ", path.display())));
    e.to_string()
}

#[test]
fn a_truncated_gguf_is_an_error() {
    let bytes = std::fs::read(fixture("tiny_qwen2.gguf")).unwrap();
    for n in [4, 5, 8, 16, 23, 24, 31, 40, 52, 56, 100, 300, 500, 700] {
        let path = write(&format!("truncated_{n}.gguf"), &bytes[..n]);
        assert!(malformed(&path).contains("truncated"));
    }
}

#[test]
fn a_huge_string_length_is_an_error() {
    let mut bytes = gguf(&llama_kv(), &llama_tensors());
    // The length of the first key, `general.architecture`.
    bytes[24..32].copy_from_slice(&(u64::MAX / 3).to_le_bytes());
    let msg = malformed(&write("huge_string.gguf", &bytes));
    assert!(msg.contains(&format!("needs {} bytes", u64::MAX / 3)), "{msg}");
}

// ---------------------------------------------------------------------------------------------
// A small GGUF writer (the layout of llama.cpp's docs/gguf.md), for the cases the fixtures lack.
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Debug)]
enum V {
    U32(u32),
    I32(i32),
    U64(u64),
    F32(f32),
    Bool(bool),
    Str(&'static str),
    /// An array of this many strings.
    Strings(usize),
    /// An array of u32.
    U32s(Vec<u32>),
}

fn put_str(b: &mut Vec<u8>, s: &str) {
    b.extend((s.len() as u64).to_le_bytes());
    b.extend(s.as_bytes());
}

fn put_value(b: &mut Vec<u8>, v: &V) {
    let (ty, bytes): (u32, Vec<u8>) = match v {
        V::U32(x) => (4, x.to_le_bytes().into()),
        V::I32(x) => (5, x.to_le_bytes().into()),
        V::U64(x) => (10, x.to_le_bytes().into()),
        V::F32(x) => (6, x.to_le_bytes().into()),
        V::Bool(x) => (7, vec![*x as u8]),
        V::Str(s) => {
            let mut t = Vec::new();
            put_str(&mut t, s);
            (8, t)
        }
        V::Strings(n) => {
            let mut t = 8u32.to_le_bytes().to_vec();
            t.extend((*n as u64).to_le_bytes());
            for i in 0..*n {
                put_str(&mut t, &format!("tok{i}"));
            }
            (9, t)
        }
        V::U32s(xs) => {
            let mut t = 4u32.to_le_bytes().to_vec();
            t.extend((xs.len() as u64).to_le_bytes());
            xs.iter().for_each(|x| t.extend(x.to_le_bytes()));
            (9, t)
        }
    };
    b.extend(ty.to_le_bytes());
    b.extend(bytes);
}

/// A GGUF v3 header: the key/values, then one f32 tensor info per tensor (dims innermost first).
/// No tensor data follows: a config is read from the header alone.
fn gguf(kv: &[(String, V)], tensors: &[(String, Vec<u64>)]) -> Vec<u8> {
    let mut b = b"GGUF".to_vec();
    b.extend(3u32.to_le_bytes());
    b.extend((tensors.len() as u64).to_le_bytes());
    b.extend((kv.len() as u64).to_le_bytes());
    for (k, v) in kv {
        put_str(&mut b, k);
        put_value(&mut b, v);
    }
    let mut offset = 0u64;
    for (name, dims) in tensors {
        put_str(&mut b, name);
        b.extend((dims.len() as u32).to_le_bytes());
        dims.iter().for_each(|d| b.extend(d.to_le_bytes()));
        b.extend(0u32.to_le_bytes());
        b.extend(offset.to_le_bytes());
        offset += (dims.iter().product::<u64>() * 4).next_multiple_of(32);
    }
    b
}

/// A 2-layer Llama 3-like header: hidden 64, 4 heads of 16, 2 KV heads, MLP 128, vocab 100.
fn llama_kv() -> Vec<(String, V)> {
    [
        ("general.architecture", V::Str("llama")),
        ("general.name", V::Str("Tiny")),
        ("llama.block_count", V::U32(2)),
        ("llama.context_length", V::U32(256)),
        ("llama.embedding_length", V::U32(64)),
        ("llama.feed_forward_length", V::U32(128)),
        ("llama.attention.head_count", V::U32(4)),
        ("llama.attention.head_count_kv", V::U32(2)),
        ("llama.rope.freq_base", V::F32(500_000.0)),
        ("llama.attention.layer_norm_rms_epsilon", V::F32(1e-5)),
        ("llama.vocab_size", V::U32(100)),
        ("llama.rope.dimension_count", V::U32(16)),
        ("tokenizer.ggml.model", V::Str("gpt2")),
        ("tokenizer.ggml.tokens", V::Strings(100)),
        ("tokenizer.ggml.bos_token_id", V::U32(1)),
        ("tokenizer.ggml.eos_token_id", V::U32(2)),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

fn llama_tensors() -> Vec<(String, Vec<u64>)> {
    let mut t = vec![
        ("token_embd.weight".to_owned(), vec![64, 100]),
        ("output_norm.weight".to_owned(), vec![64]),
        ("output.weight".to_owned(), vec![64, 100]),
    ];
    for i in 0..2 {
        for (name, dims) in [
            ("attn_norm.weight", vec![64]),
            ("attn_q.weight", vec![64, 64]),
            ("attn_k.weight", vec![64, 32]),
            ("attn_v.weight", vec![64, 32]),
            ("attn_output.weight", vec![64, 64]),
            ("ffn_norm.weight", vec![64]),
            ("ffn_gate.weight", vec![64, 128]),
            ("ffn_up.weight", vec![64, 128]),
            ("ffn_down.weight", vec![128, 64]),
        ] {
            t.push((format!("blk.{i}.{name}"), dims));
        }
    }
    t
}

/// The base header with `set` keys replaced or added and `remove` keys dropped.
fn edited(set: &[(&str, V)], remove: &[&str]) -> Vec<(String, V)> {
    let mut kv: Vec<(String, V)> = llama_kv()
        .into_iter()
        .filter(|(k, _)| !remove.contains(&k.as_str()) && !set.iter().any(|(s, _)| s == k))
        .collect();
    kv.extend(set.iter().map(|(k, v)| (k.to_string(), v.clone())));
    kv
}

fn read(name: &str, kv: &[(String, V)], tensors: &[(String, Vec<u64>)]) -> Result<LlamaConfig, HfError> {
    LlamaConfig::from_file(write(name, &gguf(kv, tensors)))
}

fn read_kv(name: &str, set: &[(&str, V)], remove: &[&str]) -> Result<LlamaConfig, HfError> {
    read(name, &edited(set, remove), &llama_tensors())
}

/// The same model as a config.json.
fn llama_json() -> LlamaConfig {
    LlamaConfig::from_json_str(
        r#"{"architectures": ["LlamaForCausalLM"], "hidden_size": 64, "intermediate_size": 128,
            "num_attention_heads": 4, "num_key_value_heads": 2, "num_hidden_layers": 2, "vocab_size": 100,
            "rms_norm_eps": 1e-5, "rope_theta": 500000.0, "max_position_embeddings": 256,
            "bos_token_id": 1, "eos_token_id": 2}"#,
    )
    .unwrap()
}

#[test]
fn a_written_header_reads_as_the_same_config_json() {
    assert_eq!(read_kv("base.gguf", &[], &[]).unwrap(), llama_json());
}

#[test]
fn a_missing_required_key_is_named() {
    for suffix in [
        "context_length",
        "embedding_length",
        "feed_forward_length",
        "block_count",
        "attention.head_count",
        "attention.layer_norm_rms_epsilon",
    ] {
        let key = format!("llama.{suffix}");
        let name = format!("missing_{suffix}.gguf");
        let e = read_kv(&name, &[], &[&key]).unwrap_err();
        assert_eq!(e.kind, HfErrorKind::MissingField(key.clone()));
        assert!(e.to_string().ends_with(&format!("{name}: missing field `{key}`")), "{e}");
    }
    let e = read_kv("no_arch.gguf", &[], &["general.architecture"]).unwrap_err();
    assert_eq!(e.field(), Some("general.architecture"));
}

#[test]
fn other_architectures_are_refused_by_name() {
    let e = read_kv("gemma.gguf", &[("general.architecture", V::Str("gemma2"))], &[]).unwrap_err();
    assert_eq!(e.field(), Some("general.architecture"));
    let msg = e.to_string();
    assert!(msg.contains("\"gemma2\"") && msg.contains("\"llama\"") && msg.contains("\"qwen2\""), "{msg}");
}

#[test]
fn defaults_follow_llama_cpp() {
    let c = read_kv(
        "defaults.gguf",
        &[],
        &["llama.attention.head_count_kv", "llama.rope.freq_base", "llama.vocab_size", "tokenizer.ggml.bos_token_id"],
    )
    .unwrap();
    assert_eq!((c.num_key_value_heads, c.head_dim, c.rope_theta), (4, 16, 10_000.0));
    assert_eq!(c.vocab_size, 100, "the length of tokenizer.ggml.tokens");
    assert!(c.bos_token_id.is_empty());
    // Without vocab_size or a token list: the rows of token_embd.weight ([hidden, vocab]).
    let c = read_kv("vocab_from_embd.gguf", &[], &["llama.vocab_size", "tokenizer.ggml.tokens"]).unwrap();
    assert_eq!(c.vocab_size, 100);
    let e = read_kv("vocab_mismatch.gguf", &[("llama.vocab_size", V::U32(128))], &[]).unwrap_err();
    assert_eq!(e.field(), Some("llama.vocab_size"), "{e}");
    assert!(e.to_string().contains("token_embd.weight"), "{e}");
}

#[test]
fn f32_numbers_read_back_as_their_decimals() {
    for eps in [1e-5f32, 1e-6, 3e-7] {
        let c = read_kv("eps.gguf", &[("llama.attention.layer_norm_rms_epsilon", V::F32(eps))], &[]).unwrap();
        assert_eq!(c.rms_norm_eps, format!("{eps}").parse::<f64>().unwrap());
        assert_ne!(c.rms_norm_eps, eps as f64, "not the f32 widened");
    }
}

#[test]
fn token_ids_and_the_end_of_turn_token() {
    let c = read_kv("eot.gguf", &[("tokenizer.ggml.eot_token_id", V::U32(7))], &[]).unwrap();
    assert_eq!((c.bos_token_id, c.eos_token_id), (vec![1], vec![2, 7]));
    let c = read_kv("eot_same.gguf", &[("tokenizer.ggml.eot_token_id", V::U32(2))], &[]).unwrap();
    assert_eq!(c.eos_token_id, vec![2]);
    let e = read_kv("bad_bos.gguf", &[("tokenizer.ggml.bos_token_id", V::I32(-1))], &[]).unwrap_err();
    assert_eq!(e.field(), Some("tokenizer.ggml.bos_token_id"));
}

#[test]
fn rope_scaling() {
    let linear = |name: &str, set: &[(&str, V)]| read_kv(name, set, &[]).map(|c| c.rope_scaling);
    let factor = ("llama.rope.scaling.factor", V::F32(4.0));
    assert_eq!(
        linear("linear.gguf", &[("llama.rope.scaling.type", V::Str("linear")), factor.clone()]).unwrap(),
        Some(RopeScaling::Linear { factor: 4.0 })
    );
    // llama.cpp's default type is linear; the old key name counts too.
    assert_eq!(
        linear("untyped.gguf", std::slice::from_ref(&factor)).unwrap(),
        Some(RopeScaling::Linear { factor: 4.0 })
    );
    assert_eq!(
        linear("old_key.gguf", &[("llama.rope.scale_linear", V::F32(2.0))]).unwrap(),
        Some(RopeScaling::Linear { factor: 2.0 })
    );
    // Type "none" never scales (llama.cpp ignores the factor).
    assert_eq!(linear("none.gguf", &[("llama.rope.scaling.type", V::Str("none")), factor.clone()]).unwrap(), None);
    let e = linear("yarn.gguf", &[("llama.rope.scaling.type", V::Str("yarn")), factor]).unwrap_err();
    assert_eq!(e.field(), Some("llama.rope.scaling.type"), "{e}");
    assert!(e.to_string().contains("yarn"), "{e}");
    // Llama 3 scaling: divisors in a tensor, no parameters in the metadata.
    let mut tensors = llama_tensors();
    tensors.push(("rope_freqs.weight".to_owned(), vec![8]));
    let e = read("llama3.gguf", &llama_kv(), &tensors).unwrap_err();
    assert_eq!(e.field(), Some("rope_freqs.weight"));
    let msg = e.to_string();
    assert!(
        msg.contains("per-frequency divisors") && msg.contains("fix: use the model's Hugging Face config.json"),
        "{msg}"
    );
}

#[test]
fn keys_that_change_numerics_are_refused_by_name() {
    let refused: [(&str, V); 10] = [
        ("llama.expert_count", V::U32(8)),
        ("llama.expert_used_count", V::U32(2)),
        ("llama.attention.clamp_kqv", V::F32(8.0)),
        ("llama.logit_scale", V::F32(0.5)),
        ("llama.rope.dimension_count", V::U32(8)),
        ("llama.attention.layer_norm_epsilon", V::F32(1e-5)),
        ("llama.attention.value_length", V::U32(32)),
        ("llama.attention.causal", V::Bool(false)),
        // A key tttv2 does not know is not ignored.
        ("llama.embedding_scale", V::F32(12.0)),
        // Per-layer values.
        ("llama.attention.head_count", V::U32s(vec![4, 8])),
    ];
    for (key, value) in refused {
        let e = read_kv("refused.gguf", &[(key, value.clone())], &[]).unwrap_err();
        assert_eq!(e.field(), Some(key), "{value:?}: {e}");
        assert!(matches!(e.kind, HfErrorKind::Unsupported { .. }), "{key}: {e}");
        assert!(e.fix().is_some_and(|f| !f.is_empty()), "{key}");
    }
    // The same keys at values that change nothing.
    for (key, value) in [
        ("llama.expert_count", V::U32(0)),
        ("llama.logit_scale", V::F32(1.0)),
        ("llama.attention.causal", V::Bool(true)),
        ("llama.attention.value_length", V::U32(16)),
        ("llama.attention.key_length", V::U32(16)),
        ("llama.tensor_data_layout", V::Str("Meta AI original pth")),
    ] {
        assert_eq!(read_kv("inert.gguf", &[(key, value)], &[]).unwrap(), llama_json(), "{key}");
    }
}

#[test]
fn out_of_range_counts_are_errors() {
    for (key, value) in [
        ("llama.block_count", V::U32(0)),
        ("llama.block_count", V::U64(1 << 40)),
        ("llama.block_count", V::Str("2")),
        ("llama.attention.head_count_kv", V::U32(3)),
        ("llama.attention.layer_norm_rms_epsilon", V::F32(-1.0)),
        ("llama.rope.scaling.factor", V::F32(-2.0)),
        // blk.0.attn_q.weight is [64, 4 × 16].
        ("llama.attention.key_length", V::U32(32)),
    ] {
        let e = read_kv("range.gguf", &[(key, value.clone())], &[]).unwrap_err();
        assert_eq!(e.field(), Some(key), "{value:?}: {e}");
    }
}

#[test]
fn the_tensor_table_gives_the_tied_head_and_the_biases() {
    let without =
        |drop: &str| -> Vec<(String, Vec<u64>)> { llama_tensors().into_iter().filter(|(n, _)| n != drop).collect() };
    let c = read("tied.gguf", &llama_kv(), &without("output.weight")).unwrap();
    assert!(c.tie_word_embeddings);
    let with_bias = |names: &[&str]| {
        let mut t = llama_tensors();
        t.extend(names.iter().map(|n| (format!("blk.0.{n}.bias"), vec![32])));
        t
    };
    let c = read("llama_bias.gguf", &llama_kv(), &with_bias(&["attn_q", "attn_k", "attn_v"])).unwrap();
    assert!(c.qkv_bias);
    let e = read("partial_bias.gguf", &llama_kv(), &with_bias(&["attn_q"])).unwrap_err();
    assert_eq!(e.field(), Some("blk.0.attn_k.bias"), "{e}");
    for refused in ["attn_output", "ffn_gate", "ffn_down"] {
        let e = read("o_bias.gguf", &llama_kv(), &with_bias(&[refused])).unwrap_err();
        assert_eq!(e.field(), Some(format!("blk.0.{refused}.bias").as_str()));
    }
    // qwen2 always has the biases.
    let qwen = edited(&[("general.architecture", V::Str("qwen2"))], &[]);
    let qwen: Vec<(String, V)> = qwen.into_iter().map(|(k, v)| (k.replacen("llama.", "qwen2.", 1), v)).collect();
    let e = read("qwen_no_bias.gguf", &qwen, &llama_tensors()).unwrap_err();
    assert_eq!(e.field(), Some("blk.0.attn_q.bias"), "{e}");
    let c = read("qwen.gguf", &qwen, &with_bias(&["attn_q", "attn_k", "attn_v"])).unwrap();
    assert!(c.qkv_bias && c.sliding_window.is_none());
}

#[test]
fn the_sliding_window_and_split_files() {
    let c = read_kv("window.gguf", &[("llama.attention.sliding_window", V::U32(128))], &[]).unwrap();
    assert_eq!(c.sliding_window, Some(128));
    assert!(c.check_context(129).is_err());
    let e = read_kv("split.gguf", &[("split.count", V::U32(2))], &[]);
    // `split.count` is written as u16 by llama.cpp; any unsigned width is read.
    assert_eq!(e.unwrap_err().field(), Some("split.count"));
}
