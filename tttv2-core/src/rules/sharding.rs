//! Rules for sharded operands of a matmul (matmul-rules.md §2, §3, §4, §6) and for shard specs
//! in general.

use crate::device::DeviceProfile;
use crate::op::LinearConfig;
use crate::ttnn::{
    BufferType, MatmulMultiCoreReuseMultiCast1DProgramConfig, MatmulMultiCoreReuseMultiCastDRAMShardedProgramConfig,
    MatmulMultiCoreReuseMultiCastProgramConfig, MatmulMultiCoreReuseProgramConfig, MemoryConfig, ShardOrientation,
    ShardSpec, TensorMemoryLayout,
};

use super::{Rule, RuleViolation};

type Check = Result<(), RuleViolation>;

use TensorMemoryLayout::{BlockSharded, HeightSharded, Interleaved, WidthSharded};

fn v(rule: Rule, msg: impl Into<String>, fix: impl Into<String>) -> RuleViolation {
    RuleViolation::new(rule, msg, fix)
}

/// `(shard_h, shard_w)` in tiles.
pub(crate) fn shard_tiles(spec: &ShardSpec) -> (u32, u32) {
    (spec.shape[0].div_ceil(32), spec.shape[1].div_ceil(32))
}

/// Checks that a sharded memory config's shard spec is present, tile-aligned, fits the device and
/// covers a `[rows, cols]` (elements, padded to tiles) tensor.
pub fn check_shard_spec(what: &str, mc: &MemoryConfig, rows: u32, cols: u32, device: &DeviceProfile) -> Check {
    if !mc.is_sharded() {
        return Ok(());
    }
    let Some(spec) = mc.shard_spec else {
        return Err(v(
            Rule::ShardSpecCoversTensor,
            format!("{what} is {:?} but has no shard spec", mc.memory_layout),
            "give the sharded memory config a shard spec",
        ));
    };
    let bb = spec.grid.bounding_box;
    let size = bb.grid_size();
    let (limit_x, limit_y) = match mc.buffer_type {
        BufferType::L1 => (device.compute_grid.x, device.compute_grid.y),
        // DRAM shards live on the bank row: dram_grid_size() = banks x 1 (hardware.md).
        BufferType::Dram => (device.dram_banks, 1),
    };
    if bb.end.x < bb.start.x || bb.end.y < bb.start.y || bb.end.x >= limit_x || bb.end.y >= limit_y {
        return Err(v(
            Rule::ShardGridFitsDevice,
            format!(
                "{what}'s shard grid ({},{})..=({},{}) does not fit {}'s {} grid {limit_x}x{limit_y}",
                bb.start.x,
                bb.start.y,
                bb.end.x,
                bb.end.y,
                device.name,
                if mc.buffer_type == BufferType::L1 { "compute" } else { "DRAM bank" }
            ),
            "shrink the shard grid",
        ));
    }
    let n = spec.grid.num_cores;
    if n == 0 || n > size.area() {
        return Err(v(
            Rule::ShardSpecCoversTensor,
            format!("{what}'s shard grid names {n} cores in a {}x{} rectangle", size.x, size.y),
            "use between 1 and the rectangle's area cores",
        ));
    }
    if spec.shape[0] == 0 || spec.shape[1] == 0 || spec.shape[0] % 32 != 0 || spec.shape[1] % 32 != 0 {
        return Err(v(
            Rule::ShardSpecCoversTensor,
            format!("{what}'s shard shape {:?} is not a positive multiple of the 32x32 tile", spec.shape),
            "round the shard shape up to whole tiles",
        ));
    }
    let (rows, cols) = (rows.div_ceil(32) * 32, cols.div_ceil(32) * 32);
    let (sh, sw) = (spec.shape[0], spec.shape[1]);
    let covers = match mc.memory_layout {
        HeightSharded => sw == cols && sh as u64 * n as u64 >= rows as u64,
        WidthSharded => sh == rows && sw as u64 * n as u64 >= cols as u64,
        BlockSharded => {
            let e = spec.grid.extent();
            let (r, c) = match spec.orientation {
                ShardOrientation::RowMajor => (e.y, e.x),
                ShardOrientation::ColMajor => (e.x, e.y),
            };
            spec.grid.is_rectangular() && sh as u64 * r as u64 >= rows as u64 && sw as u64 * c as u64 >= cols as u64
        }
        Interleaved => true,
    };
    if !covers {
        return Err(v(
            Rule::ShardSpecCoversTensor,
            format!(
                "{what} [{rows}, {cols}] is not covered by {:?} shards of {:?} on {n} cores",
                mc.memory_layout, spec.shape
            ),
            "make the shards tile the whole tensor",
        ));
    }
    Ok(())
}

/// Shard-spec sanity of A, B and the output of a linear.
pub fn check_linear_shard_specs(cfg: &LinearConfig, device: &DeviceProfile) -> Check {
    check_shard_spec("the activation (in0)", &cfg.input_memory_config, cfg.m, cfg.k, device)?;
    // The DRAM-sharded weight is padded to N % (32·banks) == 0; its own rule checks it.
    if !matches!(cfg.program_config, crate::ttnn::MatmulProgramConfig::DramSharded(_)) {
        check_shard_spec("the weight (in1)", &cfg.weight_memory_config, cfg.k, cfg.n, device)?;
    }
    check_shard_spec("the output", &cfg.memory_config, cfg.m, cfg.n, device)
}

fn a_spec(cfg: &LinearConfig) -> Option<ShardSpec> {
    if cfg.input_memory_config.is_sharded() { cfg.input_memory_config.shard_spec } else { None }
}

/// Sharded-operand rules of the 2D multicast config (matmul-rules.md §2).
pub fn check_2d(cfg: &LinearConfig, p: &MatmulMultiCoreReuseMultiCastProgramConfig) -> Check {
    let kt = cfg.kt();
    if let Some(spec) = a_spec(cfg) {
        let (sh, sw) = shard_tiles(&spec);
        if !p.fuse_batch {
            return Err(v(
                Rule::ShardedInputLayout,
                "a sharded in0 of a 2D multicast matmul needs fuse_batch = true",
                "set fuse_batch = true",
            ));
        }
        match cfg.input_memory_config.memory_layout {
            BlockSharded => {
                let want = if p.transpose_mcast { ShardOrientation::ColMajor } else { ShardOrientation::RowMajor };
                if spec.orientation != want {
                    return Err(v(
                        Rule::ShardedInputLayout,
                        format!(
                            "a BLOCK_SHARDED in0 needs {want:?} orientation when transpose_mcast = {}",
                            p.transpose_mcast
                        ),
                        format!("shard in0 {want:?}"),
                    ));
                }
                if cfg.memory_config.is_sharded()
                    && (cfg.memory_config.buffer_type != cfg.input_memory_config.buffer_type
                        || cfg.memory_config.memory_layout != BlockSharded)
                {
                    return Err(v(
                        Rule::MemoryLayoutSupported,
                        "a sharded output must share a BLOCK_SHARDED in0's buffer type and layout",
                        "shard the output like in0",
                    ));
                }
            }
            HeightSharded => {
                if p.transpose_mcast {
                    return Err(v(
                        Rule::ShardedInputLayout,
                        "a HEIGHT_SHARDED in0 does not allow transpose_mcast",
                        "set transpose_mcast = false",
                    ));
                }
                if !(kt == p.in0_block_w && kt == sw) {
                    return Err(v(
                        Rule::ShardedInputShape,
                        format!(
                            "a HEIGHT_SHARDED in0 needs Kt == in0_block_w == shard_w/32, got Kt {kt}, in0_block_w {}, shard width {sw} tiles",
                            p.in0_block_w
                        ),
                        format!("set in0_block_w = {kt} and shard the whole K"),
                    ));
                }
                if spec.grid.extent().x != 1 {
                    return Err(v(
                        Rule::ShardedInputLayout,
                        "a HEIGHT_SHARDED in0 of a 2D matmul must sit on a single grid column",
                        "use a one-column shard grid",
                    ));
                }
            }
            _ => {
                return Err(v(
                    Rule::ShardedInputLayout,
                    "a sharded in0 of a 2D multicast matmul must be BLOCK_SHARDED or HEIGHT_SHARDED",
                    "block- or height-shard in0, or interleave it",
                ));
            }
        }
        if p.per_core_M != sh {
            return Err(v(
                Rule::ShardedInputShape,
                format!("per_core_M {} must equal in0's shard height {sh} tiles", p.per_core_M),
                format!("set per_core_M = {sh}"),
            ));
        }
        if sw % p.in0_block_w != 0 {
            return Err(v(
                Rule::ShardedInputShape,
                format!("in0's shard width {sw} tiles must be divisible by in0_block_w {}", p.in0_block_w),
                "pick in0_block_w dividing the shard width",
            ));
        }
    }
    if cfg.weight_memory_config.is_sharded() {
        if p.transpose_mcast {
            return Err(v(
                Rule::ShardedWeightLayout,
                "a sharded in1 does not allow transpose_mcast",
                "set transpose_mcast = false",
            ));
        }
        let wl = cfg.weight_memory_config.memory_layout;
        let ok =
            wl == WidthSharded || (wl == HeightSharded && cfg.weight_memory_config.buffer_type == BufferType::Dram);
        if !ok {
            return Err(v(
                Rule::ShardedWeightLayout,
                "a sharded in1 of a 2D matmul must be WIDTH_SHARDED (or HEIGHT_SHARDED in DRAM)",
                "width-shard or interleave the weight",
            ));
        }
        if cfg.weight_memory_config.buffer_type == BufferType::L1 {
            if cfg.input_memory_config.is_sharded() && cfg.input_memory_config.memory_layout != HeightSharded {
                return Err(v(
                    Rule::ShardedWeightLayout,
                    "an L1-sharded in1 needs in0 interleaved or HEIGHT_SHARDED",
                    "interleave in0",
                ));
            }
            if let Some(ws) = cfg.weight_memory_config.shard_spec
                && p.per_core_N != shard_tiles(&ws).1
            {
                return Err(v(
                    Rule::ShardedWeightLayout,
                    format!("per_core_N {} must equal in1's shard width {} tiles", p.per_core_N, shard_tiles(&ws).1),
                    "match per_core_N to the weight shard",
                ));
            }
        }
        if wl == WidthSharded {
            let extent = cfg.weight_memory_config.shard_spec.map(|s| s.grid.extent());
            if extent.is_some_and(|g| g.y != 1) {
                return Err(v(
                    Rule::ShardedWeightLayout,
                    "a WIDTH_SHARDED in1 needs a single-row shard grid",
                    "use a one-row shard grid",
                ));
            }
        }
    }
    if cfg.memory_config.is_sharded() {
        sharded_out_block(p.out_block_h, p.out_block_w, p.per_core_N)?;
    }
    Ok(())
}

/// Sharded-operand rules of the 1D multicast config (matmul-rules.md §3).
pub fn check_1d(cfg: &LinearConfig, p: &MatmulMultiCoreReuseMultiCast1DProgramConfig) -> Check {
    let (mt, kt, nt) = (cfg.mt(), cfg.kt(), cfg.nt());
    if let Some(spec) = a_spec(cfg) {
        let (sh, sw) = shard_tiles(&spec);
        if !p.fuse_batch {
            return Err(v(
                Rule::ShardedInputLayout,
                "a sharded in0 of a 1D multicast matmul needs fuse_batch = true",
                "set fuse_batch = true",
            ));
        }
        let want = if p.mcast_in0 { WidthSharded } else { HeightSharded };
        if cfg.input_memory_config.memory_layout != want || spec.orientation != ShardOrientation::RowMajor {
            return Err(v(
                Rule::ShardedInputLayout,
                format!("a sharded in0 of a 1D matmul with mcast_in0 = {} must be {want:?} and ROW_MAJOR", p.mcast_in0),
                format!("shard in0 {want:?} ROW_MAJOR"),
            ));
        }
        if p.mcast_in0 {
            if !(mt == p.per_core_M && p.per_core_M == sh) {
                return Err(v(
                    Rule::ShardedInputShape,
                    format!(
                        "mcast_in0 with a sharded in0 needs Mt == per_core_M == shard_h/32, got Mt {mt}, per_core_M {}, shard height {sh}",
                        p.per_core_M
                    ),
                    format!("set per_core_M = {mt} and shard height {}", mt * 32),
                ));
            }
            if sw % p.in0_block_w != 0 {
                return Err(v(
                    Rule::ShardedInputShape,
                    format!("in0's shard width {sw} tiles must be divisible by in0_block_w {}", p.in0_block_w),
                    "pick in0_block_w dividing the shard width",
                ));
            }
            if cfg.memory_config.is_sharded() && (cfg.memory_config.buffer_type != cfg.input_memory_config.buffer_type)
            {
                return Err(v(
                    Rule::MemoryLayoutSupported,
                    "a sharded output must share the sharded in0's buffer type",
                    "put both in L1",
                ));
            }
        } else {
            if mt.div_ceil(p.per_core_M) > spec.grid.num_cores {
                return Err(v(
                    Rule::ShardedInputShape,
                    format!(
                        "ceil(Mt/per_core_M) = {} exceeds in0's {} shard cores",
                        mt.div_ceil(p.per_core_M),
                        spec.grid.num_cores
                    ),
                    "shard in0 over more cores",
                ));
            }
            if p.per_core_M != sh || kt != sw {
                return Err(v(
                    Rule::ShardedInputShape,
                    format!(
                        "mcast_in1 with a sharded in0 needs per_core_M == shard_h/32 and Kt == shard_w/32, got per_core_M {}, shard {sh}x{sw} tiles, Kt {kt}",
                        p.per_core_M
                    ),
                    "shard in0 by height with the whole K",
                ));
            }
        }
    }
    if cfg.weight_memory_config.is_sharded() {
        if !p.mcast_in0 {
            return Err(v(
                Rule::ShardedWeightLayout,
                "a 1D matmul with mcast_in0 = false needs an INTERLEAVED in1",
                "interleave the weight",
            ));
        }
        if cfg.weight_memory_config.buffer_type == BufferType::L1 {
            let ok = cfg.weight_memory_config.memory_layout == WidthSharded
                && cfg.weight_memory_config.shard_spec.is_some_and(|s| shard_tiles(&s).1 == p.per_core_N);
            if !ok {
                return Err(v(
                    Rule::ShardedWeightLayout,
                    "an L1-sharded in1 of a wide 1D matmul must be WIDTH_SHARDED with shard width per_core_N*32",
                    "width-shard the weight by per_core_N",
                ));
            }
        }
    }
    if cfg.memory_config.is_sharded() {
        let l = cfg.memory_config.memory_layout;
        let single = |row: bool| {
            cfg.memory_config.shard_spec.is_some_and(|s| {
                let g = s.grid.extent();
                if row { g.y == 1 } else { g.x == 1 }
            })
        };
        if p.mcast_in0 {
            if !(l == WidthSharded || (l == BlockSharded && single(true))) {
                return Err(v(
                    Rule::MemoryLayoutSupported,
                    "a sharded output of a wide 1D matmul must be WIDTH_SHARDED or single-row BLOCK_SHARDED",
                    "width-shard the output",
                ));
            }
            if mt != p.per_core_M {
                return Err(v(
                    Rule::ShardedOutputWholeDim,
                    format!(
                        "a sharded output with mcast_in0 needs Mt == per_core_M, got Mt {mt} and per_core_M {}",
                        p.per_core_M
                    ),
                    format!("set per_core_M = {mt}"),
                ));
            }
        } else {
            if !(l == HeightSharded || (l == BlockSharded && single(false))) {
                return Err(v(
                    Rule::MemoryLayoutSupported,
                    "a sharded output of a tall 1D matmul must be HEIGHT_SHARDED or single-column BLOCK_SHARDED",
                    "height-shard the output",
                ));
            }
            if nt != p.per_core_N {
                return Err(v(
                    Rule::ShardedOutputWholeDim,
                    format!(
                        "a sharded output with mcast_in0 = false needs Nt == per_core_N, got Nt {nt} and per_core_N {}",
                        p.per_core_N
                    ),
                    format!("set per_core_N = {nt}"),
                ));
            }
        }
        sharded_out_block(p.out_block_h, p.out_block_w, p.per_core_N)?;
    }
    Ok(())
}

/// Sharded-operand rules of the reuse (bmm) config (matmul-rules.md §4).
pub fn check_reuse(cfg: &LinearConfig, p: &MatmulMultiCoreReuseProgramConfig) -> Check {
    if let Some(spec) = a_spec(cfg) {
        if cfg.input_memory_config.memory_layout == WidthSharded {
            return Err(v(
                Rule::ShardedInputLayout,
                "a sharded in0 of MatmulMultiCoreReuseProgramConfig must not be WIDTH_SHARDED",
                "height- or block-shard in0",
            ));
        }
        if !(spec.shape[1] == cfg.kt() * 32
            && spec.shape[1] == p.in0_block_w * 32
            && spec.shape[0] == p.per_core_M * 32)
        {
            return Err(v(
                Rule::ShardedInputShape,
                format!(
                    "a sharded in0 needs K == shard_w == in0_block_w*32 and per_core_M*32 == shard_h, got shard {:?}, K {}, in0_block_w {}, per_core_M {}",
                    spec.shape,
                    cfg.kt() * 32,
                    p.in0_block_w,
                    p.per_core_M
                ),
                "shard in0 with the whole K and per_core_M rows",
            ));
        }
    }
    if cfg.weight_memory_config.is_sharded() && cfg.weight_memory_config.memory_layout == WidthSharded {
        return Err(v(
            Rule::ShardedWeightLayout,
            "a sharded in1 of MatmulMultiCoreReuseProgramConfig must not be WIDTH_SHARDED",
            "interleave the weight",
        ));
    }
    if cfg.memory_config.is_sharded() && cfg.memory_config.memory_layout == WidthSharded {
        return Err(v(
            Rule::MemoryLayoutSupported,
            "a sharded output of MatmulMultiCoreReuseProgramConfig must not be WIDTH_SHARDED",
            "height- or block-shard the output",
        ));
    }
    Ok(())
}

/// The DRAM-sharded GEMV's layout and shard rules (matmul-rules.md §6).
pub fn check_dram_sharded(
    cfg: &LinearConfig,
    p: &MatmulMultiCoreReuseMultiCastDRAMShardedProgramConfig,
    device: &DeviceProfile,
) -> Check {
    let (kt, nt) = (cfg.kt(), cfg.nt());
    let a = cfg.input_memory_config;
    let Some(aspec) = a.shard_spec.filter(|_| a.memory_layout == WidthSharded && a.buffer_type == BufferType::L1)
    else {
        return Err(v(
            Rule::DramShardedLayouts,
            "DRAM-sharded matmul needs in0 L1 WIDTH_SHARDED",
            "width-shard the activation in L1",
        ));
    };
    if aspec.orientation != ShardOrientation::RowMajor {
        return Err(v(Rule::ShardedInputLayout, "DRAM-sharded matmul needs in0 ROW_MAJOR", "shard in0 ROW_MAJOR"));
    }
    let (ash, asw) = shard_tiles(&aspec);
    if ash != p.per_core_M {
        return Err(v(
            Rule::ShardedInputShape,
            format!("per_core_M {} must equal in0's shard height {ash} tiles", p.per_core_M),
            "shard in0 one tile row high",
        ));
    }
    if asw % p.in0_block_w != 0 {
        return Err(v(
            Rule::ShardedInputShape,
            format!("in0's shard width {asw} tiles must be divisible by in0_block_w {}", p.in0_block_w),
            "pick in0_block_w dividing the shard width",
        ));
    }
    if kt % asw != 0 {
        return Err(v(
            Rule::DramShardedEvenK,
            format!(
                "Kt {kt} must be divisible by in0's shard width {asw} tiles (uneven K sharding of in0 is unsupported)"
            ),
            "shard K evenly",
        ));
    }
    let w = cfg.weight_memory_config;
    let banks = device.dram_banks;
    let want_w = nt.div_ceil(banks) * 32;
    let w_ok = w.memory_layout == WidthSharded
        && w.buffer_type == BufferType::Dram
        && w.shard_spec.is_some_and(|s| {
            s.orientation == ShardOrientation::RowMajor
                && s.grid.num_cores == banks
                && s.grid.extent() == crate::ttnn::CoreCoord::new(banks, 1)
                && s.shape == [kt * 32, want_w]
        });
    if !w_ok {
        return Err(v(
            Rule::DramShardedWeightSpec,
            format!(
                "the DRAM-sharded weight must be DRAM WIDTH_SHARDED ROW_MAJOR over all {banks} banks with shard [{}, {want_w}] (N padded to a multiple of 32*{banks})",
                kt * 32
            ),
            "use create_dram_sharded_mem_config's layout for the weight",
        ));
    }
    let o = cfg.memory_config;
    if !(o.memory_layout == WidthSharded && o.buffer_type == a.buffer_type) {
        return Err(v(
            Rule::DramShardedLayouts,
            "DRAM-sharded matmul needs the output sharded like in0 (L1 WIDTH_SHARDED)",
            "width-shard the output in L1",
        ));
    }
    if let Some(os) = o.shard_spec {
        let (_, osw) = shard_tiles(&os);
        let cores = nt.div_ceil(p.per_core_N);
        if osw != p.per_core_N || os.grid.num_cores != cores {
            return Err(v(
                Rule::ShardedOutputWholeDim,
                format!(
                    "the output shard must be [32, per_core_N*32] on ceil(Nt/per_core_N) = {cores} cores, got width {osw} tiles on {} cores",
                    os.grid.num_cores
                ),
                "derive the output shard spec from per_core_N",
            ));
        }
        if cores > device.num_cores() {
            return Err(v(
                Rule::OutputBlocksFitCores,
                format!("ceil(Nt/per_core_N) = {cores} output shards exceed the {} cores", device.num_cores()),
                "increase per_core_N",
            ));
        }
    }
    Ok(())
}

fn sharded_out_block(bh: u32, bw: u32, per_core_n: u32) -> Check {
    if !(bw == per_core_n || bh == 1) {
        return Err(v(
            Rule::ShardedOutputBlock,
            format!(
                "a sharded output needs out_block_w == per_core_N or out_block_h == 1, got out_block_h {bh}, out_block_w {bw}, per_core_N {per_core_n}"
            ),
            "set out_block_w = per_core_N or out_block_h = 1",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{LinearRequest, LinearSearch, Policy, plan_linear_with};
    use crate::rules::{check_linear, linear_l1_usage};
    use crate::ttnn::{CoreCoord, MatmulProgramConfig, ShardGrid};

    const N150: DeviceProfile = DeviceProfile::N150;

    /// A planned decode GEMV (DRAM-sharded) to mutate.
    fn gemv() -> LinearConfig {
        let req = LinearRequest::new("t", 32, 4096, 4096, Policy::Performance);
        let search = LinearSearch {
            allow_dram_sharded: true,
            activations_in_l1: true,
            dram_sharded_only: true,
            ..LinearSearch::default()
        };
        let p = plan_linear_with(&req, &N150, &search).unwrap();
        assert!(matches!(p.config.program_config, MatmulProgramConfig::DramSharded(_)));
        p.config
    }

    fn rule(cfg: &LinearConfig) -> Rule {
        check_linear(cfg, &N150).unwrap_err().rule
    }

    #[test]
    fn dram_sharded_weight_must_be_padded_over_all_banks() {
        let mut c = gemv();
        let mut w = c.weight_memory_config.shard_spec.unwrap();
        w.shape[1] -= 32;
        c.weight_memory_config.shard_spec = Some(w);
        assert_eq!(rule(&c), Rule::DramShardedWeightSpec);
        let mut c = gemv();
        let mut w = c.weight_memory_config.shard_spec.unwrap();
        w.grid = ShardGrid::row_wise(8, CoreCoord::new(8, 1));
        c.weight_memory_config.shard_spec = Some(w);
        assert_eq!(rule(&c), Rule::DramShardedWeightSpec);
    }

    #[test]
    fn dram_sharded_needs_even_k_sharding_and_l1_width_sharded_input() {
        let mut c = gemv();
        // 4096/32 = 128 K tiles over 48 cores of 3 tiles: 144 >= 128 covers, but unevenly.
        c.input_memory_config.shard_spec = Some(ShardSpec {
            grid: ShardGrid::row_wise(48, N150.compute_grid),
            shape: [32, 96],
            orientation: ShardOrientation::RowMajor,
        });
        if let MatmulProgramConfig::DramSharded(p) = &mut c.program_config {
            p.in0_block_w = 1;
        }
        assert_eq!(rule(&c), Rule::DramShardedEvenK);
        let mut c = gemv();
        c.input_memory_config = MemoryConfig::L1_INTERLEAVED;
        assert_eq!(rule(&c), Rule::DramShardedLayouts);
    }

    #[test]
    fn wide_1d_rejects_height_sharded_input_and_partial_output_blocks() {
        use crate::ttnn::MatmulMultiCoreReuseMultiCast1DProgramConfig as P1d;
        let base = LinearConfig { ..gemv() };
        let p = P1d {
            compute_with_storage_grid_size: N150.compute_grid,
            in0_block_w: 2,
            out_subblock_h: 1,
            out_subblock_w: 2,
            out_block_h: 1,
            out_block_w: 2,
            per_core_M: 1,
            per_core_N: 2,
            fuse_batch: true,
            fused_activation: None,
            mcast_in0: true,
        };
        let interleaved = LinearConfig {
            program_config: MatmulProgramConfig::MultiCast1D(p),
            input_memory_config: MemoryConfig::L1_INTERLEAVED,
            weight_memory_config: MemoryConfig::DRAM_INTERLEAVED,
            memory_config: MemoryConfig::L1_INTERLEAVED,
            ..base
        };
        assert!(check_linear(&interleaved, &N150).is_ok());
        let height = LinearConfig {
            input_memory_config: MemoryConfig::sharded(
                TensorMemoryLayout::HeightSharded,
                BufferType::L1,
                ShardSpec {
                    grid: ShardGrid::row_wise(1, N150.compute_grid),
                    shape: [32, 4096],
                    orientation: ShardOrientation::RowMajor,
                },
            ),
            ..interleaved
        };
        assert_eq!(rule(&height), Rule::ShardedInputLayout);
        // A width-sharded output with out_block_w != per_core_N and out_block_h != 1.
        let big = LinearConfig { m: 64, ..interleaved };
        let p2 = P1d { per_core_M: 2, out_block_h: 2, out_subblock_h: 1, out_block_w: 1, out_subblock_w: 1, ..p };
        let out = MemoryConfig::sharded(
            TensorMemoryLayout::WidthSharded,
            BufferType::L1,
            ShardSpec {
                grid: ShardGrid::row_wise(64, N150.compute_grid),
                shape: [64, 64],
                orientation: ShardOrientation::RowMajor,
            },
        );
        let bad = LinearConfig { program_config: MatmulProgramConfig::MultiCast1D(p2), memory_config: out, ..big };
        assert_eq!(rule(&bad), Rule::ShardedOutputBlock);
    }

    #[test]
    fn forced_dram_sharded_with_large_m_names_the_single_tile_row_rule() {
        use crate::ttnn::MatmulMultiCoreReuseMultiCastDRAMShardedProgramConfig as P;
        let mut req = LinearRequest::new("proj", 128, 4096, 4096, Policy::Performance);
        req.program_config = Some(MatmulProgramConfig::DramSharded(P {
            in0_block_w: 8,
            per_core_M: 4,
            per_core_N: 4,
            fused_activation: None,
        }));
        let e = plan_linear_with(&req, &N150, &LinearSearch::default()).unwrap_err();
        assert_eq!(e.rule(), Rule::DramShardedSingleTileRow, "{e}");
        // The same config at M = 32 with per_core_M = 1 is accepted.
        req.m = 32;
        req.program_config = Some(MatmulProgramConfig::DramSharded(P {
            in0_block_w: 8,
            per_core_M: 1,
            per_core_N: 4,
            fused_activation: None,
        }));
        assert!(plan_linear_with(&req, &N150, &LinearSearch::default()).is_ok());
    }

    #[test]
    fn shard_grids_must_fit_and_cover() {
        let mut c = gemv();
        c.input_memory_config.shard_spec = Some(ShardSpec {
            grid: ShardGrid::row_wise(64, CoreCoord::new(9, 8)),
            shape: [32, 64],
            orientation: ShardOrientation::RowMajor,
        });
        assert_eq!(rule(&c), Rule::ShardGridFitsDevice);
        let mut c = gemv();
        c.input_memory_config.shard_spec = Some(ShardSpec {
            grid: ShardGrid::row_wise(32, N150.compute_grid),
            shape: [32, 64],
            orientation: ShardOrientation::RowMajor,
        });
        assert_eq!(rule(&c), Rule::ShardSpecCoversTensor);
    }

    #[test]
    fn l1_counts_l1_shards_but_not_dram_shards() {
        let c = gemv();
        let u = linear_l1_usage(&c, &N150);
        let (h, w) = shard_tiles(&c.input_memory_config.shard_spec.unwrap());
        assert_eq!(u.input_shard, (h * w) as u64 * 2048);
        assert_eq!(u.weight_shard, 0, "the DRAM-sharded weight streams through the in1 CB");
    }
}
