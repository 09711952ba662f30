//! Which device targets this build was compiled with. The `tttv2` facade forwards its device
//! features to this crate, so the macro knows them without any extra attribute.

use tttv2_core::device::Arch;

/// Whether the Cargo feature for `arch` is enabled on `tttv2`.
pub fn arch_enabled(arch: Arch) -> bool {
    match arch {
        Arch::WormholeB0 => cfg!(feature = "wormhole_b0"),
        Arch::Blackhole => cfg!(feature = "blackhole"),
        Arch::Grayskull => cfg!(feature = "grayskull"),
    }
}
