use serde::{Deserialize, Serialize};

use crate::device::{Arch, DeviceProfile};
use crate::ttnn::{ComputeKernelConfig, DataType, MathFidelity};

/// Which execution a plan is for: prefill (many tokens per user) or decode (one token per user).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Process the prompt: M = batch × seq_len rows.
    Prefill,
    /// Generate one token per user: M = batch rows.
    Decode,
}

/// The dtype and fidelity policy: the named trade-offs between accuracy and speed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Policy {
    /// BF16 weights, high fidelity, fp32 accumulation.
    Accuracy,
    /// Block-float weights at the fidelity TT pairs with them (BFP8 with HiFi2,
    /// `tech_reports/GEMM_FLOPS/GEMM_FLOPS.md` via hardware.md), bf16 accumulation.
    Performance,
}

impl Policy {
    /// Parses `accuracy` / `performance`.
    pub fn parse(s: &str) -> Option<Policy> {
        match s {
            "accuracy" => Some(Policy::Accuracy),
            "performance" => Some(Policy::Performance),
            _ => None,
        }
    }

    /// The weight dtype of a matmul under this policy.
    pub const fn matmul_weight_dtype(self) -> DataType {
        match self {
            Policy::Accuracy => DataType::Bfloat16,
            Policy::Performance => DataType::Bfloat8B,
        }
    }

    /// The compute-kernel config of a matmul whose weight has `weight_dtype`.
    pub fn matmul_compute_config(self, weight_dtype: DataType, device: &DeviceProfile) -> ComputeKernelConfig {
        // TT pairs BFP4 with LoFi, BFP8 with HiFi2, BF16 with HiFi4 (hardware.md). On Wormhole,
        // fp32 accumulation with HiFi4 triggers TT-NN's warning about HW bug #38306, which
        // recommends HiFi3 (`compute_kernel_config.cpp::verify_numerical_configuration`).
        let fp32_dest_acc_en = matches!(self, Policy::Accuracy);
        let mut math_fidelity = match weight_dtype {
            DataType::Bfloat4B => MathFidelity::LoFi,
            DataType::Bfloat8B => MathFidelity::HiFi2,
            _ => MathFidelity::HiFi4,
        };
        if fp32_dest_acc_en && math_fidelity == MathFidelity::HiFi4 && device.arch == Arch::WormholeB0 {
            math_fidelity = MathFidelity::HiFi3;
        }
        ComputeKernelConfig {
            math_fidelity,
            math_approx_mode: false,
            fp32_dest_acc_en,
            packer_l1_acc: true,
            dst_full_sync_en: false,
        }
    }
}
