//! A chat from a GGUF file's metadata alone (features `chat` + `gguf`): the tokenizer from
//! `tokenizer.ggml.*`, the chat template from `tokenizer.chat_template`, and the stop tokens from
//! the end-of-sequence / end-of-turn / end-of-message ids.
//!
//! The tokenizer is rebuilt as the `tokenizer.json` that Hugging Face ships for the same model
//! would describe it, so that `Chat::from_gguf` tokenizes as `Chat::from_dir` does:
//!
//! - `tokenizer.ggml.model = "gpt2"`: byte-level BPE. Vocabulary `tokenizer.ggml.tokens`, merges
//!   `tokenizer.ggml.merges` (`"left right"`), and the pre-tokenizer named by
//!   `tokenizer.ggml.pre` (table in [`bpe_pre`]).
//! - `tokenizer.ggml.model = "llama"`: SentencePiece BPE as transformers' `LlamaConverter`
//!   converts it (legacy mode): the merges derived from the token scores, byte fallback to the
//!   `<0xNN>` tokens, spaces written `▁` with one prepended, and the matching decoder.
//!
//! Token types follow llama.cpp's `llama_token_type` (gguf-py `TokenType`): 1 normal, 2 unknown,
//! 3 control, 4 user-defined, 5 unused, 6 byte. Unknown and control tokens become special added
//! tokens, user-defined ones non-special added tokens (both are matched in the text before the
//! model sees it), as transformers marks them when it converts a SentencePiece model.

use std::collections::HashMap;
use std::path::Path;
use std::str::FromStr;

use candle_core::quantized::gguf_file::{Content, Value};
use serde_json::{Value as Json, json};
use tokenizers::Tokenizer;

use super::error::ChatError;
use super::template::ChatTemplate;

const UNKNOWN: i64 = 2;
const CONTROL: i64 = 3;
const USER_DEFINED: i64 = 4;

/// GPT-2's pre-tokenizer regex (as its tokenizer.json's ByteLevel applies it); llama.cpp's default
/// pre-tokenizer splits with it minus the final `|\s+` alternative, which changes nothing there
/// because text between matches is kept as pieces of its own.
const GPT2_RE: &str = r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)";
/// Llama 3's pre-tokenizer regex, as its tokenizer.json writes it (llama.cpp quotes it as the
/// "original regex from tokenizer.json" of LLAMA_VOCAB_PRE_TYPE_LLAMA3, src/llama-vocab.cpp).
const LLAMA3_RE: &str = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
/// Qwen2's, likewise (llama.cpp: LLAMA_VOCAB_PRE_TYPE_QWEN2): digits one by one.
const QWEN2_RE: &str =
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

/// The GGUF metadata of one file, with errors that name the file and the key.
struct Meta<'a> {
    path: &'a Path,
    kv: &'a HashMap<String, Value>,
}

fn type_name(v: &Value) -> String {
    match v {
        Value::Array(a) => match a.first() {
            Some(first) => format!("an array of {}", type_name(first)),
            None => "an empty array".to_owned(),
        },
        other => format!("{:?}", other.value_type()).to_lowercase(),
    }
}

fn as_int(v: &Value) -> Option<i64> {
    Some(match v {
        Value::U8(n) => i64::from(*n),
        Value::I8(n) => i64::from(*n),
        Value::U16(n) => i64::from(*n),
        Value::I16(n) => i64::from(*n),
        Value::U32(n) => i64::from(*n),
        Value::I32(n) => i64::from(*n),
        Value::U64(n) => i64::try_from(*n).ok()?,
        Value::I64(n) => *n,
        _ => return None,
    })
}

impl Meta<'_> {
    fn err(&self, key: &str, message: impl Into<String>) -> ChatError {
        ChatError::field(self.path, key, message)
    }

    fn missing(&self, key: &str, what: &str) -> ChatError {
        self.err(key, format!("missing from the GGUF metadata: {what}"))
    }

    fn wrong(&self, key: &str, expected: &str, got: &Value) -> ChatError {
        self.err(key, format!("expected {expected}, got {}", type_name(got)))
    }

    fn str(&self, key: &str) -> Result<Option<&str>, ChatError> {
        match self.kv.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(v) => Err(self.wrong(key, "a string", v)),
        }
    }

    fn bool(&self, key: &str) -> Result<Option<bool>, ChatError> {
        match self.kv.get(key) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(v) => Err(self.wrong(key, "a bool", v)),
        }
    }

    /// A token id: present, an integer, and inside the vocabulary of `n` tokens.
    fn token_id(&self, key: &str, n: usize) -> Result<Option<u32>, ChatError> {
        let Some(v) = self.kv.get(key) else {
            return Ok(None);
        };
        let id = as_int(v).ok_or_else(|| self.wrong(key, "a token id (an integer)", v))?;
        match u32::try_from(id) {
            Ok(id) if (id as usize) < n => Ok(Some(id)),
            // gguf-py and llama.cpp write -1 (as u32: 0xFFFFFFFF) for "no such token".
            _ if id == -1 || id == i64::from(u32::MAX) => Ok(None),
            _ => Err(self.err(key, format!("token id {id} is outside the vocabulary of {n} tokens"))),
        }
    }

    fn array(&self, key: &str) -> Result<Option<&[Value]>, ChatError> {
        match self.kv.get(key) {
            None => Ok(None),
            Some(Value::Array(a)) => Ok(Some(a)),
            Some(v) => Err(self.wrong(key, "an array", v)),
        }
    }

    fn strings(&self, key: &str) -> Result<Option<Vec<&str>>, ChatError> {
        let Some(a) = self.array(key)? else {
            return Ok(None);
        };
        a.iter()
            .map(|v| match v {
                Value::String(s) => Ok(s.as_str()),
                v => Err(self.wrong(key, "an array of strings", v)),
            })
            .collect::<Result<_, _>>()
            .map(Some)
    }

    /// An array of `n` numbers (one per token).
    fn per_token<T>(
        &self,
        key: &str,
        n: usize,
        what: &str,
        convert: impl Fn(&Value) -> Option<T>,
    ) -> Result<Option<Vec<T>>, ChatError> {
        let Some(a) = self.array(key)? else {
            return Ok(None);
        };
        if a.len() != n {
            return Err(self.err(key, format!("{} entries for {n} tokens in tokenizer.ggml.tokens", a.len())));
        }
        a.iter().map(|v| convert(v).ok_or_else(|| self.wrong(key, what, v))).collect::<Result<_, _>>().map(Some)
    }
}

/// What the GGUF says about its tokenizer, read once.
struct Vocab<'a> {
    tokens: Vec<&'a str>,
    types: Vec<i64>,
}

impl Vocab<'_> {
    /// Unknown, control and user-defined tokens as tokenizer.json `added_tokens`, in id order.
    fn added_tokens(&self) -> Vec<Json> {
        let mut out = Vec::new();
        for (id, (token, &ty)) in self.tokens.iter().zip(&self.types).enumerate() {
            if ty == UNKNOWN || ty == CONTROL || ty == USER_DEFINED {
                out.push(json!({
                    "id": id,
                    "content": token,
                    "single_word": false,
                    "lstrip": false,
                    "rstrip": false,
                    "normalized": false,
                    "special": ty != USER_DEFINED,
                }));
            }
        }
        out
    }

    /// The `vocab` object of a BPE model. A token listed twice keeps its last id, as llama.cpp's
    /// text-to-token map and transformers' `{piece: id}` dictionaries do.
    fn vocab_json(&self) -> serde_json::Map<String, Json> {
        let mut map = serde_json::Map::new();
        for (id, token) in self.tokens.iter().enumerate() {
            map.insert((*token).to_owned(), json!(id));
        }
        map
    }
}

/// A split of `tokenizer.json`'s `Split` pre-tokenizer: matches and the text between them kept.
fn split(regex: &str) -> Json {
    json!({"type": "Split", "pattern": {"Regex": regex}, "behavior": "Isolated", "invert": false})
}

fn byte_level(use_regex: bool) -> Json {
    json!({"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": use_regex})
}

/// How a byte-level BPE vocabulary's text is split before the merges, by `tokenizer.ggml.pre`.
struct BpePre {
    normalizer: Json,
    pre_tokenizer: Json,
    /// A word that is a token is that token, without merging (Llama 3's `ignore_merges`).
    ignore_merges: bool,
    /// Whether llama.cpp adds BOS for this pre-tokenizer when `tokenizer.ggml.add_bos_token`
    /// does not say.
    add_bos: bool,
}

/// The pre-tokenizers supported, by the `tokenizer.ggml.pre` names llama.cpp gives them
/// (`llama_vocab::impl::load` maps names to LLAMA_VOCAB_PRE_TYPE_*, `llm_tokenizer_bpe` gives each
/// its regexes; src/llama-vocab.cpp), written as the model family's tokenizer.json writes them.
/// `None` for a name not supported.
fn bpe_pre(pre: &str) -> Option<BpePre> {
    let plain = |pre_tokenizer| BpePre { normalizer: Json::Null, pre_tokenizer, ignore_merges: false, add_bos: false };
    Some(match pre {
        // LLAMA_VOCAB_PRE_TYPE_GPT2: GPT-2's tokenizer.json, ByteLevel with its built-in regex.
        "gpt-2" | "phi-2" | "mpt" | "olmo" => plain(byte_level(true)),
        // LLAMA_VOCAB_PRE_TYPE_SMOLLM / STARCODER: every digit alone, then GPT-2's split
        // (SmolLM2's and StarCoder's tokenizer.json: Digits(individual_digits) + ByteLevel).
        "smollm" | "starcoder" => plain(json!({
            "type": "Sequence",
            "pretokenizers": [{"type": "Digits", "individual_digits": true}, byte_level(true)],
        })),
        // LLAMA_VOCAB_PRE_TYPE_LLAMA3: Llama 3's tokenizer.json, Split(regex) + ByteLevel without
        // its regex, BPE `ignore_merges`; llama.cpp adds BOS by default for it.
        "llama3" | "llama-v3" | "llama-bpe" | "falcon3" => BpePre {
            ignore_merges: true,
            add_bos: true,
            ..plain(json!({"type": "Sequence", "pretokenizers": [split(LLAMA3_RE), byte_level(false)]}))
        },
        // LLAMA_VOCAB_PRE_TYPE_DBRX / SMAUG: Llama 3's regex, none of its other settings.
        "dbrx" | "smaug-bpe" => plain(json!({
            "type": "Sequence",
            "pretokenizers": [split(LLAMA3_RE), byte_level(false)],
        })),
        // LLAMA_VOCAB_PRE_TYPE_QWEN2: Qwen2's tokenizer.json, which also NFC-normalizes.
        "qwen2" | "deepseek-r1-qwen" => BpePre {
            normalizer: json!({"type": "NFC"}),
            ..plain(json!({"type": "Sequence", "pretokenizers": [split(QWEN2_RE), byte_level(false)]}))
        },
        // LLAMA_VOCAB_PRE_TYPE_DEFAULT (also what llama.cpp uses when the key is absent): four
        // regexes in turn, each splitting the pieces the previous left; no tokenizer.json exists
        // for it, so this is llama.cpp's own behaviour.
        "default" => plain(json!({
            "type": "Sequence",
            "pretokenizers": [
                split(r"[\p{P}\$\+<=>\^~\|]+"),
                split(GPT2_RE),
                split(r"\p{N}+"),
                split(r"[0-9][0-9][0-9]"),
                byte_level(false),
            ],
        })),
        _ => return None,
    })
}

const SUPPORTED_PRE: &str = "default, gpt-2, phi-2, mpt, olmo, smollm, starcoder, llama3, llama-v3, llama-bpe, falcon3, dbrx, smaug-bpe, qwen2, deepseek-r1-qwen";

/// `tokenizer.json`'s TemplateProcessing that adds BOS and/or EOS around a sequence.
fn template_processing(tokens: &[&str], bos: Option<u32>, eos: Option<u32>) -> Json {
    let special = |id: u32| json!({"SpecialToken": {"id": tokens[id as usize], "type_id": 0}});
    let special1 = |id: u32| json!({"SpecialToken": {"id": tokens[id as usize], "type_id": 1}});
    let mut single = Vec::new();
    let mut pair = Vec::new();
    let mut specials = serde_json::Map::new();
    single.extend(bos.map(special));
    single.push(json!({"Sequence": {"id": "A", "type_id": 0}}));
    single.extend(eos.map(special));
    pair.extend(single.iter().cloned());
    pair.extend(bos.map(special1));
    pair.push(json!({"Sequence": {"id": "B", "type_id": 1}}));
    pair.extend(eos.map(special1));
    for id in bos.into_iter().chain(eos) {
        let t = tokens[id as usize];
        specials.insert(t.to_owned(), json!({"id": t, "ids": [id], "tokens": [t]}));
    }
    json!({"type": "TemplateProcessing", "single": single, "pair": pair, "special_tokens": specials})
}

/// The merges of a SentencePiece BPE vocabulary, as transformers derives them from the scores
/// (`generate_merges` in convert_slow_tokenizer.py, which LlamaConverter uses): every split of a
/// token into two tokens is a merge; a token's splits in order of their parts' ids; then all
/// merges by the merged token's score, the left part's length and the right part's length, each
/// descending, ties kept in that order.
fn spm_merges(tokens: &[&str], scores: &[f32]) -> Vec<(String, String)> {
    let mut id: HashMap<&str, usize> = HashMap::with_capacity(tokens.len());
    for (i, t) in tokens.iter().enumerate() {
        id.insert(t, i);
    }
    // Each distinct token once, where it first occurs, with its last score (a Python dict).
    let mut score: HashMap<&str, f32> = HashMap::with_capacity(tokens.len());
    let mut order = Vec::with_capacity(tokens.len());
    for (t, &s) in tokens.iter().zip(scores) {
        if score.insert(t, if s.is_nan() { f32::NEG_INFINITY } else { s }).is_none() {
            order.push(*t);
        }
    }
    // (left, right, score, left chars, right chars)
    let mut merges: Vec<(&str, &str, f32, usize, usize)> = Vec::new();
    for token in order {
        let s = score[token];
        let mut local = Vec::new();
        for (chars, (at, _)) in token.char_indices().enumerate().skip(1) {
            let (l, r) = token.split_at(at);
            if let (Some(&il), Some(&ir)) = (id.get(l), id.get(r)) {
                local.push((il, ir, l, r, chars));
            }
        }
        local.sort_by_key(|&(il, ir, ..)| (il, ir));
        let total = token.chars().count();
        merges.extend(local.into_iter().map(|(_, _, l, r, c)| (l, r, s, c, total - c)));
    }
    merges.sort_by(|a, b| (b.2, b.3, b.4).partial_cmp(&(a.2, a.3, a.4)).unwrap_or(std::cmp::Ordering::Equal));
    merges.into_iter().map(|(l, r, ..)| (l.to_owned(), r.to_owned())).collect()
}

/// Everything `Chat` needs, from the GGUF at `path`.
pub(crate) fn load(path: &Path) -> Result<(Tokenizer, ChatTemplate, Vec<u32>), ChatError> {
    let file = std::fs::File::open(path).map_err(|e| ChatError::file(path, format!("cannot open: {e}")))?;
    let content = Content::read(&mut std::io::BufReader::new(file))
        .map_err(|e| ChatError::file(path, format!("not a readable GGUF file: {e}")))?;
    let meta = Meta { path, kv: &content.metadata };

    let tokens = meta.strings("tokenizer.ggml.tokens")?.ok_or_else(|| {
        meta.missing(
            "tokenizer.ggml.tokens",
            "the file carries no tokenizer (a GGUF converted without its vocabulary?)",
        )
    })?;
    if tokens.is_empty() {
        return Err(meta.err("tokenizer.ggml.tokens", "the vocabulary is empty"));
    }
    let n = tokens.len();
    let types =
        meta.per_token("tokenizer.ggml.token_type", n, "an array of integers", as_int)?.unwrap_or_else(|| vec![1; n]);
    let vocab = Vocab { tokens, types };

    let model =
        meta.str("tokenizer.ggml.model")?.ok_or_else(|| meta.missing("tokenizer.ggml.model", "the tokenizer kind"))?;
    let bos = meta.token_id("tokenizer.ggml.bos_token_id", n)?;
    let eos = meta.token_id("tokenizer.ggml.eos_token_id", n)?;
    let unk = meta.token_id("tokenizer.ggml.unknown_token_id", n)?;
    let add_bos_key = meta.bool("tokenizer.ggml.add_bos_token")?;
    let add_eos = meta.bool("tokenizer.ggml.add_eos_token")?.unwrap_or(false);

    let json = match model {
        "gpt2" => {
            let pre = meta.str("tokenizer.ggml.pre")?.unwrap_or("default");
            let pre_cfg = bpe_pre(pre).ok_or_else(|| {
                meta.err(
                    "tokenizer.ggml.pre",
                    format!("pre-tokenizer `{pre}` is not supported; supported: {SUPPORTED_PRE}"),
                )
            })?;
            let merges = meta
                .strings("tokenizer.ggml.merges")?
                .ok_or_else(|| meta.missing("tokenizer.ggml.merges", "a byte-level BPE vocabulary needs its merges"))?;
            let merges = merges
                .iter()
                .enumerate()
                .map(|(i, m)| {
                    // "left right"; llama.cpp splits at the first space after the first byte.
                    let first = m.chars().next().map_or(0, char::len_utf8);
                    match m[first..].find(' ') {
                        Some(at) => Ok(json!([&m[..first + at], &m[first + at + 1..]])),
                        None => Err(meta.err(
                            "tokenizer.ggml.merges",
                            format!("entry {i} ({m:?}) is not two tokens separated by a space"),
                        )),
                    }
                })
                .collect::<Result<Vec<_>, _>>()?;
            let add_bos = add_bos_key.unwrap_or(pre_cfg.add_bos);
            let post = if add_bos || add_eos {
                special_processing(&meta, &vocab.tokens, add_bos.then_some(bos), add_eos.then_some(eos))?
            } else {
                json!({"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": false, "use_regex": true})
            };
            json!({
                "version": "1.0",
                "truncation": null,
                "padding": null,
                "added_tokens": vocab.added_tokens(),
                "normalizer": pre_cfg.normalizer,
                "pre_tokenizer": pre_cfg.pre_tokenizer,
                "post_processor": post,
                "decoder": {"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true},
                "model": {
                    "type": "BPE",
                    "dropout": null,
                    "unk_token": unk.map(|id| vocab.tokens[id as usize]),
                    "continuing_subword_prefix": null,
                    "end_of_word_suffix": null,
                    "fuse_unk": false,
                    "byte_fallback": false,
                    "ignore_merges": pre_cfg.ignore_merges,
                    "vocab": vocab.vocab_json(),
                    "merges": merges,
                },
            })
        }
        "llama" => {
            let scores = meta
                .per_token("tokenizer.ggml.scores", n, "an array of numbers", |v| match v {
                    Value::F32(f) => Some(*f),
                    Value::F64(f) => Some(*f as f32),
                    v => as_int(v).map(|i| i as f32),
                })?
                .ok_or_else(|| {
                    meta.missing(
                        "tokenizer.ggml.scores",
                        "a SentencePiece vocabulary needs its scores to derive the merges",
                    )
                })?;
            let merges = spm_merges(&vocab.tokens, &scores);
            // llama.cpp's SentencePiece default (LLAMA_VOCAB_TYPE_SPM): a space before the text,
            // BOS added; both overridable by the file.
            let prefix = meta.bool("tokenizer.ggml.add_space_prefix")?.unwrap_or(true);
            let add_bos = add_bos_key.unwrap_or(true);
            // The unknown token: the id the file names, else the first of type unknown.
            let unk = unk.or_else(|| vocab.types.iter().position(|&t| t == UNKNOWN).map(|i| i as u32));
            // LlamaConverter (legacy): normalizer [Prepend("▁")], Replace(" ", "▁"); no
            // pre-tokenizer; decoder Replace("▁", " "), ByteFallback, Fuse[, Strip(" ", 1, 0)].
            let mut normalizers = Vec::new();
            if prefix {
                normalizers.push(json!({"type": "Prepend", "prepend": "▁"}));
            }
            normalizers.push(json!({"type": "Replace", "pattern": {"String": " "}, "content": "▁"}));
            let mut decoders = vec![
                json!({"type": "Replace", "pattern": {"String": "▁"}, "content": " "}),
                json!({"type": "ByteFallback"}),
                json!({"type": "Fuse"}),
            ];
            if prefix {
                decoders.push(json!({"type": "Strip", "content": " ", "start": 1, "stop": 0}));
            }
            let post = special_processing(&meta, &vocab.tokens, add_bos.then_some(bos), add_eos.then_some(eos))?;
            json!({
                "version": "1.0",
                "truncation": null,
                "padding": null,
                "added_tokens": vocab.added_tokens(),
                "normalizer": {"type": "Sequence", "normalizers": normalizers},
                "pre_tokenizer": null,
                "post_processor": post,
                "decoder": {"type": "Sequence", "decoders": decoders},
                "model": {
                    "type": "BPE",
                    "dropout": null,
                    "unk_token": unk.map(|id| vocab.tokens[id as usize]),
                    "continuing_subword_prefix": null,
                    "end_of_word_suffix": null,
                    "fuse_unk": true,
                    "byte_fallback": true,
                    "ignore_merges": false,
                    "vocab": vocab.vocab_json(),
                    "merges": merges,
                },
            })
        }
        other => {
            return Err(meta.err(
                "tokenizer.ggml.model",
                format!(
                    "tokenizer kind `{other}` is not supported; supported: `gpt2` (byte-level BPE) and `llama` (SentencePiece BPE)"
                ),
            ));
        }
    };
    let tokenizer = Tokenizer::from_str(&json.to_string()).map_err(|e| {
        ChatError::file(path, format!("cannot build a tokenizer from the `tokenizer.ggml.*` metadata: {e}"))
    })?;

    // The template, with the special tokens' texts it may refer to.
    let source = meta.str("tokenizer.chat_template")?.ok_or_else(|| {
        meta.missing(
            "tokenizer.chat_template",
            "the model has no chat template (a base model, not an instruct/chat one?)",
        )
    })?;
    let mut specials: Vec<(&'static str, &str)> = Vec::new();
    for (name, key) in [
        ("bos_token", "tokenizer.ggml.bos_token_id"),
        ("eos_token", "tokenizer.ggml.eos_token_id"),
        ("unk_token", "tokenizer.ggml.unknown_token_id"),
        // gguf-py's spelling of the key.
        ("sep_token", "tokenizer.ggml.seperator_token_id"),
        ("pad_token", "tokenizer.ggml.padding_token_id"),
        ("cls_token", "tokenizer.ggml.cls_token_id"),
        ("mask_token", "tokenizer.ggml.mask_token_id"),
    ] {
        if let Some(id) = meta.token_id(key, n)? {
            specials.push((name, vocab.tokens[id as usize]));
        }
    }
    let template = ChatTemplate::new(source, &specials).map_err(|e| ChatError {
        path: path.to_owned(),
        field: Some("tokenizer.chat_template".to_owned()),
        message: e.message,
    })?;

    // Stop at the end of sequence, of turn (Llama 3's <|eot_id|>) and of message (<|eom_id|>).
    let mut stop = Vec::new();
    for key in ["tokenizer.ggml.eos_token_id", "tokenizer.ggml.eot_token_id", "tokenizer.ggml.eom_token_id"] {
        stop.extend(meta.token_id(key, n)?);
    }
    stop.sort_unstable();
    stop.dedup();
    if stop.is_empty() {
        return Err(meta.missing(
            "tokenizer.ggml.eos_token_id",
            "no end-of-sequence token (nor tokenizer.ggml.eot_token_id), so generation could not stop",
        ));
    }
    Ok((tokenizer, template, stop))
}

/// TemplateProcessing adding BOS / EOS when asked, each of which the file must then name.
fn special_processing(
    meta: &Meta<'_>,
    tokens: &[&str],
    bos: Option<Option<u32>>,
    eos: Option<Option<u32>>,
) -> Result<Json, ChatError> {
    let need = |asked: Option<Option<u32>>, key: &str, flag: &str| match asked {
        None => Ok(None),
        Some(Some(id)) => Ok(Some(id)),
        Some(None) => Err(meta.missing(key, &format!("{flag} is true, so the token is needed"))),
    };
    let bos = need(bos, "tokenizer.ggml.bos_token_id", "tokenizer.ggml.add_bos_token")?;
    let eos = need(eos, "tokenizer.ggml.eos_token_id", "tokenizer.ggml.add_eos_token")?;
    Ok(template_processing(tokens, bos, eos))
}
