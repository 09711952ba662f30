//! What the optimizer knows about each Tenstorrent target.
//!
//! Every number cites `../shared/reference/hardware.md` (which in turn cites tt-metal @ 13adda80
//! and the vendor specification pages). The backend queries the real values at run time; these
//! are the values the compile-time planner assumes, and the generated code checks at load that the
//! opened device matches them.

mod profile;
mod system;

pub use profile::{Arch, DeviceProfile};
pub use system::{SystemProfile, Topology};
