use crate::device::DeviceProfile;
use crate::op::LinearConfig;
use crate::ttnn::{BufferType, MatmulProgramConfig, TensorMemoryLayout};

use super::{L1Usage, Rule, RuleViolation, linear_l1_usage, sharding};

type Check = Result<(), RuleViolation>;

/// Checks a linear's configs against TT-NN's matmul validation (matmul-rules.md §0–§6), the
/// silent-wrong-result cases (diagnostics-catalog.md) and per-core L1. Returns the L1 it needs.
pub fn check_linear(cfg: &LinearConfig, device: &DeviceProfile) -> Result<L1Usage, RuleViolation> {
    check_common(cfg)?;
    sharding::check_linear_shard_specs(cfg, device)?;
    let (mt, kt, nt) = (cfg.mt(), cfg.kt(), cfg.nt());
    let dest = cfg.compute_kernel_config.dest_reg_tiles();
    match &cfg.program_config {
        MatmulProgramConfig::MultiCore(_) => {
            // §5: everything interleaved, no fused bias (`matmul_multicore_program_factory.cpp:33`
            // @ 13adda80: "Bias is not supported for matmul multi core").
            if cfg.bias {
                return Err(RuleViolation::new(
                    Rule::OpConstraint,
                    "MatmulMultiCoreProgramConfig cannot fuse a bias",
                    "use a reuse, multicast or DRAM-sharded program config, or add the bias with a separate add",
                ));
            }
            if cfg.input_memory_config.is_sharded()
                || cfg.weight_memory_config.is_sharded()
                || cfg.memory_config.is_sharded()
            {
                return Err(RuleViolation::new(
                    Rule::MemoryLayoutSupported,
                    "MatmulMultiCoreProgramConfig needs A, B and the output INTERLEAVED",
                    "use interleaved memory configs or a multicast program config",
                ));
            }
        }
        MatmulProgramConfig::Reuse(p) => {
            // A silent wrong result: `ttnn::linear` hands the bias to the device op for this
            // config (`matmul.cpp` `get_post_process_bias` @ 13adda80 post-processes it only for
            // MatmulMultiCoreProgramConfig), and its factory
            // (`matmul_multicore_reuse_optimized_program_factory.cpp`) reads only A and B: no bias
            // CB, no FUSE_BIAS define, so the output has no bias.
            if cfg.bias {
                return Err(RuleViolation::new(
                    Rule::OpConstraint,
                    "MatmulMultiCoreReuseProgramConfig drops a fused bias (its program factory never reads it)",
                    "use a multicast or DRAM-sharded program config, or add the bias with a separate add",
                ));
            }
            nonzero(&[
                ("in0_block_w", p.in0_block_w),
                ("out_subblock_h", p.out_subblock_h),
                ("out_subblock_w", p.out_subblock_w),
                ("per_core_M", p.per_core_M),
                ("per_core_N", p.per_core_N),
            ])?;
            grid_fits(p.compute_with_storage_grid_size.x, p.compute_with_storage_grid_size.y, device)?;
            subblock(p.out_subblock_h, p.out_subblock_w, dest)?;
            in0_block_w(kt, p.in0_block_w)?;
            divides("per_core_M", p.per_core_M, "out_subblock_h", p.out_subblock_h)?;
            divides("per_core_N", p.per_core_N, "out_subblock_w", p.out_subblock_w)?;
            if p.per_core_N != nt {
                return Err(RuleViolation::new(
                    Rule::ReuseFullWidth,
                    format!(
                        "MatmulMultiCoreReuseProgramConfig needs per_core_N == Nt, got per_core_N {} and Nt {nt}",
                        p.per_core_N
                    ),
                    format!("set per_core_N = {nt} or use a multicast program config"),
                ));
            }
            divides("Mt", mt, "per_core_M", p.per_core_M)?;
            let blocks = mt / p.per_core_M;
            let cores = p.compute_with_storage_grid_size.area();
            blocks_fit(blocks, cores, "MatmulMultiCoreReuseProgramConfig")?;
            sharded_out_subblock(cfg, p.out_subblock_h, p.out_subblock_w, p.per_core_N)?;
            sharding::check_reuse(cfg, p)?;
        }
        MatmulProgramConfig::MultiCast2D(p) => {
            block_fields(
                p.in0_block_w,
                [p.out_subblock_h, p.out_subblock_w, p.out_block_h, p.out_block_w, p.per_core_M, p.per_core_N],
            )?;
            let g = p.compute_with_storage_grid_size;
            grid_fits(g.x, g.y, device)?;
            subblock(p.out_subblock_h, p.out_subblock_w, dest)?;
            in0_block_w(kt, p.in0_block_w)?;
            block_divisibility([
                p.out_subblock_h,
                p.out_subblock_w,
                p.out_block_h,
                p.out_block_w,
                p.per_core_M,
                p.per_core_N,
            ])?;
            // §2: blocks along M go on grid rows, along N on grid columns (swapped when
            // transpose_mcast).
            let by = mt.div_ceil(p.per_core_M);
            let bx = nt.div_ceil(p.per_core_N);
            let (rows, cols) = if p.transpose_mcast { (g.x, g.y) } else { (g.y, g.x) };
            if by > rows || bx > cols {
                return Err(RuleViolation::new(
                    Rule::OutputBlocksFitCores,
                    format!(
                        "2D multicast needs ceil(Mt/per_core_M) = {by} <= {rows} grid rows and ceil(Nt/per_core_N) = {bx} <= {cols} grid columns"
                    ),
                    "increase per_core_M/per_core_N or the grid",
                ));
            }
            if cfg.memory_config.is_sharded() {
                if cfg.memory_config.memory_layout != TensorMemoryLayout::BlockSharded {
                    return Err(RuleViolation::new(
                        Rule::MemoryLayoutSupported,
                        "a sharded output of a 2D multicast matmul must be BLOCK_SHARDED",
                        "use a BLOCK_SHARDED or interleaved output",
                    ));
                }
                sharded_out_subblock(cfg, p.out_subblock_h, p.out_subblock_w, p.per_core_N)?;
            }
            sharding::check_2d(cfg, p)?;
        }
        MatmulProgramConfig::MultiCast1D(p) => {
            block_fields(
                p.in0_block_w,
                [p.out_subblock_h, p.out_subblock_w, p.out_block_h, p.out_block_w, p.per_core_M, p.per_core_N],
            )?;
            let g = p.compute_with_storage_grid_size;
            grid_fits(g.x, g.y, device)?;
            subblock(p.out_subblock_h, p.out_subblock_w, dest)?;
            in0_block_w(kt, p.in0_block_w)?;
            block_divisibility([
                p.out_subblock_h,
                p.out_subblock_w,
                p.out_block_h,
                p.out_block_w,
                p.per_core_M,
                p.per_core_N,
            ])?;
            let blocks = mt.div_ceil(p.per_core_M) * nt.div_ceil(p.per_core_N);
            blocks_fit(blocks, g.area(), "MatmulMultiCoreReuseMultiCast1DProgramConfig")?;
            if p.mcast_in0 && mt.div_ceil(p.per_core_M) != 1 {
                return Err(RuleViolation::new(
                    Rule::Mcast1dWholeM,
                    format!("mcast_in0 needs ceil(Mt/per_core_M) == 1, got Mt {mt} and per_core_M {}", p.per_core_M),
                    format!("set per_core_M = {mt} or use mcast_in0 = false"),
                ));
            }
            if cfg.memory_config.is_sharded() {
                let ok = if p.mcast_in0 {
                    cfg.memory_config.memory_layout == TensorMemoryLayout::WidthSharded
                } else {
                    cfg.memory_config.memory_layout == TensorMemoryLayout::HeightSharded
                };
                if !ok {
                    return Err(RuleViolation::new(
                        Rule::MemoryLayoutSupported,
                        "a sharded 1D output must be WIDTH_SHARDED (mcast_in0) or HEIGHT_SHARDED (mcast_in1)",
                        "pick the sharding that matches mcast_in0",
                    ));
                }
                sharded_out_subblock(cfg, p.out_subblock_h, p.out_subblock_w, p.per_core_N)?;
            }
            sharding::check_1d(cfg, p)?;
        }
        MatmulProgramConfig::DramSharded(p) => {
            nonzero(&[("in0_block_w", p.in0_block_w), ("per_core_M", p.per_core_M), ("per_core_N", p.per_core_N)])?;
            in0_block_w(kt, p.in0_block_w)?;
            if mt != 1 || p.per_core_M != 1 {
                return Err(RuleViolation::new(
                    Rule::DramShardedSingleTileRow,
                    format!(
                        "currently only support in0 tensor height of tile height: DRAM-sharded matmul needs Mt == per_core_M == 1, got M = {} (Mt {mt}) and per_core_M {}",
                        cfg.m, p.per_core_M
                    ),
                    "use the DRAM-sharded config only for decode with at most 32 rows; use a multicast config for larger M",
                ));
            }
            let input_ok = cfg.input_memory_config.memory_layout == TensorMemoryLayout::WidthSharded
                && cfg.input_memory_config.buffer_type == BufferType::L1;
            let out_ok = cfg.memory_config.memory_layout == TensorMemoryLayout::WidthSharded
                && cfg.memory_config.buffer_type == BufferType::L1;
            let w_ok = cfg.weight_memory_config.memory_layout == TensorMemoryLayout::WidthSharded
                && cfg.weight_memory_config.buffer_type == BufferType::Dram;
            if !(input_ok && out_ok && w_ok) {
                return Err(RuleViolation::new(
                    Rule::DramShardedLayouts,
                    "DRAM-sharded matmul needs A and the output L1 WIDTH_SHARDED and the weight DRAM WIDTH_SHARDED",
                    "shard the activation over L1 by width and the weight over the DRAM banks",
                ));
            }
            sharding::check_dram_sharded(cfg, p, device)?;
        }
    }
    let usage = linear_l1_usage(cfg, device);
    let budget = device.l1_budget_bytes();
    if usage.total() > budget {
        return Err(RuleViolation::new(
            Rule::L1Fits,
            format!(
                "Statically allocated circular buffers grow to {} B which is beyond the {} B of L1 available per core on {} ({} B L1 - {} B reserved)",
                usage.total(),
                budget,
                device.name,
                device.l1_bytes_per_core,
                device.l1_reserved_bytes
            ),
            "reduce in0_block_w, out_block_h/out_block_w or per_core_M/per_core_N, or use smaller dtypes",
        ));
    }
    Ok(usage)
}

fn check_common(cfg: &LinearConfig) -> Check {
    if cfg.m == 0 || cfg.k == 0 || cfg.n == 0 {
        return Err(RuleViolation::new(
            Rule::ShapeMismatch,
            format!("matmul dims must be positive, got M {} K {} N {}", cfg.m, cfg.k, cfg.n),
            "give every dimension a positive size",
        ));
    }
    for (what, dt) in [("input", cfg.input_dtype), ("weight", cfg.weight_dtype), ("output", cfg.dtype)] {
        if !dt.is_float() {
            return Err(RuleViolation::new(
                Rule::DtypeSupported,
                format!("matmul {what} dtype {} is not a floating-point type", dt.ttnn_name()),
                "use BFLOAT16, BFLOAT8_B, BFLOAT4_B or FLOAT32",
            ));
        }
    }
    Ok(())
}

fn nonzero(fields: &[(&str, u32)]) -> Check {
    for (name, v) in fields {
        if *v == 0 {
            return Err(RuleViolation::new(
                Rule::NonZeroFields,
                format!("{name} must be non-zero"),
                format!("set {name} to at least 1"),
            ));
        }
    }
    Ok(())
}

fn block_fields(in0_block_w: u32, f: [u32; 6]) -> Check {
    let [sh, sw, bh, bw, pm, pn] = f;
    nonzero(&[
        ("in0_block_w", in0_block_w),
        ("out_subblock_h", sh),
        ("out_subblock_w", sw),
        ("out_block_h", bh),
        ("out_block_w", bw),
        ("per_core_M", pm),
        ("per_core_N", pn),
    ])
}

fn grid_fits(x: u32, y: u32, device: &DeviceProfile) -> Check {
    let g = device.compute_grid;
    if x == 0 || y == 0 || x > g.x || y > g.y {
        return Err(RuleViolation::new(
            Rule::GridFitsDevice,
            format!(
                "compute_with_storage_grid_size ({x}, {y}) does not fit {}'s compute grid ({}, {})",
                device.name, g.x, g.y
            ),
            format!("use a grid of at most ({}, {})", g.x, g.y),
        ));
    }
    Ok(())
}

fn subblock(h: u32, w: u32, dest: u32) -> Check {
    if h * w > dest {
        return Err(RuleViolation::new(
            Rule::SubblockFitsDest,
            format!("out_subblock_w {w} times out_subblock_h {h} needs to be at most {dest} to fit in hardware"),
            format!(
                "choose out_subblock_h * out_subblock_w <= {dest} (the dest register holds {dest} tiles with this compute-kernel config)"
            ),
        ));
    }
    Ok(())
}

fn in0_block_w(kt: u32, w: u32) -> Check {
    if !kt.is_multiple_of(w) {
        return Err(RuleViolation::new(
            Rule::In0BlockWDividesK,
            format!("Kt {kt} must be divisible by in0_block_w {w}"),
            format!("choose in0_block_w among the divisors of {kt}"),
        ));
    }
    Ok(())
}

fn divides(big_name: &str, big: u32, small_name: &str, small: u32) -> Check {
    if !big.is_multiple_of(small) {
        return Err(RuleViolation::new(
            Rule::BlockDivisibility,
            format!("{big_name} {big} must be divisible by {small_name} {small}"),
            format!("choose {small_name} among the divisors of {big}"),
        ));
    }
    Ok(())
}

fn block_divisibility(f: [u32; 6]) -> Check {
    let [sh, sw, bh, bw, pm, pn] = f;
    divides("out_block_h", bh, "out_subblock_h", sh)?;
    divides("out_block_w", bw, "out_subblock_w", sw)?;
    divides("per_core_M", pm, "out_block_h", bh)?;
    divides("per_core_N", pn, "out_block_w", bw)
}

fn blocks_fit(blocks: u32, cores: u32, family: &str) -> Check {
    if blocks > cores {
        return Err(RuleViolation::new(
            Rule::OutputBlocksFitCores,
            format!(
                "{family} would produce {blocks} output blocks on {cores} cores (tt-metal #54798: more output blocks than cores gives wrong results or fails)"
            ),
            "increase per_core_M/per_core_N or the grid",
        ));
    }
    Ok(())
}

fn sharded_out_subblock(cfg: &LinearConfig, h: u32, w: u32, per_core_n: u32) -> Check {
    if cfg.memory_config.is_sharded() && !(w == per_core_n || h == 1) {
        return Err(RuleViolation::new(
            Rule::ShardedOutputSubblock,
            format!(
                "a sharded output needs out_subblock_w == per_core_N or out_subblock_h == 1, got out_subblock_h {h}, out_subblock_w {w}, per_core_N {per_core_n} (tt-metal #26150)"
            ),
            "set out_subblock_h = 1 or out_subblock_w = per_core_N",
        ));
    }
    Ok(())
}
