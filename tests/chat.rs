//! `tttv2::chat` against Hugging Face transformers: published chat templates rendered by
//! `apply_chat_template` (fixtures under `tests/chat/`, written by `tests/chat/make_fixtures.py`)
//! must come out byte for byte; stop tokens are the union of the three config files; streamed
//! text is the full decode, split only at whole characters.

use std::path::{Path, PathBuf};

use tttv2::chat::{Chat, ChatTemplate, CivilTime, Message, TextStream, Tokenizer, stop_tokens};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/chat")
}

const MODELS: [&str; 6] = [
    "SmolLM2-135M-Instruct",
    "Llama-3.1-8B-Instruct",
    "Llama-3.2-11B-Vision-Instruct",
    "Qwen2.5-7B-Instruct",
    "Mistral-7B-Instruct-v0.3",
    "TinyLlama-1.1B-Chat-v1.0",
];

fn messages(case: &serde_json::Value) -> Vec<Message> {
    case["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| Message::new(m["role"].as_str().unwrap(), m["content"].as_str().unwrap()))
        .collect()
}

#[test]
fn published_templates_render_as_transformers_renders_them() {
    let cases: Vec<serde_json::Value> =
        serde_json::from_str(&std::fs::read_to_string(fixtures().join("cases.json")).unwrap()).unwrap();
    let mut checked = 0;
    for model in MODELS {
        let dir = fixtures().join(model);
        let expected: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("expected.json")).unwrap()).unwrap();
        // The instant the fixtures were rendered at (strftime_now).
        assert_eq!(expected["now"], "2025-03-07T14:05:09");
        let now = CivilTime { year: 2025, month: 3, day: 7, hour: 14, minute: 5, second: 9 };
        let template = ChatTemplate::from_dir(&dir).unwrap_or_else(|e| panic!("{model}: {e}"));
        for r in expected["renders"].as_array().unwrap() {
            let case = cases.iter().find(|c| c["name"] == r["case"]).unwrap();
            let add = r["add_generation_prompt"].as_bool().unwrap();
            let got = template.render_at(&messages(case), add, now);
            match (&r["rendered"], &r["error"]) {
                (serde_json::Value::String(want), _) => {
                    let got = got.unwrap_or_else(|e| panic!("{model} {}: {e}", r["case"]));
                    assert_eq!(&got, want, "{model}, case {}, add_generation_prompt {add}", r["case"]);
                }
                (_, serde_json::Value::String(want)) => {
                    let e = got.expect_err("transformers raised");
                    assert!(e.message.contains(want.as_str()), "{model} {}: {e} should say {want}", r["case"]);
                }
                _ => panic!("bad fixture {r}"),
            }
            checked += 1;
        }
    }
    assert_eq!(checked, MODELS.len() * 10);
}

#[test]
fn llama_reads_the_clock_and_smollm_adds_its_system_message() {
    let llama = ChatTemplate::from_dir(fixtures().join("Llama-3.2-11B-Vision-Instruct")).unwrap();
    let at = |y, m, d| CivilTime { year: y, month: m, day: d, hour: 0, minute: 0, second: 0 };
    let a = llama.render_at(&[Message::user("hi")], true, at(2024, 12, 1)).unwrap();
    assert!(a.contains("Today Date: 01 Dec 2024\n"), "{a}");
    // SmolLM2's template writes a default system message when there is none (what the user
    // re-implemented by hand, per issue 12).
    let smol = ChatTemplate::from_dir(fixtures().join("SmolLM2-135M-Instruct")).unwrap();
    assert_eq!(
        smol.render(&[Message::user("hi")], true).unwrap(),
        "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n"
    );
    assert_eq!(smol.special_token("eos_token"), Some("<|im_end|>"));
}

fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("tttv2-chat-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A model directory with SmolLM2's tokenizer fixture and the given config files.
fn model_dir(name: &str, files: &[(&str, &str)]) -> PathBuf {
    let d = temp_dir(name);
    for f in ["tokenizer.json", "tokenizer_config.json", "chat_template.jinja"] {
        std::fs::copy(fixtures().join("SmolLM2-135M-Instruct").join(f), d.join(f)).unwrap();
    }
    for (f, text) in files {
        std::fs::write(d.join(f), text).unwrap();
    }
    d
}

#[test]
fn stop_tokens_are_the_union_of_the_configs_and_bad_files_are_named() {
    // The fixture's vocabulary: <|im_start|> 0, <|im_end|> 1, <|endoftext|> 2.
    let d = model_dir(
        "union",
        &[("config.json", r#"{"eos_token_id": 2}"#), ("generation_config.json", r#"{"eos_token_id": [0, 2]}"#)],
    );
    let chat = Chat::from_dir(&d).unwrap();
    assert_eq!(chat.stop_tokens(), &[0, 1, 2], "generation_config 0 and 2, config 2, tokenizer_config <|im_end|> = 1");

    let d = model_dir("only-tokenizer", &[("config.json", r#"{"eos_token_id": null}"#)]);
    assert_eq!(Chat::from_dir(&d).unwrap().stop_tokens(), &[1]);

    for (file, text, field) in [
        ("config.json", r#"{"eos_token_id": "2"}"#, Some("eos_token_id")),
        ("generation_config.json", r#"{"eos_token_id": [1, -3]}"#, Some("eos_token_id")),
        ("generation_config.json", "{not json", None),
    ] {
        let d = model_dir("bad", &[(file, text)]);
        let e = Chat::from_dir(&d).err().expect("malformed config");
        assert_eq!(e.path, d.join(file), "{e}");
        assert_eq!(e.field.as_deref(), field, "{e}");
    }
    let d = model_dir("bad-eos", &[]);
    std::fs::write(d.join("tokenizer_config.json"), r#"{"eos_token": "<|nope|>", "chat_template": "x"}"#).unwrap();
    let tok = Tokenizer::from_file(d.join("tokenizer.json")).unwrap();
    let e = stop_tokens(&d, &tok).unwrap_err();
    assert!(
        e.to_string().contains("tokenizer_config.json: field `eos_token`: `<|nope|>` is not in the vocabulary"),
        "{e}"
    );
    std::fs::write(d.join("tokenizer_config.json"), r#"{"chat_template": "x"}"#).unwrap();
    assert!(stop_tokens(&d, &tok).unwrap_err().message.contains("no end-of-sequence token"));
}

#[test]
fn missing_or_malformed_templates_are_errors_naming_the_file() {
    let d = model_dir("no-template", &[]);
    std::fs::remove_file(d.join("chat_template.jinja")).unwrap();
    let e = Chat::from_dir(&d).err().unwrap();
    assert!(e.message.contains("no chat template"), "{e}");
    std::fs::write(
        d.join("tokenizer_config.json"),
        r#"{"eos_token": "<|im_end|>", "chat_template": [{"name": "tool_use", "template": "x"}]}"#,
    )
    .unwrap();
    let e = Chat::from_dir(&d).err().unwrap();
    assert_eq!(
        (e.path.file_name().unwrap().to_str(), e.field.as_deref()),
        (Some("tokenizer_config.json"), Some("chat_template"))
    );
    std::fs::write(d.join("chat_template.jinja"), "{% for m in messages %}").unwrap();
    let e = Chat::from_dir(&d).err().unwrap();
    assert!(e.path.ends_with("chat_template.jinja") && e.message.contains("does not compile"), "{e}");
    std::fs::remove_file(d.join("tokenizer.json")).unwrap();
    assert!(Chat::from_dir(&d).err().unwrap().path.ends_with("tokenizer.json"));
}

#[test]
fn prompt_tokens_come_from_the_rendered_template_without_added_specials() {
    let chat = Chat::from_dir(fixtures().join("SmolLM2-135M-Instruct")).unwrap();
    let ids = chat.prompt(&[Message::user("hello world")]).unwrap();
    // The template opens with <|im_start|> (id 0) once: the tokenizer adds no BOS of its own.
    assert_eq!(ids[0], 0);
    assert_eq!(ids.iter().filter(|&&t| t == 0).count(), 3, "system, user, assistant turns");
    assert_eq!(*ids.last().unwrap(), 2, "`assistant\\n` is unknown to the tiny vocabulary: <|endoftext|> is its unk");
}

/// Streams `tokens` and returns the pieces.
fn stream(tok: &Tokenizer, tokens: &[u32]) -> Vec<String> {
    let mut s = TextStream::new(tok);
    let mut pieces: Vec<String> = tokens.iter().filter_map(|&t| s.push(t).unwrap()).collect();
    pieces.extend(s.finish().unwrap());
    pieces
}

/// A SentencePiece-style tokenizer (Llama 2, TinyLlama, Mistral): `▁` for spaces, byte-fallback
/// tokens `<0xE6>` for what the vocabulary lacks, and a decoder that strips the first space.
const SENTENCEPIECE: &str = r#"{
  "version": "1.0", "truncation": null, "padding": null,
  "added_tokens": [
    {"id": 0, "content": "<unk>", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true},
    {"id": 1, "content": "</s>", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true}
  ],
  "normalizer": null,
  "pre_tokenizer": {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "first", "split": false},
  "post_processor": null,
  "decoder": {"type": "Sequence", "decoders": [
    {"type": "Replace", "pattern": {"String": "▁"}, "content": " "},
    {"type": "ByteFallback"}, {"type": "Fuse"},
    {"type": "Strip", "content": " ", "start": 1, "stop": 0}
  ]},
  "model": {"type": "BPE", "dropout": null, "unk_token": "<unk>", "continuing_subword_prefix": null,
    "end_of_word_suffix": null, "fuse_unk": true, "byte_fallback": true, "ignore_merges": false,
    "vocab": {"<unk>": 0, "</s>": 1, "<0xE6>": 2, "<0x97>": 3, "<0xA5>": 4, "▁Hello": 5, "▁world": 6, "!": 7},
    "merges": []}
}"#;

#[test]
fn streaming_waits_for_whole_characters_and_keeps_sentencepiece_spaces() {
    let tok: Tokenizer = SENTENCEPIECE.parse().unwrap();
    // "Hello world日!" then EOS; 日 is E6 97 A5 in three byte-fallback tokens.
    let tokens = [5, 6, 2, 3, 4, 7, 1];
    assert_eq!(tok.decode(&tokens, true).unwrap(), "Hello world日!");
    // Token by token on its own is wrong twice: the space before "world" and the split 日.
    let naive: String = tokens.iter().map(|&t| tok.decode(&[t], true).unwrap()).collect();
    assert_ne!(naive, "Hello world日!");
    assert_eq!(stream(&tok, &tokens), ["Hello", " world", "日", "!"]);
    // Cut short inside a character: the rest comes out at finish, as the full decode has it.
    assert_eq!(stream(&tok, &[5, 2, 3]).concat(), tok.decode(&[5, 2, 3], true).unwrap());
}

/// GPT-2's byte-to-character map (byte-level BPE: SmolLM2, Llama 3, Qwen2.5).
fn byte_char(b: u8) -> char {
    let printable = |b: u32| (33..=126).contains(&b) || (161..=172).contains(&b) || (174..=255).contains(&b);
    if printable(b as u32) {
        return char::from(b);
    }
    let n = (0..b as u32).filter(|&x| !printable(x)).count() as u32;
    char::from_u32(256 + n).unwrap()
}

#[test]
fn streaming_byte_level_bpe_splits_only_at_characters() {
    let pieces: Vec<String> = ["Hello".to_owned(), format!("{}world", byte_char(b' '))]
        .into_iter()
        .chain("日".bytes().map(|b| byte_char(b).to_string()))
        .chain(["!".to_owned()])
        .collect();
    let vocab: serde_json::Map<String, serde_json::Value> =
        pieces.iter().enumerate().map(|(i, p)| (p.clone(), (i as u32).into())).collect();
    let json = serde_json::json!({
        "version": "1.0", "truncation": null, "padding": null, "added_tokens": [], "normalizer": null,
        "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true},
        "post_processor": null,
        "decoder": {"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true},
        "model": {"type": "BPE", "dropout": null, "unk_token": null, "continuing_subword_prefix": null, "end_of_word_suffix": null,
                  "fuse_unk": false, "byte_fallback": false, "ignore_merges": false, "vocab": vocab, "merges": []}
    });
    let tok: Tokenizer = json.to_string().parse().unwrap();
    let tokens: Vec<u32> = (0..pieces.len() as u32).collect();
    assert_eq!(tok.decode(&tokens, true).unwrap(), "Hello world日!");
    assert_eq!(stream(&tok, &tokens), ["Hello", " world", "日", "!"]);
}
