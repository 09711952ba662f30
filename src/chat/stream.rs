//! Text as tokens arrive: an incremental detokenizer.
//!
//! Decoding each token on its own is wrong twice over: a character split over byte-fallback or
//! byte-level tokens decodes to U+FFFD until its last byte arrives, and SentencePiece-style
//! decoders drop the leading space of the first token they see (`▁world` alone is "world", after
//! `▁Hello` it is " world"). So each step decodes a short window of tokens twice, with and
//! without the new ones, and emits the difference once it no longer ends in an incomplete
//! character. (The same scheme as Hugging Face text-generation-inference's `decode_token`, which
//! keeps a prefix offset and a read offset.)

use tokenizers::Tokenizer;

/// The replacement character a decoder writes for an incomplete UTF-8 sequence.
const REPLACEMENT: char = '\u{FFFD}';

/// Turns one user's tokens into text as they arrive; special tokens (EOS) are not printed.
pub struct TextStream<'t> {
    tokenizer: &'t Tokenizer,
    tokens: Vec<u32>,
    /// Start of the window decoded for context (its text has been emitted).
    prefix: usize,
    /// End of the tokens whose text has been emitted.
    read: usize,
}

impl<'t> TextStream<'t> {
    /// A stream that has seen no token yet.
    pub fn new(tokenizer: &'t Tokenizer) -> TextStream<'t> {
        TextStream { tokenizer, tokens: Vec::new(), prefix: 0, read: 0 }
    }

    fn decode(&self, tokens: &[u32]) -> Result<String, String> {
        self.tokenizer.decode(tokens, true).map_err(|e| format!("decoding tokens {tokens:?}: {e}"))
    }

    /// Takes the next token; returns the text it completes (none while a character is split).
    pub fn push(&mut self, token: u32) -> Result<Option<String>, String> {
        self.tokens.push(token);
        let before = self.decode(&self.tokens[self.prefix..self.read])?;
        let now = self.decode(&self.tokens[self.prefix..])?;
        if now.len() > before.len() && !now.ends_with(REPLACEMENT) {
            // The window's earlier text must be a prefix of the longer decode; a decoder that
            // rewrites it (none of the Hugging Face ones does) would make the slice below wrong.
            if let Some(new) = now.strip_prefix(before.as_str()) {
                let new = new.to_owned();
                self.prefix = self.read;
                self.read = self.tokens.len();
                return Ok(Some(new));
            }
        }
        Ok(None)
    }

    /// The text still held back (an incomplete character at the end of generation is printed as
    /// U+FFFD, as a full decode prints it).
    pub fn finish(&mut self) -> Result<Option<String>, String> {
        let before = self.decode(&self.tokens[self.prefix..self.read])?;
        let now = self.decode(&self.tokens[self.prefix..])?;
        self.prefix = self.tokens.len();
        self.read = self.tokens.len();
        Ok(now.strip_prefix(before.as_str()).filter(|s| !s.is_empty()).map(str::to_owned))
    }

    /// Every token pushed so far.
    pub fn tokens(&self) -> &[u32] {
        &self.tokens
    }
}
