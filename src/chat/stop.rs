//! The tokens that end the assistant's turn: what transformers' `generate` stops at.
//!
//! transformers stops at `generation_config.eos_token_id` (an id or a list), which it builds from
//! `generation_config.json` when the model has one and from `config.json` otherwise. Chat models
//! often name the end-of-turn token in only one of the three places (Llama 3.x Instruct:
//! `<|eot_id|>` in `generation_config.json` and `tokenizer_config.json`, `<|end_of_text|>` in
//! `config.json`), so the stop set here is their union: `generation_config.json` and
//! `config.json` `eos_token_id`, and the tokenizer's `eos_token`.

use std::path::Path;

use super::error::{ChatError, read_json};

/// `eos_token_id` of a parsed config: absent or null → none, an id, or a list of ids.
fn eos_ids(path: &Path, config: &serde_json::Value) -> Result<Vec<u32>, ChatError> {
    let id = |v: &serde_json::Value| v.as_u64().and_then(|n| u32::try_from(n).ok());
    let bad = |v: &serde_json::Value| {
        ChatError::field(
            path,
            "eos_token_id",
            format!("expected a token id (a non-negative integer), a list of them or null, got {v}"),
        )
    };
    match config.get("eos_token_id") {
        None | Some(serde_json::Value::Null) => Ok(Vec::new()),
        Some(serde_json::Value::Array(list)) => list.iter().map(|v| id(v).ok_or_else(|| bad(v))).collect(),
        Some(v) => id(v).map(|n| vec![n]).ok_or_else(|| bad(v)),
    }
}

/// The stop tokens of the model in `dir` (see the module docs), sorted. `tokenizer` maps the
/// tokenizer config's `eos_token` to its id. `config.json` and `generation_config.json` may be
/// absent; a malformed one is an error naming the file and field, and so is an empty set.
pub fn stop_tokens(dir: &Path, tokenizer: &tokenizers::Tokenizer) -> Result<Vec<u32>, ChatError> {
    let mut ids = Vec::new();
    for file in ["generation_config.json", "config.json"] {
        let path = dir.join(file);
        if path.exists() {
            ids.extend(eos_ids(&path, &read_json(&path)?)?);
        }
    }
    let tok_config = dir.join("tokenizer_config.json");
    if tok_config.exists() {
        let config = read_json(&tok_config)?;
        let specials = super::template::special_tokens(&tok_config, &config)?;
        if let Some((_, eos)) = specials.iter().find(|(n, _)| *n == "eos_token") {
            let id = tokenizer.token_to_id(eos).ok_or_else(|| {
                ChatError::field(
                    &tok_config,
                    "eos_token",
                    format!("`{eos}` is not in the vocabulary of tokenizer.json"),
                )
            })?;
            ids.push(id);
        }
    }
    ids.sort_unstable();
    ids.dedup();
    if ids.is_empty() {
        return Err(ChatError::file(
            dir,
            "no end-of-sequence token: none of generation_config.json, config.json (`eos_token_id`) and tokenizer_config.json (`eos_token`) names one, so generation could not stop",
        ));
    }
    if let Some(&id) = ids.iter().find(|&&id| id as usize >= tokenizer.get_vocab_size(true)) {
        return Err(ChatError::field(
            dir,
            "eos_token_id",
            format!("token id {id} is outside the tokenizer's vocabulary of {}", tokenizer.get_vocab_size(true)),
        ));
    }
    Ok(ids)
}
