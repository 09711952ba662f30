//! The cost model: a per-op roofline that ranks candidate configs and estimates each op's time.
//!
//! Time = max(compute, DRAM traffic, NoC traffic) + fixed per-op cost. Compute runs at the
//! matrix engine's peak (4096 FLOP/cycle/core ÷ fidelity phases, hardware.md) scaled by how well the
//! chosen blocks use it; DRAM traffic at the fraction of peak bandwidth TT measured for each weight
//! layout (hardware.md: DRAM-interleaved matmul ~190 GB/s, DRAM-sharded ~240 GB/s of 288).

mod linear;
mod op;

pub use linear::{LinearCost, estimate_linear};
pub use op::{DRAM_INTERLEAVED_EFFICIENCY, OpCost, OpWork, estimate_op};

/// Fixed host-dispatch and kernel-launch cost per op, microseconds. TT reports op-to-op gaps of a
/// few µs with tracing; we use 2 µs for every op so that fusing ops is worth it in the model.
pub const FIXED_OP_US: f64 = 2.0;
