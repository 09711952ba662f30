//! `tttv2 new` end to end: writes a crate for a tiny Hugging Face model directory (config,
//! word-level tokenizer, ChatML chat template, safetensors weights), builds it with cargo, and
//! chats with it.
//!
//! The model's LM head is zero, so every logit is 0: greedy takes token 0 each step, and each
//! step is a tie the program must report. That makes the reply known without a reference model
//! (the rest of the forward pass runs on random weights); numerics are checked elsewhere
//! (`tests/llama_accuracy.rs`, against candle).
//!
//! Release only (it builds a crate: minutes on a cold cache); CI runs it as its own step.

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_owned()
}

/// splitmix64 values in [-scale, scale).
fn values(n: usize, scale: f32, state: &mut u64) -> Vec<f32> {
    (0..n)
        .map(|_| {
            *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = *state;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^= z >> 31;
            ((z >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0) * scale
        })
        .collect()
}

/// A safetensors file of f32 tensors (8-byte header length, JSON header, little-endian data).
fn write_safetensors(path: &Path, tensors: &[(String, Vec<usize>, Vec<f32>)]) {
    let mut header = serde_json::Map::new();
    let mut data = Vec::new();
    for (name, shape, v) in tensors {
        assert_eq!(shape.iter().product::<usize>(), v.len(), "{name}");
        let start = data.len();
        data.extend(v.iter().flat_map(|x| x.to_le_bytes()));
        header.insert(
            name.clone(),
            serde_json::json!({"dtype": "F32", "shape": shape, "data_offsets": [start, data.len()]}),
        );
    }
    let mut h = serde_json::to_vec(&header).unwrap();
    while !h.len().is_multiple_of(8) {
        h.push(b' ');
    }
    let mut bytes = (h.len() as u64).to_le_bytes().to_vec();
    bytes.extend(h);
    bytes.extend(data);
    std::fs::write(path, bytes).unwrap();
}

/// The tiny model directory: tests/models/tiny-accuracy's config (256 wide, 2 layers, vocab 512).
fn write_model(dir: &Path, generation_eos: Option<u32>) {
    std::fs::create_dir_all(dir).unwrap();
    let cfg: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(root().join("tests/models/tiny-accuracy/config.json")).unwrap())
            .unwrap();
    std::fs::write(dir.join("config.json"), serde_json::to_string_pretty(&cfg).unwrap()).unwrap();
    let n = |k: &str| cfg[k].as_u64().unwrap() as usize;
    let (h, i, v, layers) = (n("hidden_size"), n("intermediate_size"), n("vocab_size"), n("num_hidden_layers"));
    let (q, kv) = (n("num_attention_heads") * n("head_dim"), n("num_key_value_heads") * n("head_dim"));
    let mut s = 42u64;
    let mut t = vec![
        ("model.embed_tokens.weight".to_owned(), vec![v, h], values(v * h, 1.0, &mut s)),
        ("lm_head.weight".to_owned(), vec![v, h], vec![0.0; v * h]),
        ("model.norm.weight".to_owned(), vec![h], vec![1.0; h]),
    ];
    for l in 0..layers {
        let p = |x: &str| format!("model.layers.{l}.{x}");
        let lin = |inp: usize| (3.0 / inp as f32).sqrt();
        for (name, rows, cols) in [
            ("self_attn.q_proj.weight", q, h),
            ("self_attn.k_proj.weight", kv, h),
            ("self_attn.v_proj.weight", kv, h),
            ("self_attn.o_proj.weight", h, q),
            ("mlp.gate_proj.weight", i, h),
            ("mlp.up_proj.weight", i, h),
            ("mlp.down_proj.weight", h, i),
        ] {
            t.push((p(name), vec![rows, cols], values(rows * cols, lin(cols), &mut s)));
        }
        t.push((p("input_layernorm.weight"), vec![h], vec![1.0; h]));
        t.push((p("post_attention_layernorm.weight"), vec![h], vec![1.0; h]));
    }
    write_safetensors(&dir.join("model.safetensors"), &t);
    // Word-level tokenizer: id 0 "hello", then a few words, then ChatML's special tokens.
    let words = ["hello", "world", "system", "user", "assistant", "you", "are", "helpful", "hi", "<unk>"];
    let mut vocab: serde_json::Map<String, serde_json::Value> =
        words.iter().enumerate().map(|(i, w)| ((*w).to_owned(), i.into())).collect();
    let specials = ["<|im_start|>", "<|im_end|>"];
    let added: Vec<serde_json::Value> = specials
        .iter()
        .enumerate()
        .map(|(k, s)| {
            let id = words.len() + k;
            vocab.insert((*s).to_owned(), id.into());
            serde_json::json!({"id": id, "content": s, "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true})
        })
        .collect();
    let tokenizer = serde_json::json!({
        "version": "1.0", "truncation": null, "padding": null, "added_tokens": added,
        "normalizer": null, "pre_tokenizer": {"type": "Whitespace"}, "post_processor": null,
        "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": false},
        "model": {"type": "WordLevel", "vocab": vocab, "unk_token": "<unk>"}
    });
    std::fs::write(dir.join("tokenizer.json"), tokenizer.to_string()).unwrap();
    // SmolLM2's ChatML template (tests/chat/SmolLM2-135M-Instruct).
    let template =
        std::fs::read_to_string(root().join("tests/chat/SmolLM2-135M-Instruct/chat_template.jinja")).unwrap();
    let tc = serde_json::json!({"bos_token": "<|im_start|>", "eos_token": "<|im_end|>", "chat_template": template});
    std::fs::write(dir.join("tokenizer_config.json"), tc.to_string()).unwrap();
    if let Some(eos) = generation_eos {
        std::fs::write(dir.join("generation_config.json"), serde_json::json!({"eos_token_id": [eos]}).to_string())
            .unwrap();
    }
}

/// A GGUF metadata value.
enum Meta {
    U32(u32),
    F32(f32),
    Str(String),
    Strs(Vec<String>),
    I32s(Vec<i32>),
}

fn put_str(b: &mut Vec<u8>, s: &str) {
    b.extend((s.len() as u64).to_le_bytes());
    b.extend(s.as_bytes());
}

/// A GGUF v3 file (llama.cpp's docs/gguf.md) of f32 tensors: magic, version, tensor and key/value
/// counts, the key/values (`general.alignment` = 32 first), the tensor infos (dimensions innermost
/// first, ggml type 0 = F32, offsets from the start of the data, each aligned to 32), padding to
/// 32, the data. Tensors are given in Hugging Face layout (`[rows, cols]`, row-major), which is
/// ggml's `[cols, rows]`.
fn write_gguf(path: &Path, kv: &[(String, Meta)], tensors: &[(String, Vec<usize>, Vec<f32>)]) {
    const ALIGN: usize = 32;
    let pad = |b: &mut Vec<u8>| b.resize(b.len().next_multiple_of(ALIGN), 0);
    let mut b = b"GGUF".to_vec();
    b.extend(3u32.to_le_bytes());
    b.extend((tensors.len() as u64).to_le_bytes());
    b.extend((kv.len() as u64 + 1).to_le_bytes());
    put_str(&mut b, "general.alignment");
    b.extend(4u32.to_le_bytes());
    b.extend((ALIGN as u32).to_le_bytes());
    for (key, value) in kv {
        put_str(&mut b, key);
        match value {
            Meta::U32(v) => {
                b.extend(4u32.to_le_bytes());
                b.extend(v.to_le_bytes());
            }
            Meta::F32(v) => {
                b.extend(6u32.to_le_bytes());
                b.extend(v.to_le_bytes());
            }
            Meta::Str(v) => {
                b.extend(8u32.to_le_bytes());
                put_str(&mut b, v);
            }
            Meta::Strs(v) => {
                b.extend(9u32.to_le_bytes());
                b.extend(8u32.to_le_bytes());
                b.extend((v.len() as u64).to_le_bytes());
                v.iter().for_each(|s| put_str(&mut b, s));
            }
            Meta::I32s(v) => {
                b.extend(9u32.to_le_bytes());
                b.extend(5u32.to_le_bytes());
                b.extend((v.len() as u64).to_le_bytes());
                v.iter().for_each(|x| b.extend(x.to_le_bytes()));
            }
        }
    }
    let mut data = Vec::new();
    for (name, shape, v) in tensors {
        assert_eq!(shape.iter().product::<usize>(), v.len(), "{name}");
        put_str(&mut b, name);
        b.extend((shape.len() as u32).to_le_bytes());
        shape.iter().rev().for_each(|&d| b.extend((d as u64).to_le_bytes()));
        b.extend(0u32.to_le_bytes());
        b.extend((data.len() as u64).to_le_bytes());
        data.extend(v.iter().flat_map(|x| x.to_le_bytes()));
        pad(&mut data);
    }
    pad(&mut b);
    b.extend(data);
    std::fs::write(path, b).unwrap();
}

/// llama.cpp's `LlamaModel.permute` (convert_hf_to_gguf.py) of a `[heads · d, cols]` q or k
/// projection: within each head, Hugging Face row `s·d/2 + j` is stored as row `2j + s`.
fn permute(hf: &[f32], heads: usize, cols: usize) -> Vec<f32> {
    let d = hf.len() / cols / heads;
    let mut out = vec![0.0; hf.len()];
    for h in 0..heads {
        for j in 0..d / 2 {
            for s in 0..2 {
                let (src, dst) = (h * d + s * d / 2 + j, h * d + 2 * j + s);
                out[dst * cols..(dst + 1) * cols].copy_from_slice(&hf[src * cols..(src + 1) * cols]);
            }
        }
    }
    out
}

/// GPT-2's byte-to-character map (`bytes_to_unicode`): printable Latin-1 bytes are themselves,
/// the others 256, 257, ... in byte order.
fn byte_chars() -> Vec<char> {
    let printable = |b: u32| (0x21..=0x7e).contains(&b) || (0xa1..=0xac).contains(&b) || (0xae..=0xff).contains(&b);
    let mut next = 256;
    (0..256u32)
        .map(|b| {
            if printable(b) {
                char::from_u32(b).unwrap()
            } else {
                next += 1;
                char::from_u32(next - 1).unwrap()
            }
        })
        .collect()
}

/// Token ids of the GGUF's byte-level BPE vocabulary (512 tokens): "hello", the 256 byte
/// characters, the merges' "he", "ll", "hell", ChatML's two control tokens, unused fillers.
const HELLO: i32 = 0;
const IM_START: u32 = 260;
const IM_END: u32 = 261;

/// The tiny model (tests/models/tiny-accuracy's shapes: 256 wide, 2 layers of 4 heads of 64,
/// 2 KV heads, MLP 512, vocab 512) as a GGUF file of architecture `arch` (`llama`: q/k rows
/// permuted as llama.cpp stores them; `qwen2`: with q/k/v biases), LM head zero, with a gpt2
/// tokenizer (pre-tokenizer `pre`), SmolLM2's ChatML template, BOS <|im_start|> and EOS `eos`.
fn write_gguf_model(path: &Path, arch: &str, pre: &str, layers: usize, eos: u32) {
    let (h, i, v, heads, kv_heads, d) = (256usize, 512usize, 512usize, 4usize, 2usize, 64usize);
    let (q, kv) = (heads * d, kv_heads * d);
    let key = |k: &str| format!("{arch}.{k}");
    let mut tokens = vec!["hello".to_owned()];
    tokens.extend(byte_chars().into_iter().map(String::from));
    tokens.extend(["he", "ll", "hell", "<|im_start|>", "<|im_end|>"].map(String::from));
    assert_eq!(tokens[IM_END as usize], "<|im_end|>");
    tokens.extend((tokens.len()..v).map(|k| format!("<unused{k}>")));
    let types: Vec<i32> = (0..v as u32).map(|t| if t == IM_START || t == IM_END { 3 } else { 1 }).collect();
    let template =
        std::fs::read_to_string(root().join("tests/chat/SmolLM2-135M-Instruct/chat_template.jinja")).unwrap();
    let kvs = vec![
        ("general.architecture".to_owned(), Meta::Str(arch.to_owned())),
        (key("context_length"), Meta::U32(512)),
        (key("embedding_length"), Meta::U32(h as u32)),
        (key("block_count"), Meta::U32(layers as u32)),
        (key("feed_forward_length"), Meta::U32(i as u32)),
        (key("attention.head_count"), Meta::U32(heads as u32)),
        (key("attention.head_count_kv"), Meta::U32(kv_heads as u32)),
        (key("rope.dimension_count"), Meta::U32(d as u32)),
        (key("rope.freq_base"), Meta::F32(10000.0)),
        (key("attention.layer_norm_rms_epsilon"), Meta::F32(1e-5)),
        ("tokenizer.ggml.model".to_owned(), Meta::Str("gpt2".to_owned())),
        ("tokenizer.ggml.pre".to_owned(), Meta::Str(pre.to_owned())),
        ("tokenizer.ggml.tokens".to_owned(), Meta::Strs(tokens)),
        ("tokenizer.ggml.token_type".to_owned(), Meta::I32s(types)),
        ("tokenizer.ggml.merges".to_owned(), Meta::Strs(["h e", "l l", "he ll", "hell o"].map(String::from).to_vec())),
        ("tokenizer.ggml.bos_token_id".to_owned(), Meta::U32(IM_START)),
        ("tokenizer.ggml.eos_token_id".to_owned(), Meta::U32(eos)),
        ("tokenizer.chat_template".to_owned(), Meta::Str(template)),
    ];
    let mut s = 7u64;
    let mut t = vec![
        ("token_embd.weight".to_owned(), vec![v, h], values(v * h, 1.0, &mut s)),
        ("output.weight".to_owned(), vec![v, h], vec![0.0; v * h]),
        ("output_norm.weight".to_owned(), vec![h], vec![1.0; h]),
    ];
    let lin = |inp: usize| (3.0 / inp as f32).sqrt();
    for l in 0..layers {
        let p = |x: &str| format!("blk.{l}.{x}");
        for (name, rows, cols) in [
            ("attn_q.weight", q, h),
            ("attn_k.weight", kv, h),
            ("attn_v.weight", kv, h),
            ("attn_output.weight", h, q),
            ("ffn_gate.weight", i, h),
            ("ffn_up.weight", i, h),
            ("ffn_down.weight", h, i),
        ] {
            let mut w = values(rows * cols, lin(cols), &mut s);
            if arch == "llama" && name == "attn_q.weight" {
                w = permute(&w, heads, cols);
            } else if arch == "llama" && name == "attn_k.weight" {
                w = permute(&w, kv_heads, cols);
            }
            t.push((p(name), vec![rows, cols], w));
        }
        if arch == "qwen2" {
            for (name, rows) in [("attn_q.bias", q), ("attn_k.bias", kv), ("attn_v.bias", kv)] {
                t.push((p(name), vec![rows], values(rows, 0.1, &mut s)));
            }
        }
        t.push((p("attn_norm.weight"), vec![h], vec![1.0; h]));
        t.push((p("ffn_norm.weight"), vec![h], vec![1.0; h]));
    }
    write_gguf(path, &kvs, &t);
}

fn run(cmd: &mut Command) -> (String, String) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    let (stdout, stderr) =
        (String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned());
    assert!(out.status.success(), "{cmd:?} failed:\n{stdout}\n{stderr}");
    (stdout, stderr)
}

#[test]
#[cfg_attr(debug_assertions, ignore = "builds a crate; run with --release (CI does)")]
fn new_writes_a_crate_that_chats_with_the_model() {
    let tmp = std::env::temp_dir().join(format!("tttv2-new-e2e-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    let model = tmp.join("tiny-chat-model");
    write_model(&model, None);
    let krate = tmp.join("tiny_chat");
    let (msg, _) = run(Command::new(env!("CARGO_BIN_EXE_tttv2"))
        .args(["new", "tiny_chat", "--config"])
        .arg(&model)
        .arg("--tttv2-path")
        .arg(root())
        .arg("--out")
        .arg(&krate));
    assert!(msg.contains("decode, batch 1, 512 positions"), "the config's max_position_embeddings: {msg}");
    let main = std::fs::read_to_string(krate.join("src/main.rs")).unwrap();
    assert!(main.contains(r#"#[ttt_model(config = "config.json", device = "n150", mode = "decode", batch = 1, seq_len = 512, policy = "performance")]"#), "{main}");
    assert_eq!(
        std::fs::read_to_string(krate.join("config.json")).unwrap(),
        std::fs::read_to_string(model.join("config.json")).unwrap()
    );
    let toml = std::fs::read_to_string(krate.join("Cargo.toml")).unwrap();
    assert!(
        toml.contains(r#"features = ["wormhole_b0", "chat"]"#) && toml.contains(r#"ttnn = ["tttv2/ttnn"]"#),
        "{toml}"
    );

    // Build it in this workspace's target directory with this workspace's lock file, so that the
    // dependencies built for the workspace are reused.
    std::fs::copy(root().join("Cargo.lock"), krate.join("Cargo.lock")).unwrap();
    let target = Path::new(env!("CARGO_BIN_EXE_tttv2")).parent().unwrap().parent().unwrap();
    let start = std::time::Instant::now();
    run(Command::new(env!("CARGO"))
        .args(["build", "--release", "--quiet"])
        .current_dir(&krate)
        .env("CARGO_TARGET_DIR", target));
    eprintln!("cargo build --release of the new crate: {:.1} s", start.elapsed().as_secs_f64());
    let exe = target.join("release").join("tiny_chat");

    // Every logit is 0: greedy takes token 0 ("hello") until --max-new-tokens, and says each
    // step was a tie.
    let chat =
        |args: &[&str]| run(Command::new(&exe).arg("--weights").arg(&model).args(["--prompt", "hi you"]).args(args));
    let (out, err) = chat(&["--max-new-tokens", "5"]);
    assert_eq!(out, "hello hello hello hello hello\n", "{err}");
    assert_eq!(err.matches("warning: new token").count(), 5, "{err}");
    assert!(
        err.contains("512 tokens tie for the highest logit (ids 0, 1, 2, 3, 4, 5, 6, 7, ...); greedy took 0"),
        "{err}"
    );
    assert!(err.contains("5 new tokens, stopped by MaxTokens"), "{err}");
    // The prompt is the template's, word by word: <|im_start|> system + its 13-word default
    // system message (10 of them <unk>) + <|im_end|>, <|im_start|> user hi you <|im_end|>,
    // <|im_start|> assistant.
    assert!(err.contains("[23 prompt tokens"), "{err}");

    // generation_config.json's eos_token_id stops the reply (the id is "hello": after one token).
    write_model(&model, Some(0));
    let (out, err) = chat(&["--max-new-tokens", "5"]);
    assert_eq!(out, "hello\n", "{err}");
    assert!(err.contains("1 new tokens, stopped by Eos"), "{err}");

    // A checkpoint whose config differs from the compiled one is refused by the generated `load`
    // (`WeightSource::check_compiled`), naming the field.
    let other = tmp.join("other");
    write_model(&other, None);
    let mut cfg: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(other.join("config.json")).unwrap()).unwrap();
    cfg["num_hidden_layers"] = 3.into();
    std::fs::write(other.join("config.json"), cfg.to_string()).unwrap();
    let out = Command::new(&exe).arg("--weights").arg(&other).args(["--prompt", "hi"]).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("`num_hidden_layers` is 3 but the model was compiled with 2"), "{err}");
    let _ = std::fs::remove_dir_all(&tmp);
}

/// `tttv2 new --config model.gguf`, built and run with `--weights model.gguf`: the crate's
/// config.json is the GGUF's, its tttv2 has the `gguf` feature, and it chats from the file alone.
fn new_from_a_gguf_file_chats(arch: &str, pre: &str, hf_architecture: &str) {
    let tmp = std::env::temp_dir().join(format!("tttv2-new-gguf-{arch}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp).unwrap();
    let gguf = tmp.join(format!("tiny-{arch}-F32.gguf"));
    write_gguf_model(&gguf, arch, pre, 2, IM_END);
    let name = format!("tiny_{arch}_gguf");
    let krate = tmp.join(&name);
    let (msg, _) = run(Command::new(env!("CARGO_BIN_EXE_tttv2"))
        .args(["new", &name, "--config"])
        .arg(&gguf)
        .arg("--tttv2-path")
        .arg(root())
        .arg("--out")
        .arg(&krate));
    assert!(msg.contains("decode, batch 1, 512 positions"), "the GGUF's context_length: {msg}");
    let weights = std::fs::canonicalize(&gguf).unwrap();
    assert!(msg.contains(&format!("--weights {} --prompt", weights.display())), "names the GGUF file: {msg}");
    let config = std::fs::read_to_string(krate.join("config.json")).unwrap();
    let cfg = tttv2_core::hf::LlamaConfig::from_file(krate.join("config.json")).unwrap();
    assert_eq!(cfg, tttv2_core::hf::LlamaConfig::from_file(&gguf).unwrap(), "{config}");
    assert!(config.contains(hf_architecture), "{config}");
    assert_eq!(cfg.qkv_bias, arch == "qwen2");
    let toml = std::fs::read_to_string(krate.join("Cargo.toml")).unwrap();
    assert!(toml.contains(r#"features = ["wormhole_b0", "chat", "gguf"]"#), "{toml}");

    std::fs::copy(root().join("Cargo.lock"), krate.join("Cargo.lock")).unwrap();
    let target = Path::new(env!("CARGO_BIN_EXE_tttv2")).parent().unwrap().parent().unwrap();
    let start = std::time::Instant::now();
    run(Command::new(env!("CARGO"))
        .args(["build", "--release", "--quiet"])
        .current_dir(&krate)
        .env("CARGO_TARGET_DIR", target));
    eprintln!("cargo build --release of the {arch} GGUF crate: {:.1} s", start.elapsed().as_secs_f64());
    let exe = target.join("release").join(&name);

    // Every logit is 0: greedy takes token 0 ("hello", which byte-level decodes without a space)
    // until --max-new-tokens, and says each step was a tie.
    let chat = |weights: &Path, args: &[&str]| {
        let mut cmd = Command::new(&exe);
        cmd.arg("--weights").arg(weights).args(["--system", "you", "--prompt", "hello"]).args(args);
        cmd
    };
    let (out, err) = run(&mut chat(&gguf, &["--max-new-tokens", "5"]));
    assert_eq!(out, "hellohellohellohellohello\n", "{err}");
    assert_eq!(err.matches("warning: new token").count(), 5, "{err}");
    assert!(
        err.contains("512 tokens tie for the highest logit (ids 0, 1, 2, 3, 4, 5, 6, 7, ...); greedy took 0"),
        "{err}"
    );
    assert!(err.contains("5 new tokens, stopped by MaxTokens"), "{err}");
    // The prompt, through the template and the GGUF's tokenizer: <|im_start|> "system\nyou"
    // (10 byte tokens) <|im_end|> "\n" <|im_start|> "user\n" (5) "hello" (1: the merges make it
    // one token) <|im_end|> "\n" <|im_start|> "assistant\n" (10): 5 control + 28.
    assert!(err.contains("[33 prompt tokens"), "{err}");

    // The same crate reads a Hugging Face directory of the same model too.
    if arch == "llama" {
        let hf = tmp.join("hf");
        write_model(&hf, None);
        let (out, err) =
            run(Command::new(&exe).arg("--weights").arg(&hf).args(["--prompt", "hi you", "--max-new-tokens", "2"]));
        assert_eq!(out, "hello hello\n", "{err}");
        assert!(err.contains("[23 prompt tokens, 2 new tokens, stopped by MaxTokens"), "{err}");
    }

    // The GGUF's eos_token_id stops the reply (made "hello": after one token).
    let eos_hello = tmp.join("eos-hello.gguf");
    write_gguf_model(&eos_hello, arch, pre, 2, HELLO as u32);
    let (out, err) = run(&mut chat(&eos_hello, &["--max-new-tokens", "5"]));
    assert_eq!(out, "hello\n", "{err}");
    assert!(err.contains("1 new tokens, stopped by Eos"), "{err}");

    // A GGUF of another model (3 layers) is refused by the generated `load`, naming the key.
    let other = tmp.join("three-layers.gguf");
    write_gguf_model(&other, arch, pre, 3, IM_END);
    let out = chat(&other, &[]).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    let says = format!("metadata `{arch}.block_count` = 3 but the model was compiled with num_hidden_layers = 2");
    assert!(err.contains(&says) && err.contains("three-layers.gguf"), "{err}");
    let _ = std::fs::remove_dir_all(&tmp);
}

#[test]
#[cfg_attr(debug_assertions, ignore = "builds a crate; run with --release (CI does)")]
fn new_from_a_llama_gguf_chats_with_the_file_alone() {
    new_from_a_gguf_file_chats("llama", "smollm", "LlamaForCausalLM");
}

#[test]
#[cfg_attr(debug_assertions, ignore = "builds a crate; run with --release (CI does)")]
fn new_from_a_qwen2_gguf_chats_with_the_file_alone() {
    new_from_a_gguf_file_chats("qwen2", "qwen2", "Qwen2ForCausalLM");
}

#[test]
fn new_checks_its_arguments() {
    let tmp = std::env::temp_dir().join(format!("tttv2-new-args-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    let cfg = root().join("tests/models/tiny-accuracy/config.json");
    let tttv2 = |args: &[&str]| Command::new(env!("CARGO_BIN_EXE_tttv2")).args(args).output().unwrap();
    let cfg = cfg.to_str().unwrap();
    for (args, code, says) in [
        (vec!["new", "9lives", "--config", cfg], 2, "not a crate name"),
        (vec!["new", "x", "--config", "/nonexistent"], 2, "/nonexistent"),
        (vec!["new", "x", "--config", cfg, "--batch", "64"], 1, "at most 32 users"),
        (vec!["new", "x", "--config", cfg, "--device", "n300"], 1, "single-chip"),
    ] {
        let out = tttv2(&args);
        assert_eq!(out.status.code(), Some(code), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        assert!(
            String::from_utf8_lossy(&out.stderr).contains(says),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let out_dir = tmp.join("x");
    std::fs::create_dir_all(out_dir.join("keep")).unwrap();
    let out = tttv2(&["new", "x", "--config", cfg, "--out", out_dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("exists and is not empty"));
    let _ = std::fs::remove_dir_all(&tmp);
}
