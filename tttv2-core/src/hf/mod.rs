//! Reading Hugging Face `config.json` files as transformers 4.x and 5.x write them, and the
//! same hyperparameters from a GGUF file's header (llama.cpp's format; [`LlamaConfig::from_file`]).
//!
//! [`HfConfig`] is the file as written (serde derive, every field optional, unknown fields
//! accepted); [`LlamaConfig`] is what the planner uses, with transformers' defaults applied. A
//! field that changes numerics is either implemented (RoPE default / linear / dynamic / llama3,
//! GQA, `head_dim`, tied embeddings, ...) or an [`HfErrorKind::Unsupported`] error naming the
//! field and the fix — never ignored. `LlamaForCausalLM`, `MistralForCausalLM` and `Qwen2ForCausalLM`
//! (with its q/k/v bias) are planned.

mod gguf;
mod llama;
mod rope;
mod schema;

pub use gguf::is_gguf;
pub use llama::{ConfigDifference, HfError, HfErrorKind, LlamaConfig, RopeScaling, SUPPORTED_ARCHITECTURES};
pub use schema::{HfConfig, HfRope, TokenIds};
