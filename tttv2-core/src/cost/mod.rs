//! The cost model: a per-op roofline that ranks candidate configs and estimates each op's time.
//!
//! Time = max(compute, DRAM traffic, NoC traffic) + fixed per-op cost. Compute runs at the
//! matrix engine's peak (4096 FLOP/cycle/core ÷ fidelity phases, hardware.md) scaled by how well the
//! chosen blocks use it; DRAM traffic at the fraction of peak bandwidth TT measured for each weight
//! layout (DRAM-interleaved matmul ~190 of 288 GB/s, `tech_reports/LLMs/llms.md` §4.6.1;
//! DRAM-sharded streaming 267 GB/s, `tech_reports/Saturating_DRAM_bandwidth`, see
//! `linear::DRAM_SHARDED_EFFICIENCY`).

mod linear;
mod op;

pub use linear::{DRAM_SHARDED_EFFICIENCY, LinearCost, estimate_linear};
pub use op::{DRAM_INTERLEAVED_EFFICIENCY, OpCost, OpWork, estimate_op};

/// Fixed time inside every kernel, µs: launch, first-request latency and the final barrier.
///
/// Fitted (least squares, with weights streamed at 267 GB/s) to the per-shape targets of the
/// DRAM-sharded read benchmark `test_dram_read_l1_write_core` in
/// `tests/scripts/test_moreh_microbenchmark.py` @ 13adda80 (WH, 12 banks; kernel duration):
/// 1024×2304 bfp8 226 GB/s, 2048×1536 bfp8 232 GB/s, 2048×3840 bfp4 244 GB/s, 3584×2304 bfp8
/// 255 GB/s, whose implied ramps are 1.70, 1.89, 1.56 and 1.55 µs. Small ops agree: the traced
/// Llama-70B Galaxy decoder's smallest kernels take 2.2–2.9 µs (`RotaryEmbeddingLlamaFusedQK`,
/// `Binary_Mult_Silu`, `models/demos/llama3_70b_galaxy/tests/decoder_perf_targets_{4u,6u}.json`).
pub const KERNEL_RAMP_US: f64 = 1.7;

/// Gap between one op's end and the next op's start on the device, µs, with the decode step
/// replayed from a trace (tt-transformers traces decode; `tech_reports/LLMs/llms.md` §4.1, §4.5.5:
/// "tracing reduces the OP-to-OP gap below 6us"). The traced Llama-70B Galaxy decoder's targets
/// give 0.60–1.05 µs per op, mean 0.72 µs (6U) and 0.81 µs (4U) (`op_to_op`, in ns, in
/// `models/demos/llama3_70b_galaxy/tests/decoder_perf_targets_{4u,6u}.json` @ 13adda80); we use
/// 0.8 µs. Prefill is not traced in tt-transformers, so its real gaps also carry host time that
/// this model does not count (prefill ops are milliseconds long, so it barely matters there).
pub const OP_GAP_US: f64 = 0.8;

/// Fixed cost of every op, µs: [`KERNEL_RAMP_US`] + [`OP_GAP_US`].
pub const FIXED_OP_US: f64 = KERNEL_RAMP_US + OP_GAP_US;
