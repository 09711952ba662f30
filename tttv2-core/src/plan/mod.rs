//! The optimizer: searches the space of valid TT-NN configs for each op and keeps the one the
//! cost model ranks fastest.
//!
//! Deterministic by construction: candidates are enumerated in a fixed order and ties keep the
//! first. Nothing here is keyed by model name; everything follows from shapes, dtypes, the
//! policy and the [`DeviceProfile`](crate::device::DeviceProfile).

mod error;
mod grammar;
mod linear;
pub mod llama;
mod model;
mod policy;

pub use error::PlanError;
pub use grammar::parse_memory_size;
pub(crate) use linear::choose_subblock;
pub use linear::{LinearPlan, LinearRequest, LinearSearch, plan_linear, plan_linear_with};
pub use model::{LayerPlan, ModelError, ModelPlan, plan_model};
pub use policy::{Mode, Policy};
