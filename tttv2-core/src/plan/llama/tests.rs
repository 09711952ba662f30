use std::path::Path;

use super::*;
use crate::op::LinearConfig;
use crate::rules::check_linear;
use crate::ttnn::{BufferType, TensorMemoryLayout};

fn model(name: &str) -> LlamaConfig {
    LlamaConfig::from_file(Path::new(env!("CARGO_MANIFEST_DIR")).join("../models").join(name).join("config.json"))
        .unwrap()
}

fn plan(name: &str, system: &SystemProfile, opts: &LlamaOptions) -> LlamaPlan {
    plan_llama(&model(name), system, opts).unwrap_or_else(|e| panic!("{name} on {}: {e}", system.name))
}

fn decode32() -> LlamaOptions {
    LlamaOptions::new(Mode::Decode, 32)
}

/// Rebuilds a linear's `LinearConfig` from the planned op, for re-checking.
fn linear_config(op: &PlannedOp) -> LinearConfig {
    let Some(OpProgramConfig::Matmul(pc)) = op.program_config else { panic!("{} has no matmul config", op.name) };
    LinearConfig {
        m: op.shapes.m.unwrap(),
        k: op.shapes.k.unwrap(),
        n: op.shapes.n.unwrap(),
        bias: false,
        input_dtype: op.dtypes[&Role::Input],
        input_memory_config: op.memory_configs[&Role::Input],
        weight_dtype: op.dtypes[&Role::Weight],
        weight_memory_config: op.memory_configs[&Role::Weight],
        program_config: pc,
        compute_kernel_config: op.compute_kernel_config.unwrap(),
        memory_config: op.memory_configs[&Role::Output],
        dtype: op.dtypes[&Role::Output],
    }
}

fn linears(p: &LlamaPlan) -> impl Iterator<Item = &PlannedOp> {
    p.ops.iter().filter(|o| o.kind() == OpKind::Linear)
}

#[test]
fn every_planned_matmul_passes_the_checker_and_fits_l1() {
    let systems =
        [SystemProfile::N150, SystemProfile::N300, SystemProfile::T3K, SystemProfile::P150, SystemProfile::P100];
    for sys in systems {
        for (m, opts) in [
            ("Llama-3.2-1B", decode32()),
            ("Llama-3.2-1B", LlamaOptions { seq_len: 512, ..LlamaOptions::new(Mode::Prefill, 1) }),
            ("Llama-3.1-8B", decode32()),
        ] {
            let p = plan(m, &sys, &opts);
            for op in &p.ops {
                assert!(
                    op.l1_peak_bytes_per_core <= sys.chip.l1_budget_bytes(),
                    "{}: {}",
                    op.name,
                    op.l1_peak_bytes_per_core
                );
                assert!(op.estimate_us > 0.0 && op.estimate_us.is_finite(), "{}", op.name);
            }
            for op in linears(&p) {
                let l1 = check_linear(&linear_config(op), &sys.chip).unwrap_or_else(|v| panic!("{}: {v}", op.name));
                assert_eq!(l1.total(), op.l1_peak_bytes_per_core, "{}", op.name);
            }
        }
    }
}

#[test]
fn decode_8b_on_n150_uses_dram_sharded_gemvs_and_names_hf_weights() {
    let p = plan("Llama-3.1-8B", &SystemProfile::N150, &decode32());
    let names: Vec<&str> = p.ops.iter().map(|o| o.name.as_str()).collect();
    let mut sorted = names.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(sorted.len(), names.len(), "op names are unique");
    let wqkv = p.ops.iter().find(|o| o.name == "layers.0.attention.wqkv").unwrap();
    assert_eq!(
        wqkv.weights,
        [
            "model.layers.0.self_attn.q_proj.weight",
            "model.layers.0.self_attn.k_proj.weight",
            "model.layers.0.self_attn.v_proj.weight"
        ]
    );
    assert_eq!((wqkv.shapes.m, wqkv.shapes.k, wqkv.shapes.n), (Some(32), Some(4096), Some(6144)));
    let w2 = p.ops.iter().find(|o| o.name == "layers.31.mlp.w2").unwrap();
    assert_eq!(w2.weights, ["model.layers.31.mlp.down_proj.weight"]);
    for op in linears(&p) {
        let Some(OpProgramConfig::Matmul(MatmulProgramConfig::DramSharded(_))) = op.program_config else {
            panic!("{} is not DRAM-sharded", op.name)
        };
        let w = op.memory_configs[&Role::Weight];
        assert_eq!((w.memory_layout, w.buffer_type), (TensorMemoryLayout::WidthSharded, BufferType::Dram));
        // N padded to 32 * 12 banks (matmul-rules.md §6).
        assert_eq!(w.shard_spec.unwrap().shape[1] % 32, 0);
        assert_eq!(op.shapes.tensors[&Role::Weight][3] % (32 * 12), 0, "{}", op.name);
    }
    // Performance policy: bfp4 w1/w3 with LoFi, bfp8 elsewhere with HiFi2.
    let w1 = p.ops.iter().find(|o| o.name == "layers.0.mlp.w1").unwrap();
    assert_eq!(w1.dtypes[&Role::Weight], DataType::Bfloat4B);
    assert_eq!(w1.compute_kernel_config.unwrap().math_fidelity, MathFidelity::LoFi);
    assert_eq!(wqkv.dtypes[&Role::Weight], DataType::Bfloat8B);
    assert_eq!(wqkv.compute_kernel_config.unwrap().math_fidelity, MathFidelity::HiFi2);
    // The LM head's pieces cover the vocabulary.
    let vocab: u32 = p.ops.iter().filter(|o| o.name.starts_with("lm_head")).filter_map(|o| o.shapes.n).sum();
    assert_eq!(vocab, 128256);
    // Embedding, its reshape and the move to the sharded hidden state; 18 ops per layer (rotary
    // and cache update once per tensor, SDPA's DRAM output resharded for the head merge); final
    // norm, LM head pieces.
    let head = p.ops.iter().filter(|o| o.name.starts_with("lm_head")).count();
    assert_eq!(p.ops.len(), 3 + 32 * 18 + 1 + head);
}

/// The bar of issue 3: estimated decode time vs weight bytes / 288 GB/s. Prints the figure.
#[test]
fn decode_8b_n150_performance_roofline() {
    let p = plan("Llama-3.1-8B", &SystemProfile::N150, &decode32());
    let t = &p.totals;
    println!(
        "Llama-3.1-8B decode n150 batch 32 performance: {:.0} us/token, weights {:.3} GB -> roofline {:.0} us, fraction {:.1} %",
        t.estimate_us,
        t.weight_bytes_read_per_call as f64 / 1e9,
        t.weight_roofline_us,
        t.roofline_fraction * 100.0
    );
    // Every weight matmul is DRAM-bound: its estimate is its padded weight bytes streamed at the
    // measured DRAM-sharded rate (267 GB/s, Saturating_DRAM_bandwidth.md) plus the fixed per-op
    // cost (kernel ramp + traced op-to-op gap), within 1 %.
    let stream = 288e9 * crate::cost::DRAM_SHARDED_EFFICIENCY;
    let mut matmul_floor = 0.0;
    for op in linears(&p) {
        let w = op.memory_configs[&Role::Weight].shard_spec.unwrap();
        let padded = w.shape[0] as u64 / 32 * (w.shape[1] as u64 / 32) * 12 * op.dtypes[&Role::Weight].tile_bytes();
        let ideal = padded as f64 / stream * 1e6 + crate::cost::FIXED_OP_US;
        assert!(
            (op.estimate_us / ideal - 1.0).abs() < 0.01,
            "{}: {:.1} us vs DRAM-bound {:.1} us",
            op.name,
            op.estimate_us,
            ideal
        );
        matmul_floor += ideal;
    }
    // Why the 90 % bar is out of reach with honest modelling: the weight matmuls alone, with
    // nothing else in the step, already take more than roofline / 0.9 (267 of 288 GB/s, N padded
    // to 12 banks, one fixed cost per matmul).
    let ceiling = t.weight_roofline_us / matmul_floor;
    println!("matmuls alone: {matmul_floor:.0} us -> at most {:.1} % of the roofline", ceiling * 100.0);
    assert!(ceiling < 0.90, "{ceiling}");
    // 73.5 % since the plan lists (and costs) every op the program runs: unfused rotary and cache
    // updates, SDPA-decode's DRAM output and its reshard (TT-NN refuses the fused and sharded forms).
    assert!(t.roofline_fraction > 0.70 && t.roofline_fraction < ceiling, "{}", t.roofline_fraction);
}

#[test]
fn memory_budget_moves_weights_to_bfp8_or_names_the_shortfall() {
    let cfg = model("Llama-3.1-8B");
    let mut opts = LlamaOptions { policy: Policy::Accuracy, memory_budget: Some(u64::MAX), ..decode32() };
    let roomy = plan_llama(&cfg, &SystemProfile::N150, &opts).unwrap();
    assert!(linears(&roomy).all(|o| o.dtypes[&Role::Weight] == DataType::Bfloat16));
    assert!(roomy.notes.is_empty());
    // 12 GiB (the n150's DRAM) cannot hold 16 GB of bf16 weights.
    opts.memory_budget = Some(12 << 30);
    let fitted = plan_llama(&cfg, &SystemProfile::N150, &opts).unwrap();
    assert!(linears(&fitted).all(|o| o.dtypes[&Role::Weight] == DataType::Bfloat8B));
    assert_eq!(fitted.notes.len(), 1, "{:?}", fitted.notes);
    assert!(fitted.totals.weight_bytes_per_chip + fitted.totals.kv_cache_bytes_per_chip <= 12 << 30);
    // 7 GB: bfp8 attention and bfp4 w1/w3 (the minimum, with bfp4 w2 too, is 6.58 GB).
    opts.memory_budget = Some(7_000_000_000);
    let tight = plan_llama(&cfg, &SystemProfile::N150, &opts).unwrap();
    assert!(
        linears(&tight).filter(|o| o.name.contains("mlp.w1")).all(|o| o.dtypes[&Role::Weight] == DataType::Bfloat4B)
    );
    // 3 GB: nothing fits.
    opts.memory_budget = Some(3_000_000_000);
    let err = plan_llama(&cfg, &SystemProfile::N150, &opts).unwrap_err();
    assert_eq!(err.rule(), Rule::MemoryBudget);
    let LlamaPlanError::MemoryBudget { needed, budget } = err else { unreachable!() };
    assert_eq!(err.shortfall(), Some(needed - budget));
    assert!(err.to_string().contains(&format!("short by {} B", needed - budget)), "{err}");
}

#[test]
fn batch_hint_switches_decode_between_dram_sharded_and_multicast() {
    let small = plan("Llama-3.2-1B", &SystemProfile::N150, &decode32());
    let big = plan("Llama-3.2-1B", &SystemProfile::N150, &LlamaOptions::new(Mode::Decode, 64));
    let family = |p: &LlamaPlan, name: &str| match p.ops.iter().find(|o| o.name == name).unwrap().program_config {
        Some(OpProgramConfig::Matmul(m)) => m.ttnn_name(),
        _ => unreachable!(),
    };
    assert_eq!(family(&small, "layers.0.mlp.w1"), "MatmulMultiCoreReuseMultiCastDRAMShardedProgramConfig");
    assert_ne!(family(&big, "layers.0.mlp.w1"), "MatmulMultiCoreReuseMultiCastDRAMShardedProgramConfig");
    let res = |p: &LlamaPlan| {
        p.ops.iter().find(|o| o.name == "layers.0.attention_norm").unwrap().memory_configs[&Role::Input].memory_layout
    };
    assert_eq!(res(&small), TensorMemoryLayout::WidthSharded);
    assert_eq!(res(&big), TensorMemoryLayout::Interleaved);
}

#[test]
fn seq_len_hint_changes_sdpa_chunks_and_cache() {
    let sdpa = |s: u32| {
        let p = plan(
            "Llama-3.2-1B",
            &SystemProfile::N150,
            &LlamaOptions { seq_len: s, ..LlamaOptions::new(Mode::Prefill, 1) },
        );
        let op = p.ops.iter().find(|o| o.name == "layers.0.attention.sdpa").unwrap().clone();
        let Some(OpProgramConfig::Sdpa(crate::ttnn::TaggedSdpa::Config(c))) = op.program_config else { unreachable!() };
        (c, p.totals.kv_cache_bytes_per_chip)
    };
    let (short, kv_short) = sdpa(64);
    let (long, kv_long) = sdpa(4096);
    assert!(short.q_chunk_size <= 64 && short.k_chunk_size <= 64);
    assert!(long.q_chunk_size > 64, "{long:?}");
    assert_eq!(kv_long, kv_short * 64);
}

#[test]
fn optimize_for_throughput_frees_cores_within_the_slack() {
    let base = LlamaOptions { seq_len: 256, ..LlamaOptions::new(Mode::Prefill, 1) };
    let lat = plan("Llama-3.2-1B", &SystemProfile::N150, &base);
    let thr =
        plan("Llama-3.2-1B", &SystemProfile::N150, &LlamaOptions { optimize_for: OptimizeFor::Throughput, ..base });
    let mut changed = 0;
    for (a, b) in linears(&lat).zip(linears(&thr)) {
        assert!(b.cores <= a.cores, "{}", a.name);
        assert!(b.estimate_us <= a.estimate_us * (1.0 + THROUGHPUT_SLACK) + 1e-9, "{}", a.name);
        changed += usize::from(a.program_config != b.program_config);
    }
    assert!(changed > 0, "throughput must change some matmul config");
}

#[test]
fn per_layer_overrides_apply_to_their_layers_only() {
    let opts = LlamaOptions {
        overrides: vec![LayerOverride {
            layers: Some((0, 1)),
            group: WeightGroup::W1W3,
            dtype: Some(DataType::Bfloat8B),
            math_fidelity: Some(MathFidelity::HiFi4),
        }],
        ..decode32()
    };
    let p = plan("Llama-3.2-1B", &SystemProfile::N150, &opts);
    let op = |n: &str| p.ops.iter().find(|o| o.name == n).unwrap();
    assert_eq!(op("layers.1.mlp.w3").dtypes[&Role::Weight], DataType::Bfloat8B);
    assert_eq!(op("layers.1.mlp.w3").compute_kernel_config.unwrap().math_fidelity, MathFidelity::HiFi4);
    assert_eq!(op("layers.2.mlp.w3").dtypes[&Role::Weight], DataType::Bfloat4B);
    assert_eq!(op("layers.2.mlp.w3").compute_kernel_config.unwrap().math_fidelity, MathFidelity::LoFi);
}

#[test]
fn t3k_splits_heads_and_reduces_after_wo_and_w2() {
    let p = plan("Llama-3.1-70B", &SystemProfile::T3K, &decode32());
    let wqkv = p.ops.iter().find(|o| o.name == "layers.79.attention.wqkv").unwrap();
    // 64/8 q heads + 2 x 8/8 kv heads, head_dim 128.
    assert_eq!(wqkv.shapes.n, Some((8 + 2) * 128));
    let reduces = p.ops.iter().filter(|o| o.kind() == OpKind::AllReduce).count();
    assert_eq!(reduces, 2 * 80);
    assert_eq!(p.ops.iter().filter(|o| o.kind() == OpKind::AllGather).count(), 1);
    let galaxy = plan("Llama-3.1-70B", &SystemProfile::GALAXY, &decode32());
    // 8 KV heads over 32 chips: one replicated KV head per chip.
    let g = galaxy.ops.iter().find(|o| o.name == "layers.0.attention.wqkv").unwrap();
    assert_eq!(g.shapes.n, Some((2 + 2) * 128));
}

#[test]
fn plans_are_deterministic() {
    let a = serde_json::to_string(&plan("Llama-3.1-8B", &SystemProfile::N150, &decode32())).unwrap();
    let b = serde_json::to_string(&plan("Llama-3.1-8B", &SystemProfile::N150, &decode32())).unwrap();
    assert_eq!(a, b);
}

#[test]
fn unsplittable_heads_are_a_typed_error() {
    let err = plan_llama(&model("Llama-3.2-3B"), &SystemProfile::GALAXY, &decode32()).unwrap_err();
    assert_eq!(err.rule(), Rule::ShapeMismatch);
    assert!(err.to_string().contains("24 attention heads"), "{err}");
}

#[test]
fn json_shape_has_the_documented_fields() {
    let p = plan("Llama-3.2-1B", &SystemProfile::N150, &decode32());
    let v = serde_json::to_value(&p).unwrap();
    let op = &v["ops"][4];
    assert_eq!(op["name"], "layers.0.attention.wqkv");
    for k in [
        "name",
        "op",
        "mode",
        "weights",
        "shapes",
        "program_config",
        "compute_kernel_config",
        "memory_configs",
        "dtypes",
        "l1_peak_bytes_per_core",
        "estimate_us",
    ] {
        assert!(op.get(k).is_some(), "missing {k}");
    }
    assert_eq!(op["program_config"]["type"], "MatmulMultiCoreReuseMultiCastDRAMShardedProgramConfig");
    assert!(op["program_config"]["per_core_N"].is_u64());
    assert_eq!(op["shapes"]["k"], 2048);
    assert_eq!(v["ops"][3]["program_config"]["type"], "LayerNormShardedMultiCoreProgramConfig");
    assert!(v["totals"]["estimate_us"].is_f64());
}

#[test]
fn prefill_casts_k_and_v_to_a_bfp8_cache_before_fill_cache() {
    let prefill = |policy| LlamaOptions { seq_len: 256, policy, ..LlamaOptions::new(Mode::Prefill, 1) };
    let p = plan("Llama-3.2-1B", &SystemProfile::N150, &prefill(Policy::Performance));
    let idx = |n: &str| p.ops.iter().position(|o| o.name == n).unwrap_or_else(|| panic!("{n} missing"));
    let (tk, tv, fk, fv) = (
        idx("layers.0.attention.typecast_k"),
        idx("layers.0.attention.typecast_v"),
        idx("layers.0.attention.fill_k_cache"),
        idx("layers.0.attention.fill_v_cache"),
    );
    assert!(tk < tv && tv < fk && fk < fv, "cast K, cast V, fill K, fill V");
    for i in [tk, tv] {
        let op = &p.ops[i];
        assert_eq!((op.kind(), op.ttnn_op()), (OpKind::Typecast, "ttnn::typecast"));
        assert_eq!((op.dtypes[&Role::Input], op.dtypes[&Role::Output]), (DataType::Bfloat16, DataType::Bfloat8B));
        assert!(op.estimate_us > crate::cost::FIXED_OP_US);
    }
    for i in [fk, fv] {
        assert_eq!(
            p.ops[i].dtypes[&Role::Input],
            p.ops[i].dtypes[&Role::Cache],
            "fill_cache copies without converting"
        );
    }
    // A bf16 cache (accuracy policy) needs no cast; decode (update_cache converts) never does.
    let acc = plan("Llama-3.2-1B", &SystemProfile::N150, &prefill(Policy::Accuracy));
    assert!(acc.ops.iter().all(|o| o.kind() != OpKind::Typecast));
    assert!(plan("Llama-3.2-1B", &SystemProfile::N150, &decode32()).ops.iter().all(|o| o.kind() != OpKind::Typecast));
}

#[test]
fn prefill_for_a_decode_plan_reads_the_decode_weights() {
    let sys = SystemProfile::N150;
    for (name, policy) in [
        ("Llama-3.2-1B", Policy::Performance),
        ("Llama-3.1-8B", Policy::Performance),
        ("Llama-3.2-1B", Policy::Accuracy),
    ] {
        let decode = plan(name, &sys, &LlamaOptions { seq_len: 2048, policy, ..decode32() });
        for seq_len in [128, 1024, 2048] {
            let prefill =
                plan_llama_prefill_for(&decode, &sys, seq_len).unwrap_or_else(|e| panic!("{name} {seq_len}: {e}"));
            assert_eq!(prefill.options.mode, Mode::Prefill);
            assert_eq!(prefill.totals.weight_bytes_per_chip, decode.totals.weight_bytes_per_chip);
            let (pre, dec): (Vec<_>, Vec<_>) = (linears(&prefill).collect(), linears(&decode).collect());
            assert_eq!(pre.len(), dec.len(), "{name}: the same matmuls, the LM head split alike");
            for (p, d) in pre.iter().zip(&dec) {
                assert_eq!(p.name, d.name);
                assert_eq!(
                    (p.dtypes[&Role::Weight], p.memory_configs[&Role::Weight]),
                    (d.dtypes[&Role::Weight], d.memory_configs[&Role::Weight]),
                    "{}",
                    p.name
                );
                assert_eq!(p.compute_kernel_config, d.compute_kernel_config, "{}", p.name);
                assert!(
                    p.memory_configs[&Role::Weight].is_sharded(),
                    "{}: decode GEMV weights are DRAM-sharded",
                    p.name
                );
                // TT-NN takes a sharded in1 only in 2D and wide 1D multicast matmuls.
                match p.program_config {
                    Some(OpProgramConfig::Matmul(MatmulProgramConfig::MultiCast2D(c))) => assert!(!c.transpose_mcast),
                    Some(OpProgramConfig::Matmul(MatmulProgramConfig::MultiCast1D(c))) => {
                        assert!(c.mcast_in0, "{}", p.name)
                    }
                    other => panic!("{}: {other:?}", p.name),
                }
                check_linear(&linear_config(p), &sys.chip).unwrap_or_else(|v| panic!("{}: {v}", p.name));
            }
        }
    }
    // Only decode plans place weights for others, and the cache bounds the prompt.
    let decode = plan("Llama-3.2-1B", &sys, &LlamaOptions { seq_len: 256, ..decode32() });
    assert!(plan_llama_prefill_for(&decode, &sys, 512).unwrap_err().to_string().contains("256 positions"));
    let prefill = plan("Llama-3.2-1B", &sys, &LlamaOptions::new(Mode::Prefill, 1));
    assert!(plan_llama_prefill_for(&prefill, &sys, 128).is_err());
}

#[test]
fn a_tall_1d_matmul_rejects_a_sharded_weight() {
    use crate::ttnn::MatmulMultiCoreReuseMultiCast1DProgramConfig;
    let sys = SystemProfile::N150;
    let decode = plan("Llama-3.2-1B", &sys, &LlamaOptions { seq_len: 2048, ..decode32() });
    let shared = linears(&decode).find(|o| o.name == "layers.0.mlp.w2").unwrap().memory_configs[&Role::Weight];
    let interleaved =
        plan("Llama-3.2-1B", &sys, &LlamaOptions { seq_len: 2048, ..LlamaOptions::new(Mode::Prefill, 1) });
    let base = linear_config(linears(&interleaved).find(|o| o.name == "layers.0.mlp.w2").unwrap());
    // M = 2048 rows over the 64 cores of the 8x8 grid, all of N on each core.
    let (mt, nt) = (base.mt(), base.nt());
    let (sh, sw) = crate::plan::choose_subblock(1, nt, base.compute_kernel_config.dest_reg_tiles());
    let tall = LinearConfig {
        program_config: MatmulProgramConfig::MultiCast1D(MatmulMultiCoreReuseMultiCast1DProgramConfig {
            compute_with_storage_grid_size: sys.chip.compute_grid,
            in0_block_w: 1,
            out_subblock_h: sh,
            out_subblock_w: sw,
            out_block_h: 1,
            out_block_w: nt,
            per_core_M: mt / 64,
            per_core_N: nt,
            fuse_batch: true,
            fused_activation: None,
            mcast_in0: false,
        }),
        ..base
    };
    check_linear(&tall, &sys.chip).unwrap();
    let v = check_linear(&LinearConfig { weight_memory_config: shared, ..tall }, &sys.chip).unwrap_err();
    assert_eq!(v.rule, Rule::ShardedWeightLayout, "{v}");
}

/// The LM head's output dtype is the policy's: float32 under accuracy (its output CB sized for
/// 4-byte values, and the logits' DRAM write costed at 4 bytes), bfloat16 under performance. The
/// re-check of the planned config with the rule checker accounts the wider output.
#[test]
fn lm_head_outputs_float32_under_accuracy_only() {
    for (mode, batch) in [(Mode::Decode, 1), (Mode::Decode, 32), (Mode::Prefill, 1)] {
        let heads = |policy| {
            let opts = LlamaOptions { policy, seq_len: 128, ..LlamaOptions::new(mode, batch) };
            let p = plan("Llama-3.2-1B", &SystemProfile::N150, &opts);
            p.ops
                .iter()
                .filter(|o| o.kind() == OpKind::Linear && o.name.starts_with("lm_head"))
                .cloned()
                .collect::<Vec<_>>()
        };
        for (policy, want) in [(Policy::Accuracy, DataType::Float32), (Policy::Performance, DataType::Bfloat16)] {
            for op in heads(policy) {
                assert_eq!(op.dtypes[&Role::Output], want, "{mode:?} {batch} {policy:?} {}", op.name);
                let Call::Linear(c) = op.call else { panic!("{} is not a linear", op.name) };
                assert_eq!(c.dtype, want);
                let l1 = check_linear(&c, &SystemProfile::N150.chip).unwrap();
                assert!(op.l1_peak_bytes_per_core >= l1.total(), "{}", op.name);
                if want == DataType::Float32 {
                    // The same config with a bfloat16 output: the output CB is half as big.
                    let narrow = LinearConfig { dtype: DataType::Bfloat16, ..c };
                    let l1_narrow = check_linear(&narrow, &SystemProfile::N150.chip).unwrap();
                    assert_eq!(l1.out_cb, 2 * l1_narrow.out_cb, "{}", op.name);
                    let cost = crate::cost::estimate_linear(&narrow, &SystemProfile::N150.chip);
                    assert!(op.dram_bytes >= cost.dram_bytes, "{}", op.name);
                }
            }
        }
        // Every other matmul keeps bfloat16 outputs under accuracy.
        let opts = LlamaOptions { policy: Policy::Accuracy, seq_len: 128, ..LlamaOptions::new(mode, batch) };
        let p = plan("Llama-3.2-1B", &SystemProfile::N150, &opts);
        assert!(
            p.ops
                .iter()
                .filter(|o| o.kind() == OpKind::Linear && !o.name.starts_with("lm_head"))
                .all(|o| o.dtypes[&Role::Output] == DataType::Bfloat16)
        );
    }
}

/// Qwen2's q/k/v bias is planned as part of the QKV matmul in every mode: a `bias` tensor placed
/// like the weight (one tile row high), its CB in the L1 check and its read in the cost.
#[test]
fn qwen2_plans_the_qkv_bias_fused_into_the_qkv_matmul() {
    let cfg = model("corpus/Qwen2.5-0.5B");
    assert!(cfg.qkv_bias);
    for opts in [
        LlamaOptions::new(Mode::Decode, 1),
        LlamaOptions::new(Mode::Decode, 32),
        LlamaOptions { seq_len: 128, ..LlamaOptions::new(Mode::Prefill, 1) },
    ] {
        let p = plan_llama(&cfg, &SystemProfile::N150, &opts).unwrap();
        for op in linears(&p) {
            let Call::Linear(c) = op.call else { unreachable!() };
            assert_eq!(c.bias, op.name.ends_with("attention.wqkv"), "{}", op.name);
            assert_eq!(op.inputs.len(), if c.bias { 3 } else { 2 }, "{}", op.name);
            if !c.bias {
                continue;
            }
            let bias = &op.inputs[2];
            assert_eq!(
                (&bias.tensor, bias.dtype, bias.memory_config),
                (&TensorRef::Layer(LayerWeight::WqkvBias), c.weight_dtype, c.bias_memory_config())
            );
            if let Some(spec) = bias.memory_config.shard_spec {
                assert_eq!(spec.shape[0], 32, "{}: one tile row per shard", op.name);
            }
            let with = check_linear(&c, &SystemProfile::N150.chip).unwrap();
            let without = check_linear(&LinearConfig { bias: false, ..c }, &SystemProfile::N150.chip).unwrap();
            assert!(with.bias_cb > 0 && without.bias_cb == 0, "{}", op.name);
            let cost = |c: &LinearConfig| crate::cost::estimate_linear(c, &SystemProfile::N150.chip).dram_bytes;
            assert!(cost(&c) > cost(&LinearConfig { bias: false, ..c }), "{}: the bias read is costed", op.name);
        }
    }
}

/// The matmul L1 estimates under the accuracy policy (fp32 dest accumulation) equal what TT-NN
/// 0.81.1 allocates on its mock device (`tools/ttnn-replay`, FINDINGS.md "Accuracy policy"): the
/// figures are TT-NN's CBs plus its L1 shards, per core, from that replay. They cover the reuse
/// factory's separate Float32 intermediate CB and the DRAM-sharded compute width widened to the
/// output subblock (Qwen2.5-0.5B's w1: 13 columns per bank, computed as 16 on n150, 19 as 20 on p150).
#[test]
fn accuracy_matmul_l1_matches_ttnn() {
    let acc =
        |mode, batch, seq_len| LlamaOptions { policy: Policy::Accuracy, seq_len, ..LlamaOptions::new(mode, batch) };
    let cases = [
        ("corpus/Qwen2.5-0.5B", SystemProfile::N150, acc(Mode::Decode, 32, 128), "layers.0.mlp.w1", 450_560),
        ("corpus/Qwen2.5-0.5B", SystemProfile::P150, acc(Mode::Decode, 32, 128), "layers.0.mlp.w1", 618_496),
        ("corpus/Qwen2.5-0.5B", SystemProfile::P150, acc(Mode::Decode, 32, 128), "layers.0.attention.wqkv", 198_656),
        // 2D multicast since the reuse factory's per-M-block weight reads are costed (TT-NN 0.81.1's
        // figures from a replay of this plan, 2026-12-08).
        ("corpus/Qwen2.5-0.5B", SystemProfile::N150, acc(Mode::Prefill, 1, 2048), "layers.0.attention.wo", 884_736),
        ("corpus/Qwen2.5-0.5B", SystemProfile::N150, acc(Mode::Prefill, 1, 2048), "layers.0.mlp.w2", 589_824),
        ("Llama-3.2-1B", SystemProfile::N150, acc(Mode::Decode, 32, 128), "layers.0.mlp.w1", 296_960),
    ];
    for (name, sys, opts, op_name, ttnn) in cases {
        let p = plan(name, &sys, &opts);
        let op = p.ops.iter().find(|o| o.name == op_name).unwrap_or_else(|| panic!("{name}: no {op_name}"));
        assert_eq!(op.l1_peak_bytes_per_core, ttnn, "{name} {} {op_name}", sys.name);
    }
    // The reuse factory these ops ran on before (same shapes, forced): TT-NN's CBs including its
    // separate Float32 intermediate CB under fp32 accumulation (the replay of FINDINGS.md).
    let p = plan("corpus/Qwen2.5-0.5B", &SystemProfile::N150, &acc(Mode::Prefill, 1, 2048));
    for (op_name, in0_block_w, ttnn) in [("layers.0.attention.wo", 7, 1_003_520), ("layers.0.mlp.w2", 8, 1_122_304)] {
        let op = p.ops.iter().find(|o| o.name == op_name).unwrap();
        let Call::Linear(c) = op.call else { panic!("{op_name} is not a linear") };
        let reuse = LinearConfig { program_config: reuse(in0_block_w, 1, 1, 28), ..c };
        assert_eq!(check_linear(&reuse, &SystemProfile::N150.chip).unwrap().total(), ttnn, "{op_name}");
    }
}

/// `MatmulMultiCoreReuseProgramConfig` on the 8×8 grid.
fn reuse(in0_block_w: u32, out_subblock_h: u32, per_core_m: u32, per_core_n: u32) -> MatmulProgramConfig {
    MatmulProgramConfig::Reuse(crate::ttnn::MatmulMultiCoreReuseProgramConfig {
        compute_with_storage_grid_size: crate::ttnn::CoreCoord::new(8, 8),
        in0_block_w,
        out_subblock_h,
        out_subblock_w: 4,
        per_core_M: per_core_m,
        per_core_N: per_core_n,
    })
}

/// TT-NN's reuse factory never reads a bias (`matmul_multicore_reuse_optimized_program_factory.cpp`
/// @ 13adda80), so a fused bias with MatmulMultiCoreReuseProgramConfig would be dropped: the
/// checker refuses it and Qwen2's prefill QKV (which chose it before) plans another config.
#[test]
fn a_fused_bias_never_rides_the_reuse_factory() {
    let cfg = model("corpus/Qwen2.5-0.5B");
    for policy in [Policy::Performance, Policy::Accuracy] {
        for (batch, seq_len) in [(1, 2048), (32, 128)] {
            let opts = LlamaOptions { policy, seq_len, ..LlamaOptions::new(Mode::Prefill, batch) };
            let p = plan_llama(&cfg, &SystemProfile::N150, &opts).unwrap();
            let qkv = p.ops.iter().find(|o| o.name == "layers.0.attention.wqkv").unwrap();
            let Call::Linear(c) = qkv.call else { panic!("wqkv is not a linear") };
            assert!(c.bias);
            assert!(!matches!(c.program_config, MatmulProgramConfig::Reuse(_)), "{policy:?} b{batch} s{seq_len}");
        }
    }
    // The reuse config the b32 prefill `wo` ran on before its weight re-reads were costed is
    // valid without a bias; with one it is refused.
    let opts = LlamaOptions { seq_len: 128, ..LlamaOptions::new(Mode::Prefill, 32) };
    let p = plan_llama(&cfg, &SystemProfile::N150, &opts).unwrap();
    let wo = p.ops.iter().find(|o| o.name == "layers.0.attention.wo").unwrap();
    let Call::Linear(c) = wo.call else { panic!("wo is not a linear") };
    let c = LinearConfig { program_config: reuse(14, 2, 2, 28), ..c };
    assert!(check_linear(&c, &SystemProfile::N150.chip).is_ok());
    let v = check_linear(&LinearConfig { bias: true, ..c }, &SystemProfile::N150.chip).unwrap_err();
    assert!(v.to_string().contains("drops a fused bias"), "{v}");
}

/// Collectives carry TT-NN's arguments: the mesh axis the chips lie along (none on a 2-D mesh
/// reduced as one group), a line on two chips, a ring on T3K and Galaxy, tt-transformers' link
/// counts; the totals add up each chip's ethernet bytes.
#[test]
fn collectives_carry_ttnn_arguments_and_ethernet_totals() {
    use crate::ttnn::CclTopology;
    let cfg = model("Llama-3.1-8B");
    let opts = LlamaOptions::new(Mode::Decode, 32);
    for (system, axis, topology, links) in [
        (SystemProfile::N300, Some(1), CclTopology::Linear, 1),
        (SystemProfile::T3K, Some(1), CclTopology::Ring, 1),
        (SystemProfile::GALAXY, None, CclTopology::Ring, 4),
    ] {
        let p = plan_llama(&cfg, &system, &opts).unwrap();
        let mut reduces = 0;
        for op in &p.ops {
            match op.call {
                Call::AllReduce { cluster_axis, num_links, topology: t, .. } => {
                    assert_eq!((cluster_axis, num_links, t), (axis, links, topology), "{}: {}", system.name, op.name);
                    reduces += 1;
                }
                Call::AllGather { dim, cluster_axis, num_links, topology: t, .. } => {
                    assert_eq!(
                        (dim, cluster_axis, num_links, t),
                        (3, axis, links, topology),
                        "{}: {}",
                        system.name,
                        op.name
                    );
                }
                _ => assert_eq!(op.eth_bytes, 0, "{}", op.name),
            }
        }
        assert_eq!(reduces, 2 * cfg.num_hidden_layers, "{}: after wo and w2 in every layer", system.name);
        let eth: u64 = p.ops.iter().map(|o| o.eth_bytes).sum();
        assert!(eth > 0 && eth == p.totals.ethernet_bytes_per_call, "{}", system.name);
        assert!(p.totals.ethernet_us_per_call > 0.0 && p.totals.ethernet_us_per_call < p.totals.estimate_us);
    }
    let single = plan_llama(&cfg, &SystemProfile::N150, &opts).unwrap();
    assert_eq!((single.totals.ethernet_bytes_per_call, single.totals.ethernet_us_per_call), (0, 0.0));
    assert!(!serde_json::to_string(&single).unwrap().contains("eth"), "one chip: no ethernet fields");
}

/// The interleaved rms_norm's two TT-NN paths: the whole row in the CBs with tt-transformers'
/// ROW_MAJOR gamma while that fits, else the large-tensor kernel with a TILE gamma, whose CBs do
/// not grow with the row (555008 B is what TT-NN 0.81.1 allocates on its mock device at hidden
/// 8192, bf16, through tools/ttnn-replay).
#[test]
fn wide_rms_norm_takes_the_large_tensor_kernel() {
    let wh = SystemProfile::N150.chip.l1_bytes_per_core;
    assert_eq!(cb::rms_norm_default(8192, false), 1_667_072);
    assert_eq!(cb::rms_norm_large(false), 555_008);
    assert_eq!(cb::rms_norm_large(true), 446_464);
    // TT-NN's own fit check: passes for a 2048-wide row, fails for 8192 (so a TILE gamma gets
    // the large-tensor kernel there).
    assert!(cb::rms_norm_whole_row_fits_ttnn(2048, false, wh));
    assert!(!cb::rms_norm_whole_row_fits_ttnn(8192, false, wh));
    assert!(!cb::rms_norm_whole_row_fits_ttnn(8192, true, wh));

    let prefill = |seq_len| LlamaOptions { seq_len, ..LlamaOptions::new(Mode::Prefill, 1) };
    let norm = |p: &LlamaPlan| p.ops.iter().find(|o| o.name == "layers.0.attention_norm").cloned().unwrap();
    // 8B (hidden 4096): the whole row fits; gamma stays ROW_MAJOR [1, 1, 128, 32].
    let small = norm(&plan("Llama-3.1-8B", &SystemProfile::N150, &prefill(128)));
    assert_eq!(small.shapes.tensors[&Role::Weight], [1, 1, 128, 32]);
    assert_eq!(small.l1_peak_bytes_per_core, cb::rms_norm_default(4096, false));
    // 70B (hidden 8192) on T3K and on one n150: the large-tensor kernel with a TILE gamma.
    for (system, budget) in [(SystemProfile::T3K, None), (SystemProfile::N150, Some(400 << 30))] {
        for seq in [128, 1024] {
            let opts = LlamaOptions { memory_budget: budget, ..prefill(seq) };
            let wide = norm(&plan("Llama-3.1-70B", &system, &opts));
            assert_eq!(wide.shapes.tensors[&Role::Weight], [1, 1, 32, 8192], "{} {seq}", system.name);
            assert_eq!(wide.l1_peak_bytes_per_core, cb::rms_norm_large(false), "{} {seq}", system.name);
        }
    }
}

#[test]
fn l1_refusals_name_the_system_of_a_multi_chip_chip() {
    let ctx = |system: &'static SystemProfile| ops::Ctx {
        device: &system.chip,
        system: system.name,
        mode: Mode::Prefill,
        policy: Policy::Performance,
    };
    assert_eq!(ctx(&SystemProfile::T3K).chip_name(), "the n300 chip of t3k");
    assert_eq!(ctx(&SystemProfile::N150).chip_name(), "n150");
}
