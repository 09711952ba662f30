//! Llama-family decoders declared both ways plan at compile time and carry their manifest.

use tttv2::ttt_model;

/// A 2-layer Llama declared field by field.
#[ttt_model(device = "wormhole_b0", mode = "decode", batch = 8, seq_len = 256)]
pub struct TinyLlama {
    #[embedding(vocab = 4096, dim = 512)]
    embed_tokens: Embedding,
    #[decoder(repeat = 2, eps = 1e-5,
              attention(heads = 8, kv_heads = 2, head_dim = 64, rope_theta = 10000.0),
              mlp(intermediate = 1536, activation = "silu"))]
    layers: Decoder,
    #[rms_norm(dim = 512, eps = 1e-5)]
    norm: RmsNorm,
    #[lm_head(vocab = 4096, tied = false)]
    lm_head: LmHead,
}

/// Llama-3.2-1B from its Hugging Face config.
#[ttt_model(device = "wormhole_b0", config = "models/Llama-3.2-1B/config.json", mode = "decode", batch = 32, seq_len = 2048)]
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
            ops.iter().any(|o| o["weights"].as_array().unwrap().iter().any(|w| w.as_str().unwrap().starts_with(&prefix))),
            "layer {layer} has ops"
        );
    }
    assert!(!ops.iter().any(|o| o["weights"].as_array().unwrap().iter().any(|w| w.as_str().unwrap().starts_with("model.layers.2."))));
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
    let buckets: Vec<u64> = m["requirements"]["prefill_buckets_us"].as_array().unwrap().iter().map(|b| b[0].as_u64().unwrap()).collect();
    assert_eq!(buckets, [128, 256, 512, 1024]);
    let times: Vec<f64> = m["requirements"]["prefill_buckets_us"].as_array().unwrap().iter().map(|b| b[1].as_f64().unwrap()).collect();
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
