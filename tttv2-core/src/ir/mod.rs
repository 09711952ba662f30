//! The model IR: what a user declared, independent of how it was declared (attributes on struct
//! fields today; a Hugging Face `config.json` preset later). The macro lowers its input to a
//! [`ModelDecl`]; the optimizer turns that into a [`ModelPlan`](crate::plan::ModelPlan).

mod model;

pub use model::{LayerDecl, LayerKind, LinearDecl, ModelDecl};
