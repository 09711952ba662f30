//! GGUF reader: the bytes are written to a file and opened; every tensor is dequantized by its
//! GGUF name, the Llama tensors are asked for by Hugging Face name (q/k un-permutation) and the
//! metadata is checked against a config. Any input gives weights or an error, never a panic.
#![no_main]

use std::path::Path;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use tttv2::hf::LlamaConfig;
use tttv2::nn::{GgufWeights, WeightSource};

fn config() -> &'static LlamaConfig {
    static CFG: OnceLock<LlamaConfig> = OnceLock::new();
    CFG.get_or_init(|| {
        LlamaConfig::parse(
            r#"{"architectures": ["LlamaForCausalLM"], "hidden_size": 32, "intermediate_size": 32, "num_attention_heads": 2,
                "num_key_value_heads": 1, "head_dim": 8, "num_hidden_layers": 1, "vocab_size": 8, "rms_norm_eps": 1e-5,
                "rope_theta": 10000.0, "max_position_embeddings": 128}"#,
            Path::new("fuzz/config.json"),
        )
        .unwrap()
    })
}

const HF_NAMES: &[&str] = &[
    "model.embed_tokens.weight",
    "model.norm.weight",
    "lm_head.weight",
    "model.layers.0.input_layernorm.weight",
    "model.layers.0.self_attn.q_proj.weight",
    "model.layers.0.self_attn.k_proj.weight",
    "model.layers.0.self_attn.q_proj.bias",
    "model.layers.0.self_attn.k_proj.bias",
    "model.layers.0.self_attn.v_proj.weight",
    "model.layers.0.mlp.down_proj.weight",
];

fuzz_target!(|data: &[u8]| {
    let path = std::env::temp_dir().join(format!("tttv2-fuzz-{}.gguf", std::process::id()));
    std::fs::write(&path, data).unwrap();
    if let Ok(w) = GgufWeights::open(&path) {
        let names: Vec<String> = w.gguf_names().into_iter().map(str::to_owned).collect();
        for name in names {
            let _ = w.read_gguf(&name);
        }
        for name in HF_NAMES {
            let _ = w.weight(name);
        }
        let _ = w.check_config(config());
    }
});
