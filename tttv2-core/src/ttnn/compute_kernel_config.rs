use serde::{Deserialize, Serialize};

/// How many passes the FPU makes over the mantissa bits (`tt::tt_metal::MathFidelity`, values as
/// in `base_types.hpp`). Throughput divides by the phase count: LoFi ÷1, HiFi2 ÷2, HiFi3 ÷3,
/// HiFi4 ÷4 (hardware.md "Matrix engine", `tech_reports/GEMM_FLOPS/GEMM_FLOPS.md`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[repr(u8)]
pub enum MathFidelity {
    /// One phase: the most significant mantissa bits of each operand only.
    LoFi = 0,
    /// Two phases.
    HiFi2 = 2,
    /// Three phases.
    HiFi3 = 3,
    /// Four phases: every mantissa bit of a bf16 operand.
    HiFi4 = 4,
}

impl MathFidelity {
    /// Number of FPU phases, the divisor of peak throughput.
    pub const fn phases(self) -> u32 {
        match self {
            MathFidelity::LoFi => 1,
            MathFidelity::HiFi2 => 2,
            MathFidelity::HiFi3 => 3,
            MathFidelity::HiFi4 => 4,
        }
    }

    /// Parses `LoFi`, `HiFi2`, `HiFi3`, `HiFi4` (case-insensitive).
    pub fn parse(s: &str) -> Option<MathFidelity> {
        Some(match s.to_ascii_lowercase().as_str() {
            "lofi" => MathFidelity::LoFi,
            "hifi2" => MathFidelity::HiFi2,
            "hifi3" => MathFidelity::HiFi3,
            "hifi4" => MathFidelity::HiFi4,
            _ => return None,
        })
    }
}

/// `ttnn::ComputeKernelConfig` (= `WormholeComputeKernelConfig`) at 13adda80.
///
/// The C++ struct's defaults differ from Python's (ttnn-api.md §12): we never rely on either and
/// always emit every field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ComputeKernelConfig {
    /// FPU fidelity.
    pub math_fidelity: MathFidelity,
    /// Approximate SFPU transcendental functions.
    pub math_approx_mode: bool,
    /// Accumulate in fp32 in the dest register (halves the dest tiles available).
    pub fp32_dest_acc_en: bool,
    /// Accumulate partial K-block results in L1 through the packer.
    pub packer_l1_acc: bool,
    /// Full-sync dest (16 bf16 tiles) instead of half-sync (8).
    pub dst_full_sync_en: bool,
}

impl ComputeKernelConfig {
    /// Tiles the dest register holds for 32×32 tiles: 16 in full-sync, halved in half-sync (the
    /// default) and halved again with fp32 accumulation. This caps
    /// `out_subblock_h * out_subblock_w` (`compute_kernel_config.cpp::get_dest_reg_count`,
    /// matmul-rules.md §1).
    pub const fn dest_reg_tiles(&self) -> u32 {
        let mut n = 16;
        if !self.dst_full_sync_en {
            n /= 2;
        }
        if self.fp32_dest_acc_en {
            n /= 2;
        }
        n
    }
}
