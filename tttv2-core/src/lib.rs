//! tttv2's pure-Rust core: the model IR, device profiles, the optimizer that picks every TT-NN
//! config at compile time, its rule checker and cost model.
//!
//! The planner runs inside the `#[ttt_model]` proc-macro (and the `tttv2` CLI), so it is
//! deterministic and free of I/O except reading a model's `config.json`. The config types
//! (`ttnn`, `op`, `device`) are also what generated code and `tttv2-sys` use at run time, so this
//! crate does not depend on `syn`/`quote`/`proc-macro2`: emitting Rust is `tttv2-codegen`'s job.
#![deny(missing_docs)]

pub mod cost;
pub mod device;
pub mod graph;
pub mod hf;
pub mod ir;
pub mod manifest;
pub mod op;
pub mod plan;
pub mod program;
pub mod rules;
pub mod ttnn;
