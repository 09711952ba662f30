//! Layers as generated code holds them, and where their weights come from.

pub mod generate;
#[cfg(feature = "gguf")]
mod gguf;
mod linear;
pub mod llama;
mod safetensors;
mod synthetic;
pub mod trace;
mod weights;

pub use generate::CausalLm;
#[cfg(feature = "gguf")]
pub use gguf::GgufWeights;
pub use linear::Linear;
pub use safetensors::SafetensorsWeights;
pub use synthetic::synthetic;
pub use weights::{Weight, WeightSource, Weights};
