use serde::Serialize;

use crate::cost::{LinearCost, estimate_linear};
use crate::device::DeviceProfile;
use crate::op::LinearConfig;
use crate::rules::{L1Usage, Rule, RuleViolation, check_linear};
use crate::ttnn::{
    ComputeKernelConfig, CoreCoord, DataType, MatmulMultiCoreReuseMultiCast1DProgramConfig,
    MatmulMultiCoreReuseMultiCastProgramConfig, MatmulProgramConfig, MemoryConfig, UnaryWithParam,
};

use super::{PlanError, Policy};

/// What to plan: one `y = act(x · W + b)`.
#[derive(Debug, Clone, PartialEq)]
pub struct LinearRequest {
    /// Name for messages (the layer's name).
    pub name: String,
    /// Rows of x.
    pub m: u32,
    /// Inner dimension.
    pub k: u32,
    /// Output features.
    pub n: u32,
    /// Whether a bias is added.
    pub bias: bool,
    /// Activation to fuse into the program config.
    pub activation: Option<UnaryWithParam>,
    /// dtype/fidelity policy.
    pub policy: Policy,
    /// Per-layer override of the weight dtype.
    pub weight_dtype: Option<DataType>,
    /// Per-layer override of the compute-kernel config.
    pub compute_kernel_config: Option<ComputeKernelConfig>,
    /// A program config the user forces; it is checked, not searched.
    pub program_config: Option<MatmulProgramConfig>,
}

impl LinearRequest {
    /// A request with the policy's defaults and no overrides.
    pub fn new(name: impl Into<String>, m: u32, k: u32, n: u32, policy: Policy) -> Self {
        LinearRequest {
            name: name.into(),
            m,
            k,
            n,
            bias: false,
            activation: None,
            policy,
            weight_dtype: None,
            compute_kernel_config: None,
            program_config: None,
        }
    }
}

/// The chosen config with what it costs.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct LinearPlan {
    /// The configs the generated code passes to `linear`.
    pub config: LinearConfig,
    /// L1 per core the config needs.
    pub l1: L1Usage,
    /// The cost model's estimate.
    pub cost: LinearCost,
}

/// Output subblock shapes (h, w) in TT-NN's preference order (`SUBBLOCK_HW_CHOICES`,
/// `bmm_op_utils::get_matmul_subblock_params`, matmul-rules.md §9).
const SUBBLOCK_HW_CHOICES: [(u32, u32); 20] = [
    (4, 2), (2, 4), (8, 1), (1, 8), (7, 1), (1, 7), (3, 2), (2, 3), (6, 1), (1, 6),
    (5, 1), (1, 5), (2, 2), (4, 1), (1, 4), (3, 1), (1, 3), (2, 1), (1, 2), (1, 1),
];

/// The first subblock in TT-NN's order that divides the block and fits the dest register.
fn choose_subblock(block_h: u32, block_w: u32, dest: u32) -> (u32, u32) {
    SUBBLOCK_HW_CHOICES
        .into_iter()
        .find(|&(h, w)| h * w <= dest && block_h % h == 0 && block_w % w == 0)
        .unwrap_or((1, 1))
}

/// Plans one linear: searches 1D (wide and tall) and 2D multicast configs over grid shapes and
/// K-block widths, keeps those that pass [`check_linear`], and returns the fastest.
pub fn plan_linear(req: &LinearRequest, device: &DeviceProfile) -> Result<LinearPlan, PlanError> {
    let weight_dtype = req.weight_dtype.unwrap_or(req.policy.matmul_weight_dtype());
    let ckc = req
        .compute_kernel_config
        .unwrap_or_else(|| req.policy.matmul_compute_config(weight_dtype, device));
    let base = LinearConfig {
        m: req.m,
        k: req.k,
        n: req.n,
        bias: req.bias,
        input_dtype: DataType::Bfloat16,
        input_memory_config: MemoryConfig::DRAM_INTERLEAVED,
        weight_dtype,
        weight_memory_config: MemoryConfig::DRAM_INTERLEAVED,
        program_config: MatmulProgramConfig::MultiCore(Default::default()),
        compute_kernel_config: ckc,
        memory_config: MemoryConfig::DRAM_INTERLEAVED,
        dtype: DataType::Bfloat16,
    };
    if req.m == 0 || req.k == 0 || req.n == 0 {
        return Err(PlanError::InvalidRequest(RuleViolation::new(
            Rule::ShapeMismatch,
            format!("`{}` has a zero dimension (M {}, K {}, N {})", req.name, req.m, req.k, req.n),
            "give every dimension a positive size",
        )));
    }
    if let Some(forced) = req.program_config {
        let config = LinearConfig { program_config: forced, ..base };
        let l1 = check_linear(&config, device).map_err(PlanError::Forced)?;
        let cost = estimate_linear(&config, device);
        return Ok(LinearPlan { config, l1, cost });
    }

    let mut best: Option<LinearPlan> = None;
    let mut last_violation = None;
    for pc in candidates(&base, req.activation, device) {
        let config = LinearConfig { program_config: pc, ..base };
        match check_linear(&config, device) {
            Ok(l1) => {
                let cost = estimate_linear(&config, device);
                // Among equally fast configs (e.g. all DRAM-bound), prefer the one whose compute
                // finishes soonest: it leaves the most slack for the real device.
                let key = (cost.total_us, cost.compute_us + cost.noc_us);
                if best.as_ref().is_none_or(|b| key < (b.cost.total_us, b.cost.compute_us + b.cost.noc_us)) {
                    best = Some(LinearPlan { config, l1, cost });
                }
            }
            Err(v) => last_violation = Some(v),
        }
    }
    best.ok_or_else(|| PlanError::NoValidConfig {
        op: req.name.clone(),
        violation: last_violation.unwrap_or_else(|| {
            RuleViolation::new(Rule::GridFitsDevice, "no candidate config was generated", "report this as a bug")
        }),
    })
}

/// Enumerates candidate program configs in a fixed order.
fn candidates(
    base: &LinearConfig,
    activation: Option<UnaryWithParam>,
    device: &DeviceProfile,
) -> Vec<MatmulProgramConfig> {
    let (mt, kt, nt) = (base.mt(), base.kt(), base.nt());
    let grid = device.compute_grid;
    let dest = base.compute_kernel_config.dest_reg_tiles();
    let k_blocks: Vec<u32> = (1..=kt.min(16)).rev().filter(|w| kt % w == 0).collect();
    let mut out = Vec::new();
    for &in0_block_w in &k_blocks {
        // 1D wide: all of M on every core, N split over `cores` cores.
        for cores in 1..=grid.area() {
            let per_core_n = nt.div_ceil(cores);
            if cores > 1 && nt.div_ceil(per_core_n) != cores {
                continue; // same split as a smaller core count
            }
            let (sh, sw) = choose_subblock(mt, per_core_n, dest);
            out.push(MatmulProgramConfig::MultiCast1D(MatmulMultiCoreReuseMultiCast1DProgramConfig {
                compute_with_storage_grid_size: grid,
                in0_block_w,
                out_subblock_h: sh,
                out_subblock_w: sw,
                out_block_h: mt,
                out_block_w: per_core_n,
                per_core_M: mt,
                per_core_N: per_core_n,
                fuse_batch: true,
                fused_activation: activation,
                mcast_in0: true,
            }));
        }
        // 1D tall: all of N on every core, M split.
        for cores in 2..=grid.area() {
            let per_core_m = mt.div_ceil(cores);
            if mt.div_ceil(per_core_m) != cores {
                continue;
            }
            let (sh, sw) = choose_subblock(per_core_m, nt, dest);
            out.push(MatmulProgramConfig::MultiCast1D(MatmulMultiCoreReuseMultiCast1DProgramConfig {
                compute_with_storage_grid_size: grid,
                in0_block_w,
                out_subblock_h: sh,
                out_subblock_w: sw,
                out_block_h: per_core_m,
                out_block_w: nt,
                per_core_M: per_core_m,
                per_core_N: nt,
                fuse_batch: true,
                fused_activation: activation,
                mcast_in0: false,
            }));
        }
        // 2D: M over grid rows, N over grid columns.
        for gy in 2..=grid.y {
            for gx in 2..=grid.x {
                let per_core_m = mt.div_ceil(gy);
                let per_core_n = nt.div_ceil(gx);
                if mt.div_ceil(per_core_m) != gy || nt.div_ceil(per_core_n) != gx {
                    continue;
                }
                let (sh, sw) = choose_subblock(per_core_m, per_core_n, dest);
                out.push(MatmulProgramConfig::MultiCast2D(MatmulMultiCoreReuseMultiCastProgramConfig {
                    compute_with_storage_grid_size: CoreCoord::new(gx, gy),
                    in0_block_w,
                    out_subblock_h: sh,
                    out_subblock_w: sw,
                    out_block_h: per_core_m,
                    out_block_w: per_core_n,
                    per_core_M: per_core_m,
                    per_core_N: per_core_n,
                    transpose_mcast: false,
                    fused_activation: activation,
                    fuse_batch: true,
                }));
            }
        }
    }
    out
}
