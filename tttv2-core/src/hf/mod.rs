//! Reading Hugging Face `config.json` files.
//!
//! Only the Llama architecture (`LlamaForCausalLM`) is understood today; every other
//! architecture is a typed [`HfErrorKind::UnsupportedArchitecture`] error.

mod llama;

pub use llama::{HfError, HfErrorKind, LlamaConfig, RopeScaling};
