//! Llama-family decoders declared both ways plan at compile time and carry their manifest.

use tttv2::ttt_model;

/// A 2-layer Llama declared field by field.
#[ttt_model(device = "wormhole_b0", mode = "decode", batch = 8, seq_len = 256)]
pub struct TinyLlama {
    #[embedding(vocab = 4096, dim = 512)]
    embed_tokens: Embedding,
    #[decoder(
        repeat = 2,
        eps = 1e-5,
        attention(heads = 8, kv_heads = 2, head_dim = 64, rope_theta = 10000.0),
        mlp(intermediate = 1536, activation = "silu")
    )]
    layers: Decoder,
    #[rms_norm(dim = 512, eps = 1e-5)]
    norm: RmsNorm,
    #[lm_head(vocab = 4096, tied = false)]
    lm_head: LmHead,
}

/// Llama-3.2-1B from its Hugging Face config.
#[ttt_model(
    device = "wormhole_b0",
    config = "models/Llama-3.2-1B/config.json",
    mode = "decode",
    batch = 32,
    seq_len = 2048
)]
pub struct Llama32_1B;

/// The same model prefilled over a range of prompt lengths.
#[ttt_model(device = "wormhole_b0", config = "models/Llama-3.2-1B/config.json", mode = "prefill", batch = 1, seq_len = 128..=1024)]
pub struct Llama32_1BPrefill;

#[test]
fn attribute_form_plans_every_op_of_both_layers() {
    let m = TinyLlama::manifest();
    assert_eq!(m["name"], "TinyLlama");
    assert_eq!(m["tt_metal_commit"], tttv2::ttnn::TT_METAL_COMMIT);
    let ops = m["ops"].as_array().unwrap();
    for layer in 0..2 {
        let prefix = format!("model.layers.{layer}.");
        assert!(
            ops.iter().any(|o| o["weights"]
                .as_array()
                .unwrap()
                .iter()
                .any(|w| w.as_str().unwrap().starts_with(&prefix))),
            "layer {layer} has ops"
        );
    }
    assert!(
        !ops.iter().any(|o| o["weights"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w.as_str().unwrap().starts_with("model.layers.2.")))
    );
    assert!(m["requirements"]["latency_us"].as_f64().unwrap() > 0.0);
    assert_eq!(m["fingerprint"].as_str().unwrap().len(), 16);
}

#[test]
fn config_form_matches_the_hugging_face_model() {
    let m = Llama32_1B::manifest();
    assert_eq!(m["model"]["num_hidden_layers"], 16);
    assert_eq!(m["model"]["hidden_size"], 2048);
    let ops = m["ops"].as_array().unwrap();
    let q = ops
        .iter()
        .find(|o| o["weights"].as_array().unwrap().iter().any(|w| w == "model.layers.0.self_attn.q_proj.weight"))
        .expect("the QKV matmul consumes q_proj");
    // Decode with <= 32 users: DRAM-sharded GEMV.
    assert_eq!(q["program_config"]["type"], "MatmulMultiCoreReuseMultiCastDRAMShardedProgramConfig");
    let r = &m["requirements"];
    assert!(r["dram"]["weights"].as_u64().unwrap() > 1_000_000_000, "1.2B parameters in block floats");
    assert!(r["dram"]["kv_cache"].as_u64().unwrap() > 0);
}

#[test]
fn prefill_range_states_each_bucket() {
    let m = Llama32_1BPrefill::manifest();
    let buckets: Vec<u64> =
        m["requirements"]["prefill_buckets_us"].as_array().unwrap().iter().map(|b| b[0].as_u64().unwrap()).collect();
    assert_eq!(buckets, [128, 256, 512, 1024]);
    let times: Vec<f64> =
        m["requirements"]["prefill_buckets_us"].as_array().unwrap().iter().map(|b| b[1].as_f64().unwrap()).collect();
    assert!(times.windows(2).all(|w| w[0] < w[1]), "longer prompts take longer: {times:?}");
}

#[test]
fn manifests_are_deterministic() {
    assert_eq!(TinyLlama::manifest(), TinyLlama::manifest());
    assert_eq!(tiny_llama_plan::MANIFEST_JSON, tiny_llama_plan::MANIFEST_JSON.to_string());
}

#[test]
fn graph_has_every_op_and_the_residual_stream() {
    let g = TinyLlama::graph();
    let m = TinyLlama::manifest();
    assert_eq!(g["nodes"].as_array().unwrap().len(), m["ops"].as_array().unwrap().len());
    let residual = g["edges"].as_array().unwrap().iter().filter(|e| e["kind"] == "residual").count();
    assert_eq!(residual, 4, "two residual adds per decoder layer, two layers");
    assert!(tiny_llama_plan::GRAPH_DOT.starts_with("digraph \"TinyLlama\" {"));
    assert!(tiny_llama_plan::GRAPH_DOT.contains("MatmulMultiCoreReuseMultiCastDRAMShardedProgramConfig"));
}

/// Synthetic weights for the 2-layer `TinyLlama`, by Hugging Face name.
fn tiny_weights() -> tttv2::nn::Weights {
    use tttv2::nn::synthetic;
    let (h, i, v, q, kv) = (512usize, 1536usize, 4096usize, 512usize, 128usize);
    let mut w = tttv2::nn::Weights::new();
    let mut seed = 1u64;
    let mut put = |name: String, shape: Vec<usize>, scale: f32| {
        seed += 1;
        let n = shape.iter().product();
        w.insert(name, shape, synthetic(n, seed, scale));
    };
    put("model.embed_tokens.weight".into(), vec![v, h], 1.0);
    put("lm_head.weight".into(), vec![v, h], (3.0 / h as f32).sqrt());
    for l in 0..2 {
        let p = |s: &str| format!("model.layers.{l}.{s}");
        for (name, out, inp) in [
            ("self_attn.q_proj", q, h),
            ("self_attn.k_proj", kv, h),
            ("self_attn.v_proj", kv, h),
            ("self_attn.o_proj", h, q),
            ("mlp.gate_proj", i, h),
            ("mlp.up_proj", i, h),
            ("mlp.down_proj", h, i),
        ] {
            put(p(&format!("{name}.weight")), vec![out, inp], (3.0 / inp as f32).sqrt());
        }
    }
    for l in 0..2 {
        w.insert(format!("model.layers.{l}.input_layernorm.weight"), vec![h], vec![1.0; h]);
        w.insert(format!("model.layers.{l}.post_attention_layernorm.weight"), vec![h], vec![1.0; h]);
    }
    w.insert("model.norm.weight", vec![h], vec![1.0; h]);
    w
}

/// The attribute-declared 2-layer model runs on the host through its generated methods: a decode
/// step through the KV cache gives the logits a prefill of the longer prompt gives (decoding at a
/// wrong position gives PCC ≈ 0.91, so the bar below can fail).
#[test]
fn attribute_form_runs_prefill_and_decode_on_the_host() {
    let device = tttv2::Device::open(&tiny_llama_plan::DEVICE).unwrap();
    let mut model = TinyLlama::load(&device, &tiny_weights()).unwrap();
    assert_eq!((tiny_llama_plan::BATCH, tiny_llama_plan::MAX_SEQ_LEN), (8, 256));
    let prompt: Vec<u32> = (0..20).map(|t| (t * 131 + 7) % 4096).collect();
    let first = model.prefill(&device, 0, &prompt).unwrap();
    let next = first.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1)).unwrap().0 as u32;
    let stepped = model.decode(&device, &[next], &[prompt.len() as u32]).unwrap().remove(0);
    let mut longer = prompt.clone();
    longer.push(next);
    let whole = model.prefill(&device, 1, &longer).unwrap();
    assert_eq!(stepped.len(), 4096);
    let mean = |x: &[f32]| x.iter().map(|&v| v as f64).sum::<f64>() / x.len() as f64;
    let (ma, mb) = (mean(&stepped), mean(&whole));
    let cov: f64 = stepped.iter().zip(&whole).map(|(&a, &b)| (a as f64 - ma) * (b as f64 - mb)).sum();
    let var = |x: &[f32], m: f64| x.iter().map(|&v| (v as f64 - m).powi(2)).sum::<f64>();
    let pcc = cov / (var(&stepped, ma) * var(&whole, mb)).sqrt();
    assert!(pcc > 0.99, "decode vs prefill logits PCC {pcc}");
}

/// The plan the macro made for `TinyLlama`, made again through the planner's API; its manifest
/// fingerprint must equal the compiled one, so the trace test below compares against the plan
/// that was actually compiled in.
fn tiny_plans() -> (tttv2::plan::llama::LlamaPlan, tttv2::plan::llama::LlamaPlan) {
    use tttv2::device::SystemProfile;
    use tttv2::plan::llama::{LlamaOptions, plan_llama, plan_llama_prefill_for};
    use tttv2::plan::{Mode, Policy};
    let cfg = tttv2::hf::LlamaConfig::from_json_str(
        r#"{"architectures":["LlamaForCausalLM"],"hidden_size":512,"intermediate_size":1536,"num_attention_heads":8,
            "num_key_value_heads":2,"head_dim":64,"num_hidden_layers":2,"vocab_size":4096,"rms_norm_eps":1e-5,
            "rope_theta":10000.0,"tie_word_embeddings":false,"max_position_embeddings":131072}"#,
    )
    .unwrap();
    let opts = LlamaOptions { seq_len: 256, policy: Policy::Performance, ..LlamaOptions::new(Mode::Decode, 8) };
    let decode = plan_llama(&cfg, &SystemProfile::N150, &opts).unwrap();
    let fp = tttv2::manifest::Manifest::new("TinyLlama", &decode, Vec::new()).fingerprint;
    assert_eq!(TinyLlama::manifest()["fingerprint"], fp.as_str(), "the test re-plans what the macro compiled");
    let prefill = plan_llama_prefill_for(&decode, &SystemProfile::N150, 128).unwrap();
    (decode, prefill)
}

/// What runs is what was planned: the op trace of a prefill and of a decode step of the generated
/// program equals the plan's op list, call for call (op, every config value, and the dtype and
/// memory config of every tensor argument).
#[test]
fn the_generated_program_runs_exactly_the_planned_ops() {
    let (decode_plan, prefill_plan) = tiny_plans();
    let device = tttv2::Device::open(&tiny_llama_plan::DEVICE).unwrap();
    let mut model = TinyLlama::load(&device, &tiny_weights()).unwrap();
    let prompt: Vec<u32> = (0..100).map(|t| (t * 131 + 7) % 4096).collect();

    tttv2::trace::start();
    model.prefill(&device, 2, &prompt).unwrap();
    let ran = tttv2::trace::take();
    let want = prefill_plan.op_trace();
    tttv2::nn::trace::compare(&want, &ran).unwrap_or_else(|e| panic!("prefill: {e}"));
    assert_eq!(ran.len(), prefill_plan.totals.ops);

    tttv2::trace::start();
    model.decode(&device, &[5, 6, 7], &[100, 3, 9]).unwrap();
    let ran = tttv2::trace::take();
    let want = decode_plan.op_trace();
    tttv2::nn::trace::compare(&want, &ran).unwrap_or_else(|e| panic!("decode: {e}"));
    // The comparison can fail: a plan for another batch differs in its configs.
    let other = tttv2::plan::llama::plan_llama(
        &decode_plan.model,
        &tttv2::device::SystemProfile::N150,
        &tttv2::plan::llama::LlamaOptions { batch: 4, ..decode_plan.options.clone() },
    )
    .unwrap();
    assert!(tttv2::nn::trace::compare(&other.op_trace(), &ran).is_err());
    eprintln!("prefill: {} calls, decode: {} calls, each as planned", prefill_plan.totals.ops, decode_plan.totals.ops);
}
