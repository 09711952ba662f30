//! tttv2-sys: the `cxx` bridge to the backends that run tttv2's generated code.
//!
//! Two backends implement the same C++ shim (`include/tttv2/shim.h`):
//! * **host** (default): runs every op on the CPU with Tenstorrent numerics — 32×32 tiles, bf16
//!   round-to-nearest-even, bfloat8_b/bfloat4_b block floats packed as tt-metal packs them, math
//!   fidelity — and rejects what TT-NN would reject, with TT-NN's messages;
//! * **ttnn** (feature `ttnn`): calls TT-NN's C++ API of tt-metal `13adda80`, found through
//!   `TT_METAL_HOME`.
//!
//! The Rust API is the same for both: [`Device`], [`Tensor`] and the functions in [`ops`].
#![deny(missing_docs)]

mod bridge;
mod convert;
mod device;
mod error;
pub mod ops;
mod tensor;
pub mod trace;

pub use device::Device;
pub use error::{Error, Result};
pub use tensor::{ShardPlacement, Tensor};
