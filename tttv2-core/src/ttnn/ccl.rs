//! The arguments of TT-NN's collectives (`ttnn/cpp/ttnn/operations/ccl/` at 13adda80;
//! docs/mesh/ttnn-mesh-ccl.md §3).

use serde::{Deserialize, Serialize};

/// `ttnn::ccl::Topology`: how the chips of a collective's ring are connected. TT-NN falls back
/// to `Linear` when the chips along the axis do not wrap around, and an axis of two chips is
/// always `Linear` (`ccl_common.cpp:37-93` @ 13adda80).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum CclTopology {
    /// Chips in a line: data travels both ways from each chip.
    Linear,
    /// Chips in a ring.
    Ring,
}
