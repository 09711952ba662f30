//! What went wrong reading a model directory or rendering a chat: the file, the field, the reason.

use std::fmt;
use std::path::{Path, PathBuf};

/// An error of [`crate::chat`]: names the file (and the field in it, when one is at fault).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatError {
    /// The file at fault (the model directory when no single file is).
    pub path: PathBuf,
    /// The JSON field at fault, if one is.
    pub field: Option<String>,
    /// What is wrong, and what would fix it.
    pub message: String,
}

impl ChatError {
    pub(crate) fn file(path: &Path, message: impl Into<String>) -> ChatError {
        ChatError { path: path.to_owned(), field: None, message: message.into() }
    }

    pub(crate) fn field(path: &Path, field: &str, message: impl Into<String>) -> ChatError {
        ChatError { path: path.to_owned(), field: Some(field.to_owned()), message: message.into() }
    }
}

impl fmt::Display for ChatError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.field {
            Some(field) => write!(f, "{}: field `{field}`: {}", self.path.display(), self.message),
            None => write!(f, "{}: {}", self.path.display(), self.message),
        }
    }
}

impl std::error::Error for ChatError {}

/// Reads and parses a JSON file, naming it on failure.
pub(crate) fn read_json(path: &Path) -> Result<serde_json::Value, ChatError> {
    let text = std::fs::read_to_string(path).map_err(|e| ChatError::file(path, format!("cannot read: {e}")))?;
    serde_json::from_str(&text).map_err(|e| ChatError::file(path, format!("not valid JSON: {e}")))
}
