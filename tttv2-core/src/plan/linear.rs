use serde::Serialize;

use crate::cost::{LinearCost, estimate_linear};
use crate::device::DeviceProfile;
use crate::op::LinearConfig;
use crate::rules::{L1Usage, Rule, RuleViolation, check_linear};
use crate::ttnn::{
    BufferType, ComputeKernelConfig, CoreCoord, DataType, MatmulMultiCoreReuseMultiCast1DProgramConfig,
    MatmulMultiCoreReuseMultiCastDRAMShardedProgramConfig, MatmulMultiCoreReuseMultiCastProgramConfig,
    MatmulMultiCoreReuseProgramConfig, MatmulProgramConfig, MemoryConfig, ShardGrid, ShardOrientation, ShardSpec,
    TensorMemoryLayout, UnaryWithParam,
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
    (4, 2),
    (2, 4),
    (8, 1),
    (1, 8),
    (7, 1),
    (1, 7),
    (3, 2),
    (2, 3),
    (6, 1),
    (1, 6),
    (5, 1),
    (1, 5),
    (2, 2),
    (4, 1),
    (1, 4),
    (3, 1),
    (1, 3),
    (2, 1),
    (1, 2),
    (1, 1),
];

/// The first subblock in TT-NN's order that divides the block and fits the dest register.
pub(crate) fn choose_subblock(block_h: u32, block_w: u32, dest: u32) -> (u32, u32) {
    SUBBLOCK_HW_CHOICES
        .into_iter()
        .find(|&(h, w)| h * w <= dest && block_h.is_multiple_of(h) && block_w.is_multiple_of(w))
        .unwrap_or((1, 1))
}

/// How far [`plan_linear_with`] searches and which tensor placements it may choose.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LinearSearch {
    /// dtype of the activation `x`.
    pub input_dtype: DataType,
    /// dtype of the output.
    pub output_dtype: DataType,
    /// Also consider `MatmulMultiCoreReuseMultiCastDRAMShardedProgramConfig` (decode GEMV with
    /// M <= 32: weight WIDTH_SHARDED over the DRAM banks, activation and output L1
    /// WIDTH_SHARDED; matmul-rules.md §6).
    pub allow_dram_sharded: bool,
    /// Place interleaved activations and outputs in L1 instead of DRAM (decode keeps its small
    /// activations in L1, as tt-transformers does).
    pub activations_in_l1: bool,
    /// Consider only DRAM-sharded candidates (the activation is already width-sharded in L1 and
    /// the plan keeps it so).
    pub dram_sharded_only: bool,
    /// DRAM-sharded only: the activation must be width-sharded over exactly this many cores (the
    /// producer's sharding), instead of any even K split.
    pub dram_sharded_in_cores: Option<u32>,
    /// DRAM-sharded only: the output must be width-sharded over exactly this many cores (the
    /// consumer's sharding), instead of the most cores that split N evenly.
    pub dram_sharded_out_cores: Option<u32>,
    /// Rank by occupancy instead of time: among candidates within `slack` (relative) of the
    /// fastest, take the one using the fewest cores (`optimize_for = throughput`).
    pub prefer_fewer_cores: Option<f64>,
    /// The weight is already placed (another plan of the same model stored it): every candidate
    /// reads it in this memory config, and only program configs TT-NN accepts with it survive
    /// the rule check. `None`: the weight is placed with the chosen config.
    pub weight_memory_config: Option<MemoryConfig>,
}

impl Default for LinearSearch {
    /// What [`plan_linear`] searches: bf16 in and out, everything DRAM-interleaved.
    fn default() -> Self {
        LinearSearch {
            input_dtype: DataType::Bfloat16,
            output_dtype: DataType::Bfloat16,
            allow_dram_sharded: false,
            activations_in_l1: false,
            dram_sharded_only: false,
            dram_sharded_in_cores: None,
            dram_sharded_out_cores: None,
            prefer_fewer_cores: None,
            weight_memory_config: None,
        }
    }
}

/// Plans one linear: searches reuse, 1D (wide and tall) and 2D multicast configs over grid shapes and
/// K-block widths, keeps those that pass [`check_linear`], and returns the fastest. Every tensor
/// is DRAM-interleaved ([`LinearSearch::default`]).
pub fn plan_linear(req: &LinearRequest, device: &DeviceProfile) -> Result<LinearPlan, PlanError> {
    plan_linear_with(req, device, &LinearSearch::default())
}

/// [`plan_linear`] with a wider search: DRAM-sharded GEMV candidates, L1 activations, other
/// activation dtypes.
pub fn plan_linear_with(
    req: &LinearRequest,
    device: &DeviceProfile,
    search: &LinearSearch,
) -> Result<LinearPlan, PlanError> {
    let weight_dtype = req.weight_dtype.unwrap_or(req.policy.matmul_weight_dtype());
    let ckc = req.compute_kernel_config.unwrap_or_else(|| req.policy.matmul_compute_config(weight_dtype, device));
    let act_mc = if search.activations_in_l1 { MemoryConfig::L1_INTERLEAVED } else { MemoryConfig::DRAM_INTERLEAVED };
    let base = LinearConfig {
        m: req.m,
        k: req.k,
        n: req.n,
        bias: req.bias,
        input_dtype: search.input_dtype,
        input_memory_config: act_mc,
        weight_dtype,
        weight_memory_config: MemoryConfig::DRAM_INTERLEAVED,
        program_config: MatmulProgramConfig::MultiCore(Default::default()),
        compute_kernel_config: ckc,
        memory_config: act_mc,
        dtype: search.output_dtype,
    };
    if req.m == 0 || req.k == 0 || req.n == 0 {
        return Err(PlanError::InvalidRequest(RuleViolation::new(
            Rule::ShapeMismatch,
            format!("`{}` has a zero dimension (M {}, K {}, N {})", req.name, req.m, req.k, req.n),
            "give every dimension a positive size",
        )));
    }
    if let Some(forced) = req.program_config {
        let config = match forced {
            MatmulProgramConfig::DramSharded(p) => dram_sharded_config(&base, p, device),
            _ => LinearConfig { program_config: forced, ..base },
        };
        let l1 = check_linear(&config, device).map_err(PlanError::Forced)?;
        let cost = estimate_linear(&config, device);
        return Ok(LinearPlan { config, l1, cost });
    }

    let mut valid: Vec<LinearPlan> = Vec::new();
    let mut last_violation = None;
    let mut consider = |config: LinearConfig| match check_linear(&config, device) {
        Ok(l1) => {
            let cost = estimate_linear(&config, device);
            valid.push(LinearPlan { config, l1, cost });
        }
        Err(v) => last_violation = Some(v),
    };
    let placed = |config: LinearConfig| match search.weight_memory_config {
        Some(mc) => LinearConfig { weight_memory_config: mc, ..config },
        None => config,
    };
    if !search.dram_sharded_only {
        for pc in candidates(&base, req.activation, device) {
            consider(placed(LinearConfig { program_config: pc, ..base }));
        }
    }
    if (search.allow_dram_sharded || search.dram_sharded_only) && base.mt() == 1 {
        for config in dram_sharded_candidates(&base, req.activation, device, search) {
            consider(placed(config));
        }
    }
    // Among equally fast configs (e.g. all DRAM-bound), prefer the one whose compute finishes
    // soonest: it leaves the most slack for the real device. Ties keep the first (determinism).
    let time_key = |p: &LinearPlan| (p.cost.total_us, p.cost.compute_us + p.cost.noc_us);
    let mut best: Option<LinearPlan> = None;
    for p in &valid {
        if best.as_ref().is_none_or(|b| time_key(p) < time_key(b)) {
            best = Some(*p);
        }
    }
    if let (Some(slack), Some(fastest)) = (search.prefer_fewer_cores, best) {
        let limit = fastest.cost.total_us * (1.0 + slack);
        for p in &valid {
            let b = best.as_ref().expect("set above");
            let occupancy = |q: &LinearPlan| (q.cost.cores, q.cost.total_us);
            if p.cost.total_us <= limit && occupancy(p) < occupancy(b) {
                best = Some(*p);
            }
        }
    }
    best.ok_or_else(|| PlanError::NoValidConfig {
        op: req.name.clone(),
        violation: last_violation.unwrap_or_else(|| {
            RuleViolation::new(Rule::GridFitsDevice, "no candidate config was generated", "report this as a bug")
        }),
    })
}

/// The memory configs a DRAM-sharded matmul needs around program config `p`: the weight
/// WIDTH_SHARDED over all DRAM banks with N padded to `32 * banks` (tt-transformers
/// `create_dram_sharded_mem_config`, matmul-rules.md §6), the activation L1 WIDTH_SHARDED on
/// `Kt / in0_shard_w` cores, the output L1 WIDTH_SHARDED `[32, per_core_N*32]` on
/// `ceil(Nt / per_core_N)` cores (the output spec TT-NN computes, §6).
fn dram_sharded_config(
    base: &LinearConfig,
    p: MatmulMultiCoreReuseMultiCastDRAMShardedProgramConfig,
    device: &DeviceProfile,
) -> LinearConfig {
    // The activation is sharded in blocks of in0_block_w unless the forced config says otherwise;
    // callers that choose the shard width use `dram_sharded_candidates`.
    let kt = base.kt();
    let shard_w = (1..=kt)
        .find(|w| kt.is_multiple_of(*w) && kt / w <= device.num_cores() && w % p.in0_block_w.max(1) == 0)
        .unwrap_or(kt);
    dram_sharded_with(base, p, shard_w, device)
}

fn dram_sharded_with(
    base: &LinearConfig,
    p: MatmulMultiCoreReuseMultiCastDRAMShardedProgramConfig,
    in0_shard_w: u32,
    device: &DeviceProfile,
) -> LinearConfig {
    let (kt, nt) = (base.kt(), base.nt());
    let banks = device.dram_banks;
    let grid = device.compute_grid;
    let in_cores = kt / in0_shard_w.max(1);
    let out_cores = nt.div_ceil(p.per_core_N.max(1));
    // Shards hold all M rows (one tile row when the config is valid; a larger M then fails the
    // single-tile-row rule with its own message rather than a coverage error).
    let rows = base.mt() * 32;
    LinearConfig {
        input_memory_config: MemoryConfig::sharded(
            TensorMemoryLayout::WidthSharded,
            BufferType::L1,
            ShardSpec {
                grid: ShardGrid::row_wise(in_cores.max(1), grid),
                shape: [rows, in0_shard_w * 32],
                orientation: ShardOrientation::RowMajor,
            },
        ),
        weight_memory_config: MemoryConfig::sharded(
            TensorMemoryLayout::WidthSharded,
            BufferType::Dram,
            ShardSpec {
                grid: ShardGrid::row_wise(banks, CoreCoord::new(banks, 1)),
                shape: [kt * 32, nt.div_ceil(banks) * 32],
                orientation: ShardOrientation::RowMajor,
            },
        ),
        memory_config: MemoryConfig::sharded(
            TensorMemoryLayout::WidthSharded,
            BufferType::L1,
            ShardSpec {
                grid: ShardGrid::row_wise(out_cores.max(1), grid),
                shape: [rows, p.per_core_N * 32],
                orientation: ShardOrientation::RowMajor,
            },
        ),
        program_config: MatmulProgramConfig::DramSharded(p),
        ..*base
    }
}

/// DRAM-sharded candidates: every even K sharding of the activation over at most the grid's
/// cores, every in0_block_w dividing the shard, and the output on the most cores that split N
/// evenly (tt-transformers `dram_matmul_config`: `per_core_N = ceil(N / (32 * num_cores))`).
fn dram_sharded_candidates(
    base: &LinearConfig,
    activation: Option<UnaryWithParam>,
    device: &DeviceProfile,
    search: &LinearSearch,
) -> Vec<LinearConfig> {
    let (kt, nt) = (base.kt(), base.nt());
    let cores = device.num_cores();
    // Default: spread the output over as many cores as possible (the last shard may be partial,
    // as with tt-transformers' `per_core_N = ceil(N / (32 * num_cores))`).
    let out_cores = search.dram_sharded_out_cores.unwrap_or(cores.min(nt)).max(1);
    let per_core_n = nt.div_ceil(out_cores);
    let mut out = Vec::new();
    let in_choices: Vec<u32> = match search.dram_sharded_in_cores {
        Some(c) if c > 0 && kt % c == 0 => vec![c],
        Some(_) => Vec::new(),
        None => (1..=cores.min(kt)).rev().filter(|c| kt % c == 0).collect(),
    };
    for in_cores in in_choices {
        let shard_w = kt / in_cores;
        for w in (1..=shard_w).rev().filter(|w| shard_w % w == 0) {
            let p = MatmulMultiCoreReuseMultiCastDRAMShardedProgramConfig {
                in0_block_w: w,
                per_core_M: 1,
                per_core_N: per_core_n,
                fused_activation: activation,
            };
            out.push(dram_sharded_with(base, p, shard_w, device));
        }
    }
    out
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
        // 1D configs: "wide" puts all of M on every core and splits N over `cores` cores
        // (`mcast_in0`); "tall" puts all of N on every core and splits M. Core counts that give
        // the same split as a smaller count are skipped.
        for (mcast_in0, split, whole) in [(true, nt, mt), (false, mt, nt)] {
            for cores in if mcast_in0 { 1 } else { 2 }..=grid.area() {
                let per_core = split.div_ceil(cores);
                if cores > 1 && split.div_ceil(per_core) != cores {
                    continue;
                }
                let (per_core_m, per_core_n) = if mcast_in0 { (whole, per_core) } else { (per_core, whole) };
                for (bh, bw) in out_blocks(per_core_m, per_core_n) {
                    let (sh, sw) = choose_subblock(bh, bw, dest);
                    out.push(MatmulProgramConfig::MultiCast1D(MatmulMultiCoreReuseMultiCast1DProgramConfig {
                        compute_with_storage_grid_size: grid,
                        in0_block_w,
                        out_subblock_h: sh,
                        out_subblock_w: sw,
                        out_block_h: bh,
                        out_block_w: bw,
                        per_core_M: per_core_m,
                        per_core_N: per_core_n,
                        fuse_batch: true,
                        fused_activation: activation,
                        mcast_in0,
                    }));
                }
            }
        }
        // Reuse (no multicast): each core computes full-width `per_core_M × Nt` blocks. Only
        // grids holding exactly one block per core are generated: TT-NN's work split needs at
        // least as many blocks as cores and tt-metal #54798 at most as many
        // (matmul-rules.md §4).
        for per_core_m in (1..=mt).filter(|d| mt % d == 0) {
            let blocks = mt / per_core_m;
            let Some((gx, gy)) =
                (1..=grid.y).filter(|gy| blocks % gy == 0 && blocks / gy <= grid.x).map(|gy| (blocks / gy, gy)).next()
            else {
                continue;
            };
            let (sh, sw) = choose_subblock(per_core_m, nt, dest);
            out.push(MatmulProgramConfig::Reuse(MatmulMultiCoreReuseProgramConfig {
                compute_with_storage_grid_size: CoreCoord::new(gx, gy),
                in0_block_w,
                out_subblock_h: sh,
                out_subblock_w: sw,
                per_core_M: per_core_m,
                per_core_N: nt,
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
                for (bh, bw) in out_blocks(per_core_m, per_core_n) {
                    let (sh, sw) = choose_subblock(bh, bw, dest);
                    out.push(MatmulProgramConfig::MultiCast2D(MatmulMultiCoreReuseMultiCastProgramConfig {
                        compute_with_storage_grid_size: CoreCoord::new(gx, gy),
                        in0_block_w,
                        out_subblock_h: sh,
                        out_subblock_w: sw,
                        out_block_h: bh,
                        out_block_w: bw,
                        per_core_M: per_core_m,
                        per_core_N: per_core_n,
                        transpose_mcast: false,
                        fused_activation: activation,
                        fuse_batch: true,
                    }));
                }
            }
        }
    }
    out
}

/// Output blocks to try for a `per_core_m × per_core_n` per-core output: the whole of it, and —
/// when it is large — the biggest blocks of at most 64, 32 and 16 tiles that divide it (what
/// TT-NN's `get_multi_dim_per_core_factor` does to fit L1, matmul-rules.md §9.1).
fn out_blocks(per_core_m: u32, per_core_n: u32) -> Vec<(u32, u32)> {
    let mut v = vec![(per_core_m, per_core_n)];
    for cap in [64u32, 32, 16] {
        if per_core_m * per_core_n <= cap {
            continue;
        }
        let mut best: Option<(u32, u32)> = None;
        for bh in (1..=per_core_m).filter(|d| per_core_m.is_multiple_of(*d)) {
            for bw in (1..=per_core_n).filter(|d| per_core_n.is_multiple_of(*d)) {
                if bh * bw <= cap && best.is_none_or(|(h, w)| (bh * bw, bw) > (h * w, w)) {
                    best = Some((bh, bw));
                }
            }
        }
        if let Some(b) = best.filter(|b| !v.contains(b)) {
            v.push(b);
        }
    }
    v
}
