//! Code generation: the Rust the `#[ttt_model]` expansion and `tttv2 generate` emit.
//!
//! The output is meant to be read: configs are `const` items in a `<model>_plan` module, written
//! with TT-NN's type and field names, and `forward` is a straight line of op calls.
//!
//! This crate is build-time only: the `#[ttt_model]` macro (`tttv2-macros`) and the `tttv2`
//! CLI (`tttv2-cli`) use it. It is the one place that depends on `syn`/`quote`/`proc-macro2`/
//! `prettyplease`; what generated code needs at run time (`tttv2-core`'s config types, the
//! `tttv2` facade, `tttv2-sys`) does not.
#![deny(missing_docs)]

mod consts;
pub mod generate;
pub mod llama;
mod llama_program;
mod model;
mod program;
pub mod signatures;

pub use consts::ConstExpr;
pub use model::{ModelItem, model_multi_tokens, model_tokens, plan_module_name};
