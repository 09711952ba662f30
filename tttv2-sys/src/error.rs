/// Everything that can go wrong at run time: a backend rejecting an op (TT-NN's message), a
/// tensor of the wrong shape, a missing or malformed weight, the wrong device.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The backend rejected an op or failed; `message` is the backend's (TT-NN-style) text.
    #[error("{op}: {message}")]
    Backend {
        /// The op that failed, e.g. `linear`.
        op: &'static str,
        /// The backend's message.
        message: String,
    },
    /// A tensor does not have the shape, dtype or layout the plan was made for.
    #[error("{op}: {message}")]
    Shape {
        /// The op or place that checked.
        op: &'static str,
        /// What was expected and what was found.
        message: String,
    },
    /// A weight is missing or malformed.
    #[error("weight `{name}`: {message}")]
    Weight {
        /// The weight's name, e.g. `up.weight`.
        name: String,
        /// What is wrong.
        message: String,
    },
    /// The device does not match what the model was compiled for, or cannot be opened.
    #[error("device: {0}")]
    Device(String),
}

/// `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

pub(crate) fn backend(op: &'static str) -> impl FnOnce(cxx::Exception) -> Error {
    move |e| Error::Backend { op, message: e.what().to_owned() }
}
