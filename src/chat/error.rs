//! What went wrong reading a model directory or rendering a chat: the file, the field, the reason.

use std::path::{Path, PathBuf};

/// An error of [`crate::chat`]: names the file (and the field in it, when one is at fault).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {}{message}", .path.display(), .field.as_ref().map(|f| format!("field `{f}`: ")).unwrap_or_default())]
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

/// Reads and parses a JSON file, naming it on failure.
pub(crate) fn read_json(path: &Path) -> Result<serde_json::Value, ChatError> {
    let text = std::fs::read_to_string(path).map_err(|e| ChatError::file(path, format!("cannot read: {e}")))?;
    serde_json::from_str(&text).map_err(|e| ChatError::file(path, format!("not valid JSON: {e}")))
}
