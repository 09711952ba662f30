//! tttv2's pure-Rust core: the model IR, device profiles, the optimizer that picks every TT-NN
//! config at compile time, its rule checker and cost model, and the code generator.
//!
//! Everything here runs inside the `#[ttt_model]` proc-macro (and the `tttv2` CLI), so it is
//! deterministic and free of I/O except reading a model's `config.json`.
#![deny(missing_docs)]

pub mod codegen;
pub mod cost;
pub mod device;
pub mod graph;
pub mod hf;
pub mod ir;
pub mod manifest;
pub mod op;
pub mod plan;
pub mod rules;
pub mod ttnn;
