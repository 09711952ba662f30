//! # tttv2
//!
//! Declare a neural network once and get, at compile time, code specialised for a Tenstorrent
//! device:
//!
//! ```
//! use tttv2::ttt_model;
//!
//! #[ttt_model(device = "wormhole_b0", batch = 32)]
//! pub struct Mlp {
//!     #[linear(in = 256, out = 1024, activation = "silu")]
//!     up: Linear,
//!     #[linear(in = 1024, out = 256)]
//!     down: Linear,
//! }
//!
//! // The optimizer's choices are plain consts:
//! let cfg = mlp_plan::UP;
//! assert_eq!((cfg.m, cfg.k, cfg.n), (32, 256, 1024));
//! ```
//!
//! The `#[ttt_model]` expansion runs tttv2's optimizer inside the compiler. It picks every TT-NN
//! config (matmul program config, memory config, compute-kernel config, dtypes) for the model on
//! that device, and emits:
//!
//! * the struct, holding the weights on the device;
//! * a `<model>_plan` module of `const` configs, named and typed as in TT-NN;
//! * `load` (weights by their Hugging Face-style names), `input` and `forward`, a straight line
//!   of calls into [`ops`].
//!
//! Invalid declarations and configs are compile errors pointing at the offending token.
//!
//! ## Device features
//! Each device architecture is a Cargo feature: `wormhole_b0` (default), `blackhole`,
//! `grayskull` (legacy: TT-NN dropped Grayskull after v0.55). A model for a device whose
//! feature is off does not compile, and the error names the feature to enable.
//!
//! ## Backends
//! By default ops run on the **host backend**, which computes on the CPU with Tenstorrent
//! numerics and rejects what TT-NN would reject. The `ttnn` feature builds against a real
//! tt-metal install (`TT_METAL_HOME`).
//!
//! ## Chat
//! The `chat` feature adds [`chat`](crate::chat): a Hugging Face model directory's tokenizer,
//! chat template and stop tokens, and streaming detokenization, for [`nn::generate`].
#![deny(missing_docs)]

#[cfg(feature = "chat")]
pub mod chat;
pub mod dynamic;
pub mod nn;

#[doc(hidden)]
pub use serde_json;
pub use tttv2_core::{cost, device, graph, hf, ir, manifest, op, plan, program, rules, ttnn};
pub use tttv2_macros::ttt_model;
pub use tttv2_sys::{Device, Error, Result, Tensor, ops, trace};
