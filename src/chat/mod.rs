//! Chatting with a Hugging Face model directory (feature `chat`): its tokenizer
//! (`tokenizer.json`), its chat template rendered as transformers' `apply_chat_template` renders
//! it, the tokens that end its turn, and its reply as text while it is generated.
//!
//! ```no_run
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use tttv2::chat::{Chat, Message};
//! let chat = Chat::from_dir("path/to/SmolLM2-135M-Instruct")?;
//! let prompt = chat.prompt(&[Message::user("What is the capital of France?")])?;
//! // Generate with `prompt` as the prompt and `chat.stop_tokens()` as `GenerateOptions::eos`,
//! // feeding each token to `chat.stream()`'s `push` and printing what it returns.
//! # Ok(()) }
//! ```

mod error;
#[cfg(feature = "gguf")]
mod gguf;
mod stop;
mod stream;
mod strftime;
mod template;

use std::path::Path;

pub use error::ChatError;
pub use stop::stop_tokens;
pub use stream::TextStream;
pub use strftime::{CivilTime, strftime};
pub use template::{ChatTemplate, Message, SPECIAL_TOKEN_NAMES};
pub use tokenizers::Tokenizer;

/// A model directory's tokenizer, chat template and stop tokens.
pub struct Chat {
    tokenizer: Tokenizer,
    template: ChatTemplate,
    stop: Vec<u32>,
}

impl Chat {
    /// Loads `tokenizer.json`, the chat template (`chat_template.jinja` or `tokenizer_config.json`)
    /// and the stop tokens (`generation_config.json`, `config.json`, `tokenizer_config.json`).
    pub fn from_dir(dir: impl AsRef<Path>) -> Result<Chat, ChatError> {
        let dir = dir.as_ref();
        let path = dir.join("tokenizer.json");
        if !path.exists() {
            return Err(ChatError::file(&path, "missing: the model directory needs its tokenizer.json"));
        }
        let tokenizer = Tokenizer::from_file(&path)
            .map_err(|e| ChatError::file(&path, format!("cannot load the tokenizer: {e}")))?;
        let template = ChatTemplate::from_dir(dir)?;
        let stop = stop_tokens(dir, &tokenizer)?;
        Ok(Chat { tokenizer, template, stop })
    }

    /// The same from a GGUF file's metadata alone (feature `gguf`): the tokenizer from
    /// `tokenizer.ggml.*`, the template from `tokenizer.chat_template`, the stop tokens from the
    /// end-of-sequence, end-of-turn and end-of-message ids (see `src/chat/gguf.rs`).
    #[cfg(feature = "gguf")]
    pub fn from_gguf(path: impl AsRef<Path>) -> Result<Chat, ChatError> {
        let (tokenizer, template, stop) = gguf::load(path.as_ref())?;
        Ok(Chat { tokenizer, template, stop })
    }

    /// The tokenizer.
    pub fn tokenizer(&self) -> &Tokenizer {
        &self.tokenizer
    }

    /// The chat template.
    pub fn template(&self) -> &ChatTemplate {
        &self.template
    }

    /// The tokens that end the assistant's turn, sorted.
    pub fn stop_tokens(&self) -> &[u32] {
        &self.stop
    }

    /// The prompt for the assistant's next turn: `messages` rendered with the generation prompt,
    /// then tokenized without adding special tokens (the template writes them), as
    /// `apply_chat_template(messages, add_generation_prompt=True, tokenize=True)` does.
    pub fn prompt(&self, messages: &[Message]) -> Result<Vec<u32>, ChatError> {
        let text = self.template.render(messages, true)?;
        self.encode(&text)
    }

    /// `text` tokenized without added special tokens.
    pub fn encode(&self, text: &str) -> Result<Vec<u32>, ChatError> {
        let enc = self
            .tokenizer
            .encode(text, false)
            .map_err(|e| ChatError::file(Path::new("tokenizer.json"), format!("cannot encode the prompt: {e}")))?;
        Ok(enc.get_ids().to_vec())
    }

    /// A stream that turns generated tokens into text as they arrive.
    pub fn stream(&self) -> TextStream<'_> {
        TextStream::new(&self.tokenizer)
    }
}
