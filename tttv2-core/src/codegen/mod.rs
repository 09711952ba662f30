//! Code generation: the Rust the `#[ttt_model]` expansion (and later `tttv2 generate`) emits.
//!
//! The output is meant to be read: configs are `const` items in a `<model>_plan` module, written
//! with TT-NN's type and field names, and `forward` is a straight line of op calls.

mod consts;
mod model;

pub use consts::ConstExpr;
pub use model::{ModelItem, model_tokens, plan_module_name};
