//! Per-op configuration bundles: everything the generated code passes to one backend call.
//!
//! These are tttv2's own types (TT-NN has no such struct): they group the TT-NN configs of one
//! op with the shape the plan was made for, so the runtime can reject a tensor whose shape the
//! configs were not chosen for.

mod linear;

pub use linear::LinearConfig;
