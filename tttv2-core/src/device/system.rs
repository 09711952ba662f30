use serde::Serialize;

use super::DeviceProfile;

/// Collective topology tt-transformers uses on a mesh (`model_config.py::ccl_topology`,
/// hardware.md "Multi-chip Wormhole systems").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Topology {
    /// One chip: no collectives.
    None,
    /// Chips in a line (N300).
    Linear,
    /// Chips in a ring (T3K, Galaxy rows/columns).
    Ring,
}

/// A system of identical chips opened as a TT-NN mesh: what multi-chip planning needs.
///
/// Planning is per chip ([`DeviceProfile`]); the mesh says how many chips share the work and how
/// fast they talk. Ethernet figures are from hardware.md (`tech_reports/EthernetMultichip/
/// BasicEthernetGuide.md`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct SystemProfile {
    /// System name as users write it (`t3k`).
    pub name: &'static str,
    /// The chip every mesh position holds.
    pub chip: DeviceProfile,
    /// `MeshShape(rows, cols)` as TT-NN / tt-transformers open it.
    pub mesh: (u32, u32),
    /// Collective topology.
    pub topology: Topology,
    /// Ethernet bandwidth of one link in one direction usable by user kernels, bytes/s.
    pub eth_link_bytes_per_s: f64,
    /// Links the planner assumes a collective uses between neighbouring chips.
    pub eth_links: u32,
}

/// hardware.md: 100 Gb/s per direction per link = 12.5 GB/s (BasicEthernetGuide.md).
const ETH_LINK_BYTES_PER_S: f64 = 12.5e9;

impl SystemProfile {
    /// One n150 card: a 1×1 mesh.
    pub const N150: SystemProfile = SystemProfile {
        name: "n150",
        chip: DeviceProfile::N150,
        mesh: (1, 1),
        topology: Topology::None,
        eth_link_bytes_per_s: ETH_LINK_BYTES_PER_S,
        eth_links: 0,
    };
    /// N300: two WH chips, `MeshShape(1,2)` (tt-transformers `conftest.py`), CCL topology Linear;
    /// the internal L↔R link leaves 100 Gb/s per direction for user kernels (one of two links is
    /// reserved for dispatch; hardware.md).
    pub const N300: SystemProfile = SystemProfile {
        name: "n300",
        chip: DeviceProfile::N300,
        mesh: (1, 2),
        topology: Topology::Linear,
        eth_link_bytes_per_s: ETH_LINK_BYTES_PER_S,
        eth_links: 1,
    };
    /// T3K: eight WH chips (four N300s, physically 2×4), opened by tt-transformers as
    /// `MeshShape(1,8)` with CCL Ring (hardware.md). One link per hop is assumed.
    pub const T3K: SystemProfile = SystemProfile {
        name: "t3k",
        chip: DeviceProfile::N300,
        mesh: (1, 8),
        topology: Topology::Ring,
        eth_link_bytes_per_s: ETH_LINK_BYTES_PER_S,
        eth_links: 1,
    };
    /// Galaxy (TG / 6U): 32 unharvested WH chips, physically 4×8, opened by tt-transformers as
    /// `MeshShape(8,4)` (hardware.md); 6U uses `FABRIC_1D_RING`. tt-transformers' collectives use
    /// 4 links per hop on TG (`models/common/modules/tt_ccl.py:200-219` @ 13adda80; the 70B
    /// Galaxy demo's `GALAXY_NUM_LINKS` is 4 on 6U; docs/mesh/ttnn-mesh-ccl.md §4).
    pub const GALAXY: SystemProfile = SystemProfile {
        name: "galaxy",
        chip: DeviceProfile::WH_GALAXY,
        mesh: (8, 4),
        topology: Topology::Ring,
        eth_link_bytes_per_s: ETH_LINK_BYTES_PER_S,
        eth_links: 4,
    };
    /// One p150a card.
    pub const P150: SystemProfile = Self::single("p150", DeviceProfile::P150);
    /// One p100a card.
    pub const P100: SystemProfile = Self::single("p100", DeviceProfile::P100);
    /// One e150 card (legacy).
    pub const E150: SystemProfile = Self::single("e150", DeviceProfile::E150);

    /// A one-chip system.
    pub const fn single(name: &'static str, chip: DeviceProfile) -> SystemProfile {
        SystemProfile {
            name,
            chip,
            mesh: (1, 1),
            topology: Topology::None,
            eth_link_bytes_per_s: ETH_LINK_BYTES_PER_S,
            eth_links: 0,
        }
    }

    /// Every system, in the order help texts list them.
    pub const ALL: [SystemProfile; 7] =
        [Self::N150, Self::N300, Self::T3K, Self::GALAXY, Self::P150, Self::P100, Self::E150];

    /// Looks a system up by name (`n150`, `n300`, `t3k`, `galaxy`, `p150`, `p100`, `e150`); a
    /// single-chip name accepted by [`DeviceProfile::by_name`] is a 1×1 system.
    pub fn by_name(name: &str) -> Option<SystemProfile> {
        match name {
            "n300" => Some(Self::N300),
            "t3k" | "t3000" => Some(Self::T3K),
            "galaxy" | "tg" => Some(Self::GALAXY),
            _ => DeviceProfile::by_name(name).map(|chip| Self::single(chip.name, chip)),
        }
    }

    /// Names [`SystemProfile::by_name`] accepts, for messages.
    pub const NAMES: &'static [&'static str] = &["n150", "n300", "t3k", "galaxy", "p150", "p100", "e150"];

    /// Number of chips.
    pub const fn num_chips(&self) -> u32 {
        self.mesh.0 * self.mesh.1
    }

    /// DRAM bytes of the whole system.
    pub const fn dram_bytes(&self) -> u64 {
        self.chip.dram_bytes * self.num_chips() as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meshes_match_hardware_md() {
        assert_eq!(SystemProfile::N300.num_chips(), 2);
        assert_eq!(SystemProfile::T3K.num_chips(), 8);
        assert_eq!(SystemProfile::GALAXY.num_chips(), 32);
        // hardware.md: T3K 8 x 12 GB = 96 GB, Galaxy 32 x 12 GB = 384 GB.
        assert_eq!(SystemProfile::T3K.dram_bytes(), 96 * (1 << 30));
        assert_eq!(SystemProfile::GALAXY.dram_bytes(), 384 * (1 << 30));
        assert_eq!(SystemProfile::by_name("n150").unwrap().num_chips(), 1);
        assert!(SystemProfile::by_name("h100").is_none());
    }

    #[test]
    fn every_profile_const_is_named_after_its_name() {
        // The codegen emits `DeviceProfile::<NAME uppercased>`; by_name must round-trip.
        for p in DeviceProfile::ALL {
            assert_eq!(DeviceProfile::by_name(p.name), Some(p), "{}", p.name);
            assert!(DeviceProfile::ALL_NAMES.contains(&p.name), "{}", p.name);
        }
        for n in DeviceProfile::ALL_NAMES {
            assert!(DeviceProfile::by_name(n).is_some(), "{n}");
        }
        assert_eq!(DeviceProfile::N300.compute_grid.area(), 64);
        assert_eq!(DeviceProfile::P100.dram_banks, 7);
        assert_eq!(DeviceProfile::N150.dest_tiles(false, false), 8);
        assert_eq!(DeviceProfile::N150.dest_tiles(false, true), 4);
        assert_eq!(DeviceProfile::N150.dest_tiles(true, false), 16);
    }
}
