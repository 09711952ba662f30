//! Code generation: the Rust the `#[ttt_model]` expansion and `tttv2 generate` emit.
//!
//! The output is meant to be read: configs are `const` items in a `<model>_plan` module, written
//! with TT-NN's type and field names, and `forward` is a straight line of op calls.

mod consts;
pub mod generate;
pub mod llama;
mod llama_program;
mod model;
mod program;

pub use consts::ConstExpr;
pub use model::{ModelItem, model_multi_tokens, model_tokens, plan_module_name};
