//! Planners of the non-matmul Llama ops: each picks memory configs, program and compute-kernel
//! configs, checks the op's rules, and estimates it.
//!
//! Rules come from `../shared/reference/ttnn-api.md` (§2 norms, §5 rotary, §6 SDPA, §7 KV cache,
//! §8 heads) and from the TT-NN validation sources named where used (tt-metal @ 13adda80). L1
//! figures for these ops are their circular buffers (the program factories' CB sizes, transcribed
//! in [`cb`] with their 13adda80 sources) plus the L1 tensors they read and write on the busiest
//! core (shards, and L1-interleaved pages spread over the cores, counted in `finish`).

use std::collections::BTreeMap;

use crate::cost::{OpWork, estimate_op};
use crate::device::{DeviceProfile, SystemProfile, Topology};
use crate::plan::{Mode, Policy};
use crate::rules::{Rule, RuleViolation, check_shard_spec};
use crate::ttnn::{
    BufferType, CclTopology, ComputeKernelConfig, CoreCoord, DataType, LayerNormDefaultProgramConfig,
    LayerNormProgramConfig, LayerNormShardedMultiCoreProgramConfig, MathFidelity, MemoryConfig, OpProgramConfig,
    SDPAProgramConfig, ShardGrid, ShardOrientation, ShardSpec, TaggedSdpa, TensorMemoryLayout,
};

use super::cb;
use super::types::LlamaPlanError;
use crate::program::{Call, OpKind, OpShapes, PlannedOp, Role, TensorArg};

/// bf16 tile bytes (hardware.md tile table).
const BF16_TILE: u64 = 2048;

pub(super) fn violation(op: &str, rule: Rule, msg: String, fix: &str) -> LlamaPlanError {
    LlamaPlanError::Op {
        op: op.to_owned(),
        error: crate::plan::PlanError::NoValidConfig {
            op: op.to_owned(),
            violation: RuleViolation::new(rule, msg, fix),
        },
    }
}

/// `[rows, width]` WIDTH_SHARDED in L1 over `cores` cores taken row-wise from the grid.
pub(super) fn width_sharded(cores: u32, grid: CoreCoord, rows: u32, shard_w: u32) -> MemoryConfig {
    MemoryConfig::sharded(
        TensorMemoryLayout::WidthSharded,
        BufferType::L1,
        ShardSpec {
            grid: ShardGrid::row_wise(cores, grid),
            shape: [rows.div_ceil(32) * 32, shard_w],
            orientation: ShardOrientation::RowMajor,
        },
    )
}

/// HEIGHT_SHARDED in L1, one `[shard_h, width]` shard per core.
pub(super) fn height_sharded(cores: u32, grid: CoreCoord, shard_h: u32, width: u32) -> MemoryConfig {
    MemoryConfig::sharded(
        TensorMemoryLayout::HeightSharded,
        BufferType::L1,
        ShardSpec {
            grid: ShardGrid::row_wise(cores, grid),
            shape: [shard_h.div_ceil(32) * 32, width],
            orientation: ShardOrientation::RowMajor,
        },
    )
}

/// `n` cores as a rectangle at the origin: the row-wise grid when that is already rectangular,
/// else the widest `w × n/w` rectangle that fits (32 users on a 13x10 p150: 8x4), else (no
/// rectangle fits, `n` prime above the grid width) the row-wise grid.
pub(super) fn rect_grid(n: u32, grid: CoreCoord) -> ShardGrid {
    let rw = ShardGrid::row_wise(n, grid);
    if rw.is_rectangular() {
        return rw;
    }
    match (1..=grid.x.min(n)).rev().find(|w| n.is_multiple_of(*w) && n / w <= grid.y) {
        Some(w) => ShardGrid::row_wise(n, CoreCoord::new(w, grid.y)),
        None => rw,
    }
}

/// Bytes one core holds of an L1-sharded tensor (0 for DRAM or interleaved).
pub(super) fn l1_shard_bytes(mc: &MemoryConfig, dtype: DataType) -> u64 {
    match mc.shard_spec {
        Some(s) if mc.is_sharded() && mc.buffer_type == BufferType::L1 => {
            s.shape[0].div_ceil(32) as u64 * s.shape[1].div_ceil(32) as u64 * dtype.tile_bytes()
        }
        _ => 0,
    }
}

/// Whether `n` cores taken row-wise from `grid` form a rectangle (sharded layernorm rejects
/// non-rectangular grids: `layernorm_device_operation.cpp` @ 13adda80, "Sharded layernorm does not
/// support non-rectangular core grids").
pub(super) fn rectangular(n: u32, grid: CoreCoord) -> bool {
    n >= 1 && n <= grid.area() && (n <= grid.x || n.is_multiple_of(grid.x))
}

/// Where the hidden-size activations of a plan live.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Residency {
    /// Decode with at most 32 rows: L1 WIDTH_SHARDED over `cores` cores.
    Sharded {
        /// Cores the hidden dimension is split over.
        cores: u32,
    },
    /// Interleaved in this memory config (DRAM for prefill, L1 for decode with > 32 rows).
    Interleaved(MemoryConfig),
}

/// An `m × width` activation as an eltwise op or a collective reads it.
#[derive(Debug, Clone, Copy)]
pub(super) struct Activation {
    pub m: u32,
    pub width: u32,
    pub memory_config: MemoryConfig,
    pub dtype: DataType,
}

/// One chip's share of a layer's attention, as the head, rotary, KV-cache and SDPA ops see it.
#[derive(Debug, Clone, Copy)]
pub(super) struct Attention {
    /// Users in the call.
    pub batch: u32,
    /// Positions each user brings to the call (1 in decode).
    pub seq: u32,
    /// Positions the KV cache holds.
    pub cache_len: u32,
    pub q_heads: u32,
    pub kv_heads: u32,
    pub head_dim: u32,
    /// dtype of the KV cache.
    pub kv_dtype: DataType,
}

/// An `rms_norm` to plan: the op, its gamma, and the hidden state it normalises.
pub(super) struct NormRequest {
    pub name: String,
    pub layer: Option<u32>,
    /// The gamma's checkpoint name.
    pub weight: String,
    pub epsilon: f32,
    /// Rows of the hidden state.
    pub m: u32,
    pub hidden: u32,
    /// Where the hidden state lives.
    pub res: Residency,
}

/// An SDPA op being planned: what the decode op and every prefill chunk candidate share.
struct Sdpa {
    name: String,
    layer: u32,
    /// The attention, with the attended positions padded to whole tiles.
    shape: cb::SdpaShape,
    kv_dtype: DataType,
    compute_kernel_config: ComputeKernelConfig,
    scale: f32,
}

/// Shared inputs of the op planners.
pub(super) struct Ctx<'a> {
    pub device: &'a DeviceProfile,
    /// The system's name (`t3k`); the chip's when the system is one chip.
    pub system: &'a str,
    pub mode: Mode,
    pub policy: Policy,
}

impl Ctx<'_> {
    /// The chip as an error names it: `n150`, or `the n300 chip of t3k` on a multi-chip system.
    pub(super) fn chip_name(&self) -> String {
        if self.system == self.device.name {
            self.device.name.to_string()
        } else {
            format!("the {} chip of {}", self.device.name, self.system)
        }
    }

    fn finish(&self, mut op: PlannedOp, work: OpWork, l1: u64) -> Result<PlannedOp, LlamaPlanError> {
        for (role, mc) in &op.memory_configs {
            let shape = op.shapes.tensors.get(role).copied().unwrap_or([1, 1, 32, 32]);
            let rows = shape[0] * shape[1] * shape[2];
            check_shard_spec(role.name(), mc, rows, shape[3], self.device).map_err(|v| LlamaPlanError::Op {
                op: op.name.clone(),
                error: crate::plan::PlanError::NoValidConfig { op: op.name.clone(), violation: v },
            })?;
        }
        // L1-interleaved tensors the op reads or writes: their pages are spread over the cores' L1
        // banks, so the busiest core holds `ceil(pages / cores)` of each (tools/ttnn-replay/FINDINGS.md
        // fix 12: TT-NN counts them on the core).
        let cores = self.device.num_cores().max(1) as u64;
        let l1 = l1
            + op.memory_configs
                .iter()
                .filter(|(_, mc)| !mc.is_sharded() && mc.buffer_type == BufferType::L1)
                .map(|(role, _)| {
                    let s = op.shapes.tensors.get(role).copied().unwrap_or([1, 1, 32, 32]);
                    if op.kind() == OpKind::Embedding && *role == Role::Input {
                        // ROW_MAJOR uint32 token ids: one page per row (rounded up to 64 B).
                        let rows = s[0] as u64 * s[1] as u64 * s[2] as u64;
                        return rows.div_ceil(cores) * (s[3] as u64 * 4).div_ceil(64) * 64;
                    }
                    let tiles = s[0] as u64 * s[1] as u64 * s[2].div_ceil(32) as u64 * s[3].div_ceil(32) as u64;
                    let dt = op.dtypes.get(role).copied().unwrap_or(DataType::Bfloat16);
                    tiles.div_ceil(cores) * dt.tile_bytes()
                })
                .sum::<u64>();
        let budget = self.device.l1_budget_bytes();
        if l1 > budget {
            return Err(violation(
                &op.name,
                Rule::L1Fits,
                format!("needs {l1} B of L1 per core but {} allows {budget} B", self.chip_name()),
                "shard over more cores or shorten the sequence chunk",
            ));
        }
        let cost = estimate_op(&work, self.device);
        op.l1_peak_bytes_per_core = l1;
        op.estimate_us = cost.total_us;
        op.cores = cost.cores;
        op.dram_bytes = cost.dram_bytes;
        Ok(op)
    }

    fn base(&self, name: String, layer: Option<u32>, call: Call) -> PlannedOp {
        PlannedOp {
            call,
            inputs: Vec::new(),
            outputs: Vec::new(),
            deallocate: Vec::new(),
            name,
            mode: self.mode,
            layer,
            weights: Vec::new(),
            shapes: OpShapes::default(),
            program_config: None,
            compute_kernel_config: None,
            memory_configs: BTreeMap::new(),
            dtypes: BTreeMap::new(),
            l1_peak_bytes_per_core: 0,
            estimate_us: 0.0,
            cores: 1,
            dram_bytes: 0,
            weight_bytes: 0,
            eth_bytes: 0,
        }
    }

    /// Compute config of norms, rotary and eltwise ops: HiFi4 (these ops are not matmul-bound),
    /// fp32 accumulation under the accuracy policy.
    pub fn sfpu_config(&self, fp32_allowed: bool) -> ComputeKernelConfig {
        ComputeKernelConfig {
            math_fidelity: MathFidelity::HiFi4,
            math_approx_mode: false,
            fp32_dest_acc_en: fp32_allowed && self.policy == Policy::Accuracy,
            packer_l1_acc: false,
            dst_full_sync_en: false,
        }
    }

    /// The hidden-state memory config for `m` rows.
    pub fn hidden_mc(&self, res: Residency, m: u32, hidden: u32) -> MemoryConfig {
        match res {
            Residency::Sharded { cores } => width_sharded(cores, self.device.compute_grid, m, hidden / cores),
            Residency::Interleaved(mc) => mc,
        }
    }

    /// `ttnn::embedding`: gathers `m` rows of the (row-major bf16) table.
    pub fn embedding(&self, weight: String, m: u32, vocab: u32, hidden: u32) -> Result<PlannedOp, LlamaPlanError> {
        let out_mc = match self.mode {
            Mode::Decode => MemoryConfig::L1_INTERLEAVED,
            Mode::Prefill => MemoryConfig::DRAM_INTERLEAVED,
        };
        let mut op =
            self.base("embedding".into(), None, Call::Embedding { memory_config: out_mc, dtype: DataType::Bfloat16 });
        op.weights = vec![weight];
        op.shapes.tensors = BTreeMap::from([
            (Role::Input, [1, 1, 1, m]),
            (Role::Weight, [1, 1, vocab, hidden]),
            (Role::Output, [1, 1, m, hidden]),
        ]);
        op.memory_configs = BTreeMap::from([
            (Role::Input, MemoryConfig::L1_INTERLEAVED),
            (Role::Weight, MemoryConfig::DRAM_INTERLEAVED),
            (Role::Output, out_mc),
        ]);
        op.dtypes = BTreeMap::from([
            (Role::Input, DataType::Uint32),
            (Role::Weight, DataType::Bfloat16),
            (Role::Output, DataType::Bfloat16),
        ]);
        let row = hidden as u64 * 2;
        let cores = m.div_ceil(32).min(self.device.num_cores()).max(1);
        let out_dram = if out_mc.buffer_type == BufferType::Dram { m as u64 * row } else { 0 };
        let work = OpWork {
            cores,
            dram_bytes: m as u64 * row + out_dram,
            noc_bytes_per_core: (m as u64 * row).div_ceil(cores as u64) * 2,
            ..OpWork::default()
        };
        // Row-major gather into tiles: the factory's CBs ([`cb::embedding`]); the L1 output pages are
        // added by `finish`.
        let l1 = cb::embedding(hidden, DataType::Bfloat16.tile_bytes(), DataType::Bfloat16.tile_bytes());
        op.weight_bytes = m as u64 * row;
        self.finish(op, work, l1)
    }

    /// `ttnn::sharded_to_interleaved` of the activation `input` into `to`.
    pub fn to_interleaved(
        &self,
        name: String,
        input: Activation,
        to: MemoryConfig,
    ) -> Result<PlannedOp, LlamaPlanError> {
        let Activation { m, width, memory_config: from, dtype } = input;
        let mut op = self.base(name, None, Call::ToMemoryConfig { memory_config: to });
        op.shapes.tensors = BTreeMap::from([(Role::Input, [1, 1, m, width]), (Role::Output, [1, 1, m, width])]);
        op.memory_configs = BTreeMap::from([(Role::Input, from), (Role::Output, to)]);
        op.dtypes = BTreeMap::from([(Role::Input, dtype), (Role::Output, dtype)]);
        let shard = l1_shard_bytes(&from, dtype);
        let cores = from.shard_spec.map_or(1, |s| s.grid.num_cores);
        let bytes = m.div_ceil(32) as u64 * 32 * width as u64 * dtype.tile_bytes() / 1024;
        let dram = if to.buffer_type == BufferType::Dram { bytes } else { 0 };
        let work = OpWork {
            cores,
            dram_bytes: dram,
            noc_bytes_per_core: shard.max(bytes.div_ceil(cores as u64)),
            ..OpWork::default()
        };
        self.finish(op, work, shard + 2 * BF16_TILE)
    }

    /// `ttnn::rms_norm` over `m` rows of `hidden`.
    ///
    /// Sharded: `LayerNormShardedMultiCoreProgramConfig` with the rules of
    /// `layernorm_device_operation.cpp` @ 13adda80: input and output share layout and buffer, not
    /// HEIGHT_SHARDED, rectangular grid, `block_w == ceil(Kt / num_cores)`, `block_h == Mt`
    /// (M == block_h for the 1D width-sharded case), `block_w % subblock_w == 0`. L1: the input and
    /// output shards plus the factory's CBs ([`cb::rms_norm_sharded`]: gamma, x, x², statistics and
    /// the partial statistics gathered from the other cores).
    ///
    /// Interleaved: `LayerNormDefaultProgramConfig`; L1: [`cb::rms_norm_default`] (with the ROW_MAJOR
    /// gamma every row-sized CB holds the whole row) when that fits, else TT-NN's large-tensor
    /// kernel, which needs gamma as a TILE `[1, 1, 32, hidden]` tensor ([`cb::rms_norm_large`]).
    pub fn rms_norm(&self, req: NormRequest) -> Result<PlannedOp, LlamaPlanError> {
        let NormRequest { name, layer, weight, epsilon, m, hidden, res } = req;
        let kt = hidden.div_ceil(32);
        let ckc = self.sfpu_config(true);
        let mc = self.hidden_mc(res, m, hidden);
        let call = |pc| Call::RmsNorm { epsilon, program_config: pc, memory_config: mc, compute_kernel_config: ckc };
        let mut op =
            self.base(name, layer, call(LayerNormProgramConfig::Default(LayerNormDefaultProgramConfig::default())));
        op.weights = vec![weight];
        op.shapes.tensors = BTreeMap::from([
            (Role::Input, [1, 1, m, hidden]),
            (Role::Weight, [1, 1, kt, 32]),
            (Role::Output, [1, 1, m, hidden]),
        ]);
        // tt-transformers stores gamma as [1, 1, dim/32, 32] ROW_MAJOR bf16 in DRAM.
        op.memory_configs =
            BTreeMap::from([(Role::Input, mc), (Role::Weight, MemoryConfig::DRAM_INTERLEAVED), (Role::Output, mc)]);
        op.dtypes = BTreeMap::from([
            (Role::Input, DataType::Bfloat16),
            (Role::Weight, DataType::Bfloat16),
            (Role::Output, DataType::Bfloat16),
        ]);
        op.compute_kernel_config = Some(ckc);
        op.weight_bytes = hidden as u64 * 2;
        let (pc, work, l1) = match res {
            Residency::Sharded { cores } => self.rms_norm_sharded(&op.name, [m, hidden], cores, mc, &ckc)?,
            Residency::Interleaved(_) => {
                let (pc, work, l1, tile_gamma) = self.rms_norm_interleaved(&op.name, [m, hidden], mc, &ckc)?;
                if tile_gamma {
                    // tt-transformers' TILE gamma: one tile row, `hidden / 32` bf16 tiles.
                    op.shapes.tensors.insert(Role::Weight, [1, 1, 32, hidden]);
                    op.weight_bytes = kt as u64 * BF16_TILE;
                }
                (pc, work, l1)
            }
        };
        op.program_config = Some(OpProgramConfig::LayerNorm(pc));
        op.call = call(pc);
        self.finish(op, work, l1)
    }

    /// The sharded `rms_norm` of `[m, hidden]` over `cores` cores: its program config, work and L1.
    fn rms_norm_sharded(
        &self,
        name: &str,
        [m, hidden]: [u32; 2],
        cores: u32,
        mc: MemoryConfig,
        ckc: &ComputeKernelConfig,
    ) -> Result<(LayerNormProgramConfig, OpWork, u64), LlamaPlanError> {
        let (mt, kt) = (m.div_ceil(32), hidden.div_ceil(32));
        let grid = self.device.compute_grid;
        if !rectangular(cores, grid) {
            return Err(violation(
                name,
                Rule::OpConstraint,
                format!(
                    "sharded layernorm needs a rectangular core grid; {cores} cores row-wise on {}x{} is not",
                    grid.x, grid.y
                ),
                "shard the hidden state over a rectangle of cores",
            ));
        }
        let block_w = kt.div_ceil(cores);
        let subblock_w = (1..=ckc.dest_reg_tiles().min(block_w)).rev().find(|w| block_w % w == 0).unwrap_or(1);
        let pc = LayerNormShardedMultiCoreProgramConfig {
            compute_with_storage_grid_size: grid,
            subblock_w,
            block_h: mt,
            block_w,
            inplace: false,
            legacy_reduction: false,
            legacy_rsqrt: false,
            use_welford: false,
        };
        if block_w * cores != kt || pc.block_h != mt || block_w % subblock_w != 0 {
            return Err(violation(
                name,
                Rule::OpConstraint,
                format!(
                    "block_w ({block_w}) must equal K (in tiles) / num_cores ({kt}/{cores}) and block_h must equal Mt ({mt})"
                ),
                "shard K evenly",
            ));
        }
        let shard = l1_shard_bytes(&mc, DataType::Bfloat16);
        let ext = mc.shard_spec.map_or(CoreCoord::new(cores, 1), |s| s.grid.extent());
        let l1 = 2 * shard + cb::rms_norm_sharded(hidden, m, cores, ext.x, ext.y, block_w, ckc.fp32_dest_acc_en);
        // Each core reads its gamma slice from DRAM and sends one partial-statistics tile per tile
        // row to the reducing core, which multicasts the result back: the reducer's port carries
        // (cores + 1) tiles per tile row.
        let work = OpWork {
            cores,
            dram_bytes: hidden as u64 * 2,
            noc_bytes_per_core: block_w as u64 * BF16_TILE + mt as u64 * BF16_TILE * (cores as u64 + 1),
            ..OpWork::default()
        };
        Ok((LayerNormProgramConfig::Sharded(pc), work, l1))
    }

    /// The interleaved `rms_norm` of `[m, hidden]` held in `mc`: its program config, work, L1 and
    /// whether gamma is a TILE tensor (TT-NN's large-tensor kernel).
    ///
    /// With tt-transformers' ROW_MAJOR gamma TT-NN always keeps the whole row in its CBs
    /// ([`cb::rms_norm_default`]; `layernorm_op_multi_core.cpp:217, :289` @ 13adda80 skips the
    /// large-tensor kernel for a ROW_MAJOR gamma). When that does not fit, the plan stores gamma as
    /// a TILE `[1, 1, 32, hidden]` tensor: TT-NN's fit check then fails
    /// ([`cb::rms_norm_whole_row_fits_ttnn`]) and it walks the row in capped blocks
    /// ([`cb::rms_norm_large`]).
    fn rms_norm_interleaved(
        &self,
        name: &str,
        [m, hidden]: [u32; 2],
        mc: MemoryConfig,
        ckc: &ComputeKernelConfig,
    ) -> Result<(LayerNormProgramConfig, OpWork, u64, bool), LlamaPlanError> {
        let cores = m.div_ceil(32).min(self.device.num_cores()).max(1);
        let fp32 = ckc.fp32_dest_acc_en;
        let budget = self.device.l1_budget_bytes();
        let whole_row = cb::rms_norm_default(hidden, fp32);
        let large = whole_row > budget;
        let l1 = if large { cb::rms_norm_large(fp32) } else { whole_row };
        if large && (cb::rms_norm_whole_row_fits_ttnn(hidden, fp32, self.device.l1_bytes_per_core) || l1 > budget) {
            return Err(violation(
                name,
                Rule::L1Fits,
                format!(
                    "rms_norm (LayerNormDefault) keeps the whole {hidden}-wide row in its circular buffers: {whole_row} B per core, over the {budget} B {} allows, and TT-NN's large-tensor kernel ({l1} B) is not taken or does not fit either",
                    self.chip_name()
                ),
                "shard the hidden state",
            ));
        }
        let bytes = m as u64 * hidden as u64 * 2;
        let in_dram = mc.buffer_type == BufferType::Dram;
        let work = if large {
            // Three passes over the row in blocks (sum of squares, then x and gamma again to
            // scale): the input is read twice and gamma's tiles once per tile row.
            let gamma = m.div_ceil(32) as u64 * hidden.div_ceil(32) as u64 * BF16_TILE;
            OpWork {
                cores,
                dram_bytes: if in_dram { 3 * bytes } else { 0 } + gamma,
                noc_bytes_per_core: 3 * bytes.div_ceil(cores as u64) + gamma.div_ceil(cores as u64),
                ..OpWork::default()
            }
        } else {
            // Two passes over the row (sum of squares, then scale).
            OpWork {
                cores,
                dram_bytes: if in_dram { 2 * bytes } else { 0 } + hidden as u64 * 2,
                noc_bytes_per_core: 3 * bytes.div_ceil(cores as u64),
                ..OpWork::default()
            }
        };
        Ok((LayerNormProgramConfig::Default(LayerNormDefaultProgramConfig::default()), work, l1, large))
    }

    /// Head split. Decode: `nlp_create_qkv_heads_decode`, outputs HEIGHT_SHARDED one user per core
    /// (heads padded to whole tile rows). Prefill: `nlp_create_qkv_heads` into DRAM.
    pub fn create_heads(&self, layer: u32, a: &Attention, input: MemoryConfig) -> Result<PlannedOp, LlamaPlanError> {
        let Attention { batch, seq, q_heads: qh, kv_heads: kvh, head_dim: hd, .. } = *a;
        let name = format!("layers.{layer}.attention.create_heads");
        let width = (qh + 2 * kvh) * hd;
        let grid = self.device.compute_grid;
        let mut op = match self.mode {
            Mode::Decode => {
                self.base(name, Some(layer), Call::NlpCreateQkvHeadsDecode { num_q_heads: qh, num_kv_heads: kvh })
            }
            Mode::Prefill => self.base(
                name,
                Some(layer),
                Call::NlpCreateQkvHeads {
                    num_q_heads: qh,
                    num_kv_heads: kvh,
                    memory_config: MemoryConfig::DRAM_INTERLEAVED,
                },
            ),
        };
        let m = batch * seq;
        op.shapes.tensors = BTreeMap::from([
            (Role::Input, [1, 1, m, width]),
            (Role::Q, if self.mode == Mode::Decode { [1, batch, qh, hd] } else { [batch, qh, seq, hd] }),
            (Role::K, if self.mode == Mode::Decode { [1, batch, kvh, hd] } else { [batch, kvh, seq, hd] }),
            (Role::V, if self.mode == Mode::Decode { [1, batch, kvh, hd] } else { [batch, kvh, seq, hd] }),
        ]);
        op.dtypes = BTreeMap::from([
            (Role::Input, DataType::Bfloat16),
            (Role::Q, DataType::Bfloat16),
            (Role::K, DataType::Bfloat16),
            (Role::V, DataType::Bfloat16),
        ]);
        let bytes = m as u64 * width as u64 * 2;
        let (work, l1) = match self.mode {
            Mode::Decode => {
                if batch > grid.area() {
                    return Err(violation(
                        &op.name,
                        Rule::OpConstraint,
                        format!("decode head ops put one user per core: batch {batch} exceeds {} cores", grid.area()),
                        "lower the batch per chip",
                    ));
                }
                let q = height_sharded(batch, grid, qh, hd);
                let kv = height_sharded(batch, grid, kvh, hd);
                op.memory_configs = BTreeMap::from([(Role::Input, input), (Role::Q, q), (Role::K, kv), (Role::V, kv)]);
                let per_core = l1_shard_bytes(&q, DataType::Bfloat16) + 2 * l1_shard_bytes(&kv, DataType::Bfloat16);
                let l1 = per_core + l1_shard_bytes(&input, DataType::Bfloat16);
                (OpWork { cores: batch, noc_bytes_per_core: per_core, ..OpWork::default() }, l1)
            }
            Mode::Prefill => {
                op.memory_configs = BTreeMap::from([
                    (Role::Input, input),
                    (Role::Q, MemoryConfig::DRAM_INTERLEAVED),
                    (Role::K, MemoryConfig::DRAM_INTERLEAVED),
                    (Role::V, MemoryConfig::DRAM_INTERLEAVED),
                ]);
                let cores = (m.div_ceil(32)).min(grid.area()).max(1);
                (
                    OpWork {
                        cores,
                        dram_bytes: 2 * bytes,
                        noc_bytes_per_core: 2 * bytes.div_ceil(cores as u64),
                        ..OpWork::default()
                    },
                    4 * BF16_TILE * (hd as u64 / 32).max(1),
                )
            }
        };
        self.finish(op, work, l1)
    }

    /// Rotary embedding of q or k (`rotary_embedding_llama`), one call per tensor. Rules
    /// (ttnn-api.md §5, `rotary_embedding_llama_device_operation.cpp`): bf16 inputs, head_dim <= 256
    /// and a multiple of 32, head_dim > 128 needs fp32_dest_acc_en = false; decode: HEIGHT_SHARDED
    /// inputs, batch <= cores, cos/sin shard height 32 (n_heads <= 32). The fused-QK variant would
    /// save a launch, but TT-NN requires q and k on disjoint cores with cos/sin repeated for both
    /// (`rotary_embedding_llama_fused_qk_device_operation.cpp`), which the one-user-per-core head
    /// split does not give. `heads` is the number of q or k heads.
    pub fn rotary(
        &self,
        layer: u32,
        which: &'static str,
        heads: u32,
        a: &Attention,
    ) -> Result<PlannedOp, LlamaPlanError> {
        let Attention { batch, seq, head_dim: hd, .. } = *a;
        let grid = self.device.compute_grid;
        let name = format!("layers.{layer}.attention.rotary_{which}");
        if hd > 256 || !hd.is_multiple_of(32) {
            return Err(violation(
                &name,
                Rule::OpConstraint,
                format!("rotary_embedding_llama needs head_dim <= 256 and a multiple of 32, got {hd}"),
                "use a supported head_dim",
            ));
        }
        let ckc = ComputeKernelConfig {
            fp32_dest_acc_en: hd <= 128 && self.policy == Policy::Accuracy,
            ..self.sfpu_config(true)
        };
        let is_decode_mode = self.mode == Mode::Decode;
        let (shape, x_mc, cs_shape, cs_mc, tm_shape, tm_mc) = match self.mode {
            Mode::Decode => {
                if batch > grid.area() || heads > 32 {
                    return Err(violation(
                        &name,
                        Rule::OpConstraint,
                        format!(
                            "decode rotary_embedding_llama needs batch <= {} cores and at most 32 heads per user (cos/sin shard height 32), got batch {batch}, {heads} heads",
                            grid.area()
                        ),
                        "split the heads over more chips or lower the batch",
                    ));
                }
                let x = height_sharded(batch, grid, heads, hd);
                (
                    [1, batch, heads, hd],
                    x,
                    [1, batch, 32, hd],
                    height_sharded(batch, grid, 32, hd),
                    [1, 1, batch * 32, 32],
                    height_sharded(batch, grid, 32, 32),
                )
            }
            Mode::Prefill => {
                let d = MemoryConfig::DRAM_INTERLEAVED;
                ([batch, heads, seq, hd], d, [1, 1, seq, hd], d, [1, 1, 32, 32], d)
            }
        };
        let call = Call::RotaryEmbeddingLlama { is_decode_mode, memory_config: x_mc, compute_kernel_config: ckc };
        let mut op = self.base(name, Some(layer), call);
        op.compute_kernel_config = Some(ckc);
        op.shapes.tensors = BTreeMap::from([
            (Role::Input, shape),
            (Role::Cos, cs_shape),
            (Role::Sin, cs_shape),
            (Role::TransMat, tm_shape),
            (Role::Output, shape),
        ]);
        op.memory_configs = BTreeMap::from([
            (Role::Input, x_mc),
            (Role::Cos, cs_mc),
            (Role::Sin, cs_mc),
            (Role::TransMat, tm_mc),
            (Role::Output, x_mc),
        ]);
        op.dtypes = [Role::Input, Role::Cos, Role::Sin, Role::TransMat, Role::Output]
            .into_iter()
            .map(|r| (r, DataType::Bfloat16))
            .collect();
        let (work, l1) = match self.mode {
            Mode::Decode => {
                let b = |mc: &MemoryConfig| l1_shard_bytes(mc, DataType::Bfloat16);
                // Input, cos, sin, trans_mat and output CBs live in their shards; three
                // intermediates of Wt tiles each (`rotary_embedding_llama_sharded_program_factory.cpp`
                // @ 13adda80, CBs c_24..c_26).
                let l1 = 2 * b(&x_mc) + 2 * b(&cs_mc) + b(&tm_mc) + 3 * (hd as u64 / 32) * BF16_TILE;
                (OpWork { cores: batch, noc_bytes_per_core: b(&x_mc), ..OpWork::default() }, l1)
            }
            Mode::Prefill => {
                let x = batch as u64 * heads as u64 * seq as u64 * hd as u64 * 2;
                let cs = 2 * seq as u64 * hd as u64 * 2;
                let cores = (batch * heads * seq.div_ceil(32)).min(grid.area()).max(1);
                (
                    OpWork {
                        cores,
                        dram_bytes: 2 * x + cs,
                        noc_bytes_per_core: (2 * x + cs).div_ceil(cores as u64),
                        ..OpWork::default()
                    },
                    cb::rotary_prefill(hd, batch, heads, seq, grid.area()),
                )
            }
        };
        self.finish(op, work, l1)
    }

    /// KV-cache write of K or V (`which` is `k` or `v`). Decode: `paged_update_cache` (one row per
    /// user into a tile of the cache: read-modify-write of that tile row), one call per cache (the
    /// fused K+V variant needs the two inputs on disjoint cores,
    /// `paged_fused_update_cache_device_operation.cpp`). Prefill: `fill_cache` of one user (`user`; one op per user when the batch is > 1).
    pub fn kv_update(
        &self,
        layer: u32,
        which: &'static str,
        a: &Attention,
        input: MemoryConfig,
        user: Option<u32>,
    ) -> Result<PlannedOp, LlamaPlanError> {
        let Attention { batch, seq, cache_len, kv_heads: kvh, head_dim: hd, kv_dtype, .. } = *a;
        let d = MemoryConfig::DRAM_INTERLEAVED;
        let cache_shape = [batch, kvh, cache_len.div_ceil(32) * 32, hd];
        let (mut op, work, l1) = match self.mode {
            Mode::Decode => {
                let name = format!("layers.{layer}.attention.update_{which}_cache");
                let mut op = self.base(name, Some(layer), Call::PagedUpdateCache);
                op.shapes.tensors = BTreeMap::from([(Role::Cache, cache_shape), (Role::Input, [1, batch, kvh, hd])]);
                op.memory_configs = BTreeMap::from([(Role::Cache, d), (Role::Input, input)]);
                op.dtypes = BTreeMap::from([(Role::Cache, kv_dtype), (Role::Input, DataType::Bfloat16)]);
                let tiles = batch as u64 * kvh as u64 * (hd as u64 / 32);
                // Read and write back one tile per (user, head, head_dim tile).
                let bytes = 2 * tiles * kv_dtype.tile_bytes();
                let shard = l1_shard_bytes(&input, DataType::Bfloat16);
                let l1 = shard + cb::paged_update_cache(batch, hd, kv_dtype.tile_bytes());
                (
                    op,
                    OpWork {
                        cores: batch,
                        dram_bytes: bytes,
                        noc_bytes_per_core: bytes.div_ceil(batch as u64),
                        ..OpWork::default()
                    },
                    l1,
                )
            }
            Mode::Prefill => {
                // One user per call: TT-NN requires `input.padded_shape()[0] == 1`
                // (`ttnn/cpp/ttnn/operations/kv_cache/device/update_cache_device_operation.cpp:50-53`
                // @ 13adda80, "Input tensor batch size must be 1"), so a batch-`b` prefill plans
                // `b` fills, one per user (`user`), each reading that user's `[1, kv_heads, seq,
                // head_dim]`; with batch 1 the op keeps its plain name.
                let name = match user {
                    Some(u) if batch > 1 => format!("layers.{layer}.attention.fill_{which}_cache.user{u}"),
                    _ => format!("layers.{layer}.attention.fill_{which}_cache"),
                };
                let mut op = self.base(name, Some(layer), Call::FillCache);
                op.shapes.tensors = BTreeMap::from([(Role::Cache, cache_shape), (Role::Input, [1, kvh, seq, hd])]);
                op.memory_configs = BTreeMap::from([(Role::Cache, d), (Role::Input, d)]);
                // `fill_cache` copies tiles without converting them, so its input is already in the
                // cache's dtype (the planner puts a `typecast` before it when they differ).
                op.dtypes = BTreeMap::from([(Role::Cache, kv_dtype), (Role::Input, kv_dtype)]);
                let tiles = kvh as u64 * seq.div_ceil(32) as u64 * (hd as u64 / 32);
                let bytes = tiles * 2 * kv_dtype.tile_bytes();
                let cores = (tiles.min(self.device.num_cores() as u64)).max(1) as u32;
                (
                    op,
                    OpWork {
                        cores,
                        dram_bytes: bytes,
                        noc_bytes_per_core: bytes.div_ceil(cores as u64),
                        ..OpWork::default()
                    },
                    4 * BF16_TILE,
                )
            }
        };
        // The cache ops take no compute-kernel config in our calls (TT-NN's default).
        op.compute_kernel_config = None;
        self.finish(op, work, l1)
    }

    /// SDPA. Decode: `scaled_dot_product_attention_decode` with `SDPAProgramConfig{grid, q_chunk 0,
    /// k_chunk 0, exp_approx_mode false}` as tt-transformers configures it (ttnn-api.md §6); the
    /// cache is read once. Prefill: causal `scaled_dot_product_attention`, searching
    /// `q_chunk_size`/`k_chunk_size` over multiples of 32 (`sdpa_device_operation.cpp`: "q_chunk_size
    /// must be divisible by TILE_SIZE") that divide the padded sequence; K and V are re-read once per
    /// q chunk, so larger chunks move less DRAM but need more L1.
    ///
    /// Decode attends to the whole cache, prefill to the prompt; the scale is `1 / sqrt(head_dim)`.
    pub fn sdpa(&self, layer: u32, a: &Attention, q_mc: MemoryConfig) -> Result<PlannedOp, LlamaPlanError> {
        let attended = match self.mode {
            Mode::Decode => a.cache_len,
            Mode::Prefill => a.seq,
        };
        let sdpa = Sdpa {
            name: format!("layers.{layer}.attention.sdpa"),
            layer,
            shape: cb::SdpaShape {
                batch: a.batch,
                q_heads: a.q_heads,
                kv_heads: a.kv_heads,
                seq: attended.div_ceil(32) * 32,
                head_dim: a.head_dim,
            },
            kv_dtype: a.kv_dtype,
            compute_kernel_config: ComputeKernelConfig {
                math_fidelity: self.sdpa_fidelity(),
                math_approx_mode: false,
                fp32_dest_acc_en: false,
                packer_l1_acc: false,
                dst_full_sync_en: false,
            },
            scale: super::sdpa_scale(a.head_dim),
        };
        match self.mode {
            Mode::Decode => self.sdpa_decode(&sdpa, q_mc),
            Mode::Prefill => self.sdpa_prefill(&sdpa),
        }
    }

    /// SDPA's math fidelity: HiFi4 under accuracy (tt-transformers' accuracy mode sets SDPA_*
    /// HIFI4), HiFi2 under performance.
    fn sdpa_fidelity(&self) -> MathFidelity {
        if self.policy == Policy::Accuracy { MathFidelity::HiFi4 } else { MathFidelity::HiFi2 }
    }

    /// `scaled_dot_product_attention_decode` of q (held in `q_mc`) over the KV cache.
    fn sdpa_decode(&self, sdpa: &Sdpa, q_mc: MemoryConfig) -> Result<PlannedOp, LlamaPlanError> {
        let grid = self.device.compute_grid;
        let cb::SdpaShape { batch, q_heads: qh, kv_heads: kvh, seq: s_pad, head_dim: hd } = sdpa.shape;
        let (kv_dtype, ckc) = (sdpa.kv_dtype, sdpa.compute_kernel_config);
        let d = MemoryConfig::DRAM_INTERLEAVED;
        let pc = SDPAProgramConfig {
            compute_with_storage_grid_size: grid,
            q_chunk_size: 0,
            k_chunk_size: 0,
            exp_approx_mode: Some(false),
            max_cores_per_head_batch: 16,
        };
        // DRAM output, resharded for the head merge as tt-transformers does
        // (`attention.py::forward_decode`): TT-NN refuses a sharded output for GQA.
        let out = d;
        let call = Call::ScaledDotProductAttentionDecode {
            scale: sdpa.scale,
            program_config: pc,
            memory_config: out,
            compute_kernel_config: ckc,
        };
        let mut op = self.base(sdpa.name.clone(), Some(sdpa.layer), call);
        op.program_config = Some(OpProgramConfig::Sdpa(TaggedSdpa::Config(pc)));
        op.compute_kernel_config = Some(ckc);
        op.shapes.tensors = BTreeMap::from([
            (Role::Q, [1, batch, qh, hd]),
            (Role::KCache, [batch, kvh, s_pad, hd]),
            (Role::VCache, [batch, kvh, s_pad, hd]),
            (Role::Output, [1, batch, qh, hd]),
        ]);
        op.memory_configs =
            BTreeMap::from([(Role::Q, q_mc), (Role::KCache, d), (Role::VCache, d), (Role::Output, out)]);
        op.dtypes = BTreeMap::from([
            (Role::Q, DataType::Bfloat16),
            (Role::KCache, kv_dtype),
            (Role::VCache, kv_dtype),
            (Role::Output, DataType::Bfloat16),
        ]);
        // Each (user, kv head) pair's q rows are padded to one 32-row tile: QKᵀ and PV.
        let flops = 2.0 * 2.0 * batch as f64 * kvh as f64 * 32.0 * s_pad as f64 * hd as f64;
        let cores = (batch * kvh * 16).min(grid.area()).max(1);
        let l1 = l1_shard_bytes(&q_mc, DataType::Bfloat16)
            + cb::sdpa_decode(sdpa.shape, &pc, ckc.fp32_dest_acc_en, kv_dtype.tile_bytes());
        let kv_bytes_once =
            2 * batch as u64 * kvh as u64 * (s_pad as u64 / 32) * (hd as u64 / 32) * kv_dtype.tile_bytes();
        let out_bytes = batch as u64 * 32 * qh as u64 * hd as u64 * 2;
        let work = OpWork {
            cores,
            dram_bytes: kv_bytes_once + out_bytes,
            noc_bytes_per_core: kv_bytes_once.div_ceil(cores as u64),
            fpu_flops: flops,
            fidelity: Some(ckc.math_fidelity),
            eth: None,
        };
        self.finish(op, work, l1)
    }

    /// Causal `scaled_dot_product_attention`: the fastest chunking that fits.
    fn sdpa_prefill(&self, sdpa: &Sdpa) -> Result<PlannedOp, LlamaPlanError> {
        let s_pad = sdpa.shape.seq;
        let mut best: Option<PlannedOp> = None;
        let mut last = None;
        for q_chunk in [512u32, 256, 128, 64, 32] {
            for k_chunk in [512u32, 256, 128, 64, 32] {
                if !s_pad.is_multiple_of(q_chunk)
                    || !s_pad.is_multiple_of(k_chunk)
                    || q_chunk % 32 != 0
                    || k_chunk % 32 != 0
                {
                    continue;
                }
                match self.sdpa_prefill_chunked(sdpa, q_chunk, k_chunk) {
                    Ok(op) => {
                        if best.as_ref().is_none_or(|b| op.estimate_us < b.estimate_us) {
                            best = Some(op);
                        }
                    }
                    Err(e) => last = Some(e),
                }
            }
        }
        best.ok_or_else(|| {
            last.unwrap_or_else(|| {
                violation(
                    &sdpa.name,
                    Rule::OpConstraint,
                    format!("no chunk size divides the padded sequence {s_pad}"),
                    "pad the sequence to a multiple of 32",
                )
            })
        })
    }

    /// One chunking of the causal prefill SDPA, checked and estimated.
    fn sdpa_prefill_chunked(&self, sdpa: &Sdpa, q_chunk: u32, k_chunk: u32) -> Result<PlannedOp, LlamaPlanError> {
        let grid = self.device.compute_grid;
        let cb::SdpaShape { batch, q_heads: qh, kv_heads: kvh, seq: s_pad, head_dim: hd } = sdpa.shape;
        let ckc = sdpa.compute_kernel_config;
        let d = MemoryConfig::DRAM_INTERLEAVED;
        let pc = SDPAProgramConfig {
            compute_with_storage_grid_size: grid,
            q_chunk_size: q_chunk,
            k_chunk_size: k_chunk,
            exp_approx_mode: Some(false),
            max_cores_per_head_batch: 16,
        };
        let call = Call::ScaledDotProductAttention {
            is_causal: true,
            scale: sdpa.scale,
            program_config: pc,
            memory_config: d,
            compute_kernel_config: ckc,
        };
        let mut op = self.base(sdpa.name.clone(), Some(sdpa.layer), call);
        op.program_config = Some(OpProgramConfig::Sdpa(TaggedSdpa::Config(pc)));
        op.compute_kernel_config = Some(ckc);
        op.shapes.tensors = BTreeMap::from([
            (Role::Q, [batch, qh, s_pad, hd]),
            (Role::K, [batch, kvh, s_pad, hd]),
            (Role::V, [batch, kvh, s_pad, hd]),
            (Role::Output, [batch, qh, s_pad, hd]),
        ]);
        op.memory_configs = BTreeMap::from([(Role::Q, d), (Role::K, d), (Role::V, d), (Role::Output, d)]);
        op.dtypes = BTreeMap::from([
            (Role::Q, DataType::Bfloat16),
            (Role::K, DataType::Bfloat16),
            (Role::V, DataType::Bfloat16),
            (Role::Output, DataType::Bfloat16),
        ]);
        // CBs of the chunked causal SDPA ([`cb::sdpa_prefill`]).
        let l1 = cb::sdpa_prefill(sdpa.shape, &pc, DataType::Bfloat16.tile_bytes());
        let q_chunks = (batch as u64) * (qh as u64) * (s_pad / q_chunk) as u64;
        let q_bytes = batch as u64 * qh as u64 * s_pad as u64 * hd as u64 * 2;
        // Causal: each q chunk reads on average half of K and V.
        let kv_bf16 = 2 * batch as u64 * kvh as u64 * s_pad as u64 * hd as u64 * 2;
        let kv_reads = (kv_bf16 as f64 * (qh as f64 / kvh as f64) * (s_pad / q_chunk) as f64 / 2.0) as u64;
        let flops = 2.0 * 2.0 * batch as f64 * qh as f64 * s_pad as f64 * s_pad as f64 * hd as f64 / 2.0;
        let cores = (q_chunks.min(grid.area() as u64)).max(1) as u32;
        let work = OpWork {
            cores,
            dram_bytes: 2 * q_bytes + kv_reads,
            noc_bytes_per_core: (2 * q_bytes + kv_reads).div_ceil(cores as u64),
            fpu_flops: flops,
            fidelity: Some(ckc.math_fidelity),
            eth: None,
        };
        self.finish(op, work, l1)
    }

    /// Head merge. Decode: `nlp_concat_heads_decode`, output WIDTH_SHARDED on `qh` cores with shard
    /// `{32, head_dim}` (ttnn-api.md §8). Prefill: `nlp_concat_heads` into DRAM.
    pub fn concat_heads(&self, layer: u32, a: &Attention) -> Result<PlannedOp, LlamaPlanError> {
        let Attention { batch, seq, q_heads: qh, head_dim: hd, .. } = *a;
        let grid = self.device.compute_grid;
        let name = format!("layers.{layer}.attention.concat_heads");
        let m = batch * seq;
        let mut op = match self.mode {
            Mode::Decode => self.base(name, Some(layer), Call::NlpConcatHeadsDecode { num_heads: qh }),
            Mode::Prefill => {
                self.base(name, Some(layer), Call::NlpConcatHeads { memory_config: MemoryConfig::DRAM_INTERLEAVED })
            }
        };
        op.dtypes = BTreeMap::from([(Role::Input, DataType::Bfloat16), (Role::Output, DataType::Bfloat16)]);
        let bytes = m as u64 * qh as u64 * hd as u64 * 2;
        let (work, l1) = match self.mode {
            Mode::Decode => {
                if qh > grid.area() {
                    return Err(violation(
                        &op.name,
                        Rule::OpConstraint,
                        format!(
                            "nlp_concat_heads_decode puts one head per core: {qh} heads exceed {} cores",
                            grid.area()
                        ),
                        "split the heads over more chips",
                    ));
                }
                // Reads the heads HEIGHT_SHARDED one user per core (`nlp_concat_heads_decode`), on a
                // rectangle at the origin: with more than one CoreRange or a grid not starting at
                // (0,0) the op takes its sub-core-grid path and dereferences the absent
                // `sub_core_grids` (`nlp_concat_heads_decode_device_operation.cpp:93-99,133-139`
                // @ 13adda80; TT-NN 0.81.1 throws `bad optional access`, FINDINGS.md fix 8).
                let users = rect_grid(batch, grid);
                if !users.is_rectangular() {
                    return Err(violation(
                        &op.name,
                        Rule::OpConstraint,
                        format!(
                            "nlp_concat_heads_decode needs its input on a rectangle of cores at (0,0); {batch} users fit none on {}x{}",
                            grid.x, grid.y
                        ),
                        "use a batch that factors into the grid",
                    ));
                }
                let input = MemoryConfig::sharded(
                    TensorMemoryLayout::HeightSharded,
                    BufferType::L1,
                    ShardSpec {
                        grid: users,
                        shape: [qh.div_ceil(32) * 32, hd],
                        orientation: ShardOrientation::RowMajor,
                    },
                );
                let out = width_sharded(qh, grid, m, hd);
                op.shapes.tensors =
                    BTreeMap::from([(Role::Input, [1, batch, qh, hd]), (Role::Output, [1, 1, m, qh * hd])]);
                op.memory_configs = BTreeMap::from([(Role::Input, input), (Role::Output, out)]);
                let l1 = l1_shard_bytes(&input, DataType::Bfloat16) + l1_shard_bytes(&out, DataType::Bfloat16);
                (
                    OpWork {
                        cores: qh,
                        noc_bytes_per_core: l1_shard_bytes(&out, DataType::Bfloat16),
                        ..OpWork::default()
                    },
                    l1,
                )
            }
            Mode::Prefill => {
                op.shapes.tensors =
                    BTreeMap::from([(Role::Input, [batch, qh, seq, hd]), (Role::Output, [1, 1, m, qh * hd])]);
                op.memory_configs = BTreeMap::from([
                    (Role::Input, MemoryConfig::DRAM_INTERLEAVED),
                    (Role::Output, MemoryConfig::DRAM_INTERLEAVED),
                ]);
                let cores = m.div_ceil(32).min(grid.area()).max(1);
                (
                    OpWork {
                        cores,
                        dram_bytes: 2 * bytes,
                        noc_bytes_per_core: 2 * bytes.div_ceil(cores as u64),
                        ..OpWork::default()
                    },
                    cb::concat_heads_prefill(qh, hd),
                )
            }
        };
        self.finish(op, work, l1)
    }

    /// Binary eltwise op (`ttnn::add` for residuals, `ttnn::multiply` with a fused SiLU on the
    /// left operand for SwiGLU, ttnn-api.md §3) of two operands shaped and held as `input`; the
    /// output is held alike, in `out_dtype`.
    pub fn binary(
        &self,
        name: String,
        layer: Option<u32>,
        kind: OpKind,
        input: Activation,
        out_dtype: DataType,
    ) -> Result<PlannedOp, LlamaPlanError> {
        let Activation { m, width, memory_config: mc, dtype: in_dtype } = input;
        let call = if kind == OpKind::Add {
            Call::Add { memory_config: mc, dtype: out_dtype }
        } else {
            Call::Multiply { memory_config: mc, dtype: out_dtype, lhs_activation: Some(crate::ttnn::UnaryOpType::Silu) }
        };
        let mut op = self.base(name, layer, call);
        op.shapes.tensors = BTreeMap::from([
            (Role::A, [1, 1, m, width]),
            (Role::B, [1, 1, m, width]),
            (Role::Output, [1, 1, m, width]),
        ]);
        op.memory_configs = BTreeMap::from([(Role::A, mc), (Role::B, mc), (Role::Output, mc)]);
        op.dtypes = BTreeMap::from([(Role::A, in_dtype), (Role::B, in_dtype), (Role::Output, out_dtype)]);
        let bytes = m as u64 * width as u64 * 2;
        // A fused activation on `a` adds an intermediate CB c_3 of `num_tiles_per_cycle` tiles
        // (`ttnn/cpp/ttnn/operations/eltwise/binary_ng/device/binary_ng_program_factory.cpp:575-585`
        // @ 13adda80; measured 2 tiles sharded, 1 interleaved): counted as 2.
        let act = if kind == OpKind::Multiply { 2 * BF16_TILE } else { 0 };
        let (work, l1) = if mc.is_sharded() {
            let cores = mc.shard_spec.map_or(1, |s| s.grid.num_cores);
            let s = l1_shard_bytes(&mc, in_dtype);
            (OpWork { cores, ..OpWork::default() }, 2 * s + l1_shard_bytes(&mc, out_dtype) + act)
        } else {
            let cores = (m.div_ceil(32) * width.div_ceil(32)).min(self.device.num_cores()).max(1);
            let dram = if mc.buffer_type == BufferType::Dram { 3 * bytes } else { 0 };
            (
                OpWork {
                    cores,
                    dram_bytes: dram,
                    noc_bytes_per_core: (3 * bytes).div_ceil(cores as u64),
                    ..OpWork::default()
                },
                3 * 2 * BF16_TILE + act,
            )
        };
        self.finish(op, work, l1)
    }

    /// `ttnn::typecast` of a `[batch, heads, seq, hd]` DRAM-interleaved tensor from `from` to `to`
    /// (`ttnn/cpp/ttnn/operations/copy/typecast/typecast.hpp` @ 13adda80). Prefill casts K and V
    /// to the cache's dtype before `fill_cache`, as tt-transformers does (`attention.py`:
    /// `ttnn.typecast(k_heads_1KSD, dtype=keys_BKSD.dtype)` then `ttnn.fill_cache`). Costed as
    /// the tiles it reads and writes; L1: double-buffered input and output tiles.
    pub fn typecast(
        &self,
        name: String,
        layer: Option<u32>,
        shape: [u32; 4],
        mc: MemoryConfig,
        from: DataType,
        to: DataType,
    ) -> Result<PlannedOp, LlamaPlanError> {
        let mut op = self.base(name, layer, Call::Typecast { dtype: to, memory_config: mc });
        op.shapes.tensors = BTreeMap::from([(Role::Input, shape), (Role::Output, shape)]);
        op.memory_configs = BTreeMap::from([(Role::Input, mc), (Role::Output, mc)]);
        op.dtypes = BTreeMap::from([(Role::Input, from), (Role::Output, to)]);
        let tiles = shape[0] as u64 * shape[1] as u64 * shape[2].div_ceil(32) as u64 * shape[3].div_ceil(32) as u64;
        let bytes = tiles * (from.tile_bytes() + to.tile_bytes());
        let dram = if mc.buffer_type == BufferType::Dram { bytes } else { 0 };
        let cores = tiles.min(self.device.num_cores() as u64).max(1) as u32;
        let work =
            OpWork { cores, dram_bytes: dram, noc_bytes_per_core: bytes.div_ceil(cores as u64), ..OpWork::default() };
        self.finish(op, work, 2 * (from.tile_bytes() + to.tile_bytes()))
    }

    /// `ttnn::reshape` of the embedding's `[1, rows, width]` output to `[1, 1, rows, width]`: a
    /// view, costed as one op launch.
    pub fn reshape(&self, name: String, rows: u32, width: u32, mc: MemoryConfig) -> Result<PlannedOp, LlamaPlanError> {
        let shape = [1, 1, rows, width];
        let mut op = self.base(name, None, Call::Reshape { shape, memory_config: mc });
        op.shapes.tensors = BTreeMap::from([(Role::Input, [1, 1, rows, width]), (Role::Output, shape)]);
        op.memory_configs = BTreeMap::from([(Role::Input, mc), (Role::Output, mc)]);
        op.dtypes = BTreeMap::from([(Role::Input, DataType::Bfloat16), (Role::Output, DataType::Bfloat16)]);
        self.finish(op, OpWork { cores: 1, ..OpWork::default() }, 0)
    }

    /// `ttnn::to_memory_config` of `from` into `to`: every byte crosses the NoC once (twice
    /// through DRAM when either side is in DRAM); L1: the L1-sharded sides' shards plus a
    /// double-buffered tile.
    pub fn reshard(&self, name: String, from: &TensorArg, to: MemoryConfig) -> Result<PlannedOp, LlamaPlanError> {
        let mut op = self.base(name, None, Call::ToMemoryConfig { memory_config: to });
        op.shapes.tensors = BTreeMap::from([(Role::Input, from.shape), (Role::Output, from.shape)]);
        op.memory_configs = BTreeMap::from([(Role::Input, from.memory_config), (Role::Output, to)]);
        op.dtypes = BTreeMap::from([(Role::Input, from.dtype), (Role::Output, from.dtype)]);
        let s = from.shape;
        let rows = s[0] as u64 * s[1] as u64 * s[2].div_ceil(32) as u64 * 32;
        let bytes = rows * s[3].div_ceil(32) as u64 * 32 * from.dtype.tile_bytes() / 1024;
        let cores =
            [from.memory_config, to].iter().filter_map(|m| m.shard_spec.map(|s| s.grid.num_cores)).max().unwrap_or(1);
        let dram = [from.memory_config, to].iter().filter(|m| m.buffer_type == BufferType::Dram).count() as u64 * bytes;
        let l1 = l1_shard_bytes(&from.memory_config, from.dtype) + l1_shard_bytes(&to, from.dtype) + 2 * BF16_TILE;
        self.finish(
            op,
            OpWork { cores, dram_bytes: dram, noc_bytes_per_core: bytes.div_ceil(cores as u64), ..OpWork::default() },
            l1,
        )
    }

    /// `ttnn::slice` of the last token of each prompt (prefill, before the LM head).
    pub fn slice_last(&self, batch: u32, seq: u32, hidden: u32) -> Result<PlannedOp, LlamaPlanError> {
        let call = Call::SliceLastToken { memory_config: MemoryConfig::DRAM_INTERLEAVED };
        let mut op = self.base("slice_last_token".into(), None, call);
        op.shapes.tensors =
            BTreeMap::from([(Role::Input, [1, 1, batch * seq, hidden]), (Role::Output, [1, 1, batch, hidden])]);
        op.memory_configs = BTreeMap::from([
            (Role::Input, MemoryConfig::DRAM_INTERLEAVED),
            (Role::Output, MemoryConfig::DRAM_INTERLEAVED),
        ]);
        op.dtypes = BTreeMap::from([(Role::Input, DataType::Bfloat16), (Role::Output, DataType::Bfloat16)]);
        // Reads one tile row (32 positions) per user, writes one row each.
        let bytes = batch as u64 * 32 * hidden as u64 * 2 + batch as u64 * hidden as u64 * 2;
        let work = OpWork {
            cores: batch.min(self.device.num_cores()).max(1),
            dram_bytes: bytes,
            noc_bytes_per_core: bytes,
            ..OpWork::default()
        };
        self.finish(op, work, 4 * BF16_TILE)
    }

    /// A collective over the `D` chips of `system`'s mesh, each holding `input`: ring all-reduce
    /// sends `2(D-1)/D` of the tensor per chip, all-gather `(D-1)/D` of the gathered tensor, over
    /// the system's Ethernet links (hardware.md: 12.5 GB/s per direction per link).
    pub fn collective(
        &self,
        name: String,
        layer: Option<u32>,
        kind: OpKind,
        input: Activation,
        system: &SystemProfile,
    ) -> Result<PlannedOp, LlamaPlanError> {
        let Activation { m, width, memory_config: mc, dtype } = input;
        let (chips, link_bw, links) = (system.num_chips(), system.eth_link_bytes_per_s, system.eth_links);
        let (cluster_axis, topology) = collective_axis(system);
        let num_links = links.max(1);
        let call = if kind == OpKind::AllReduce {
            Call::AllReduce { cluster_axis, num_links, topology, memory_config: mc }
        } else {
            // The pieces are `[1, 1, m, width]`: concatenated along the last dimension.
            Call::AllGather { dim: 3, cluster_axis, num_links, topology, memory_config: mc }
        };
        let mut op = self.base(name, layer, call);
        let out_w = if kind == OpKind::AllGather { width * chips } else { width };
        op.shapes.tensors = BTreeMap::from([(Role::Input, [1, 1, m, width]), (Role::Output, [1, 1, m, out_w])]);
        op.memory_configs = BTreeMap::from([(Role::Input, mc), (Role::Output, mc)]);
        op.dtypes = BTreeMap::from([(Role::Input, dtype), (Role::Output, dtype)]);
        let bytes = m.div_ceil(32) as u64 * 32 * width as u64 * dtype.tile_bytes() / 1024;
        let d = chips as u64;
        let sent = match kind {
            OpKind::AllReduce => 2 * (d - 1) * bytes / d,
            _ => (d - 1) * bytes,
        };
        let work = OpWork { cores: 1, eth: Some((sent, link_bw * num_links as f64)), ..OpWork::default() };
        let l1 = 2 * l1_shard_bytes(&mc, dtype) + 8 * dtype.tile_bytes();
        op.eth_bytes = sent;
        self.finish(op, work, l1)
    }
}

/// The cluster axis and topology of a collective over every chip of `system`. On a 1-D mesh the
/// axis is the one the chips lie along (tt-transformers passes it on its 1xN meshes); a 2-D mesh
/// reduced as one group passes none, and TT-NN runs the collective along each axis in turn
/// (`all_gather.cpp:37-63`, `all_reduce.cpp:25-36` @ 13adda80). TT-NN turns a ring of two chips
/// into a line (`ccl_common.cpp:37-93`).
fn collective_axis(system: &SystemProfile) -> (Option<u32>, CclTopology) {
    let (rows, cols) = system.mesh;
    let axis = match (rows, cols) {
        (1, _) => Some(1),
        (_, 1) => Some(0),
        _ => None,
    };
    let ring = system.topology == Topology::Ring && system.num_chips() > 2;
    (axis, if ring { CclTopology::Ring } else { CclTopology::Linear })
}
