//! The corpus of bad inputs in tests/bad_inputs (written by scripts/make_bad_inputs.py): every
//! file gives an error that names the file, tensor or field and says what was expected and what
//! was found; none panics.

use std::path::{Path, PathBuf};

use tttv2::Device;
use tttv2::hf::LlamaConfig;
use tttv2::nn::{SafetensorsWeights, WeightSource};
use tttv2::ttt_model;

#[ttt_model(device = "wormhole_b0", batch = 32)]
struct Proj {
    #[linear(in = 32, out = 32, bias = true)]
    proj: Linear,
}

fn bad(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/bad_inputs").join(name)
}

/// Opening the file fails; the error names it.
fn open_err(name: &str) -> String {
    let path = bad(name);
    let err = SafetensorsWeights::open(&path).err().unwrap_or_else(|| panic!("{name} opened")).to_string();
    assert!(err.starts_with(&format!("weight `{}`: ", path.display())), "{err}");
    err
}

/// The file opens; loading `Proj` from it fails.
fn load_err(name: &str) -> String {
    let device = Device::open(&proj_plan::DEVICE).unwrap();
    let w = SafetensorsWeights::open(bad(name)).unwrap();
    Proj::load(&device, &w).err().unwrap_or_else(|| panic!("{name} loaded")).to_string()
}

#[test]
fn corrupt_safetensors_name_the_file_and_the_defect() {
    let cases = [
        (
            "st_empty.safetensors",
            "not a valid safetensors file: the file is 0 bytes; expected at least the 8-byte header length",
        ),
        (
            "st_header_past_eof.safetensors",
            "not a valid safetensors file: the header length is 4096 bytes but only 60 follow it: truncated or corrupt",
        ),
        (
            "st_bad_json.safetensors",
            "not a valid safetensors file: invalid JSON in header: EOF while parsing a value at line 1 column 16",
        ),
        (
            "st_offsets_out_of_range.safetensors",
            "not a valid safetensors file: tensor `proj.bias`: data_offsets [0, 128] run past the 100 data bytes: truncated or corrupt",
        ),
        (
            "st_overlapping.safetensors",
            "not a valid safetensors file: tensor `proj.scale`: data_offsets [120, 136] overlap the previous tensor, which ends at 128",
        ),
        (
            "st_shape_vs_bytes.safetensors",
            "not a valid safetensors file: tensor `proj.bias`: its dtype and shape need 132 bytes but data_offsets [0, 128] span 128",
        ),
        (
            "st_truncated.safetensors",
            "not a valid safetensors file: tensor `proj.bias`: data_offsets [4096, 4224] run past the 4184 data bytes: truncated or corrupt",
        ),
    ];
    for (file, message) in cases {
        let err = open_err(file);
        assert_eq!(err, format!("weight `{}`: {message}", bad(file).display()), "{file}");
    }
}

#[test]
fn bad_tensors_name_the_tensor_the_file_and_both_values() {
    let path = |f: &str| bad(f).display().to_string();
    // A dtype that is not a float.
    let err = SafetensorsWeights::open(bad("st_i64_weight.safetensors")).unwrap().weight("proj.weight").unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "weight `proj.weight`: {}: has dtype I64; expected F32, F16 or BF16",
            path("st_i64_weight.safetensors")
        )
    );
    // NaN and infinity: an error naming the tensor with the counts, unless allowed.
    let file = "st_nan_weight.safetensors";
    let err = SafetensorsWeights::open(bad(file)).unwrap().weight("proj.weight").unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "weight `proj.weight`: {}: 2 NaN and 1 infinite values of 1024 (first at index 3); expected finite weights (allow_non_finite(true) loads them anyway)",
            path(file)
        )
    );
    let allowed = SafetensorsWeights::open(bad(file)).unwrap().allow_non_finite(true);
    assert!(allowed.weight("proj.weight").unwrap().data[3].is_nan());
    // Through the model's load: the shape it was compiled for, and a missing tensor.
    assert_eq!(
        load_err("st_wrong_shape.safetensors"),
        "weight `proj.weight`: expected shape [32, 32] ([out, in]) but found [16, 64]"
    );
    assert_eq!(
        load_err("st_missing_bias.safetensors"),
        format!("weight `proj.bias`: not found in the checkpoint {} (1 tensors)", path("st_missing_bias.safetensors"))
    );
    assert!(load_err(file).starts_with("weight `proj.weight`: "));
}

#[test]
fn bad_configs_name_the_file_and_the_field() {
    let parse = |f: &str| {
        let path = bad(f);
        LlamaConfig::parse(&std::fs::read_to_string(&path).unwrap(), &path).unwrap_err().to_string()
    };
    let p = |f: &str| bad(f).display().to_string();
    assert!(
        parse("config_bad_json.json").starts_with(&format!("{}:1:59: invalid JSON", p("config_bad_json.json"))),
        "{}",
        parse("config_bad_json.json")
    );
    assert_eq!(
        parse("config_missing_field.json"),
        format!("{}: missing field `hidden_size`", p("config_missing_field.json"))
    );
    let err = parse("config_wrong_type.json");
    assert!(err.starts_with(&format!("{}: field `hidden_size`: expected", p("config_wrong_type.json"))), "{err}");
    assert!(err.contains("\"thirty-two\""), "{err}");
}

#[cfg(feature = "gguf")]
mod gguf {
    use super::*;
    use tttv2::nn::GgufWeights;

    fn open_err(name: &str) -> String {
        let path = bad(name);
        let err = GgufWeights::open(&path).err().unwrap_or_else(|| panic!("{name} opened")).to_string();
        let prefix = format!("weight `{}`: ", path.display());
        assert!(err.starts_with(&prefix), "{err}");
        err[prefix.len()..].to_owned()
    }

    fn tiny_config(layers: u32) -> LlamaConfig {
        let text = format!(
            r#"{{"architectures": ["LlamaForCausalLM"], "hidden_size": 32, "intermediate_size": 32, "num_attention_heads": 2,
                "num_key_value_heads": 1, "num_hidden_layers": {layers}, "vocab_size": 8, "rms_norm_eps": 1e-5,
                "max_position_embeddings": 128, "tie_word_embeddings": true}}"#
        );
        LlamaConfig::parse(&text, Path::new("tiny/config.json")).unwrap()
    }

    #[test]
    fn corrupt_gguf_files_name_the_file_and_the_defect() {
        // The file the corrupt ones are made from is fine.
        let ok = GgufWeights::open(bad("gguf_tiny_ok.gguf")).unwrap();
        ok.check_config(&tiny_config(1)).unwrap();
        assert_eq!(ok.weight("model.norm.weight").unwrap().data.len(), 32);

        assert_eq!(
            open_err("not_gguf.gguf"),
            "not a GGUF file: expected the magic \"GGUF\" at offset 0, found [47, 47, 4d, 4c]"
        );
        assert_eq!(
            open_err("gguf_truncated_data.gguf"),
            "tensor `output_norm.weight`: 128 bytes of data at offset 480 run past the end of the file (544 bytes): truncated or corrupt"
        );
        assert!(open_err("gguf_truncated_header.gguf").starts_with("corrupt or truncated GGUF: "));
        assert_eq!(
            open_err("gguf_q8_1.gguf"),
            "tensor `output_norm.weight`: has ggml type Q8_1; expected one of [\"F32\", \"F16\", \"BF16\", \"Q4_0\", \"Q4_1\", \"Q5_0\", \"Q5_1\", \"Q8_0\", \"Q2_K\", \"Q3_K\", \"Q4_K\", \"Q5_K\", \"Q6_K\"]"
        );
        assert_eq!(open_err("gguf_unknown_type.gguf"), "corrupt or truncated GGUF: unknown dtype for tensor 99");
        // Found by fuzzing (fuzz/README.md): an empty tensor made candle view a dangling pointer
        // as f32 blocks.
        // Also found by fuzzing: a shape whose byte size overflows u64.
        let err = open_err("gguf_fuzz_size_overflow.gguf");
        assert!(
            err.starts_with("tensor `")
                && err.ends_with("run past the end of the file (12448 bytes): truncated or corrupt"),
            "{err}"
        );
        let err = open_err("gguf_fuzz_empty_tensor.gguf");
        assert!(err.starts_with("tensor `") && err.ends_with("holds no values; expected a non-empty tensor"), "{err}");
        assert_eq!(
            open_err("gguf_zero_alignment.gguf"),
            "corrupt GGUF: metadata `general.alignment` is 0; expected a positive alignment"
        );
        assert_eq!(
            open_err("gguf_gpt2.gguf"),
            "metadata `general.architecture` = \"gpt2\": expected one of [\"llama\", \"qwen2\"] (the Llama-family layouts tttv2 plans)"
        );
    }

    #[test]
    fn gguf_tensors_and_metadata_that_do_not_fit_name_them() {
        let path = |f: &str| bad(f).display().to_string();
        let w = GgufWeights::open(bad("gguf_nan.gguf")).unwrap();
        assert_eq!(
            w.weight("model.norm.weight").unwrap_err().to_string(),
            format!(
                "weight `model.norm.weight`: {}: 2 NaN and 1 infinite values of 32 (first at index 1); expected finite weights (allow_non_finite(true) loads them anyway)",
                path("gguf_nan.gguf")
            )
        );
        let w = GgufWeights::open(bad("gguf_two_blocks.gguf")).unwrap();
        assert_eq!(
            w.check_config(&tiny_config(1)).unwrap_err().to_string(),
            format!(
                "weight `{}`: metadata `llama.block_count` = 2 but the model was compiled with num_hidden_layers = 1",
                path("gguf_two_blocks.gguf")
            )
        );
        let err = w.weight("model.layers.0.self_attn.q_proj.weight").unwrap_err().to_string();
        assert_eq!(
            err,
            format!(
                "weight `model.layers.0.self_attn.q_proj.weight`: {}: not found (looked for GGUF tensor `blk.0.attn_q.weight` among 1 tensors)",
                path("gguf_two_blocks.gguf")
            )
        );
        let err = w.weight("lm_head.weight").unwrap_err().to_string();
        assert!(
            err.contains("ties the LM head to `token_embd.weight`: compile the model with tie_word_embeddings = true"),
            "{err}"
        );
    }
}

/// A sharded checkpoint whose shards both hold a tensor: which copy is meant is unknowable.
#[test]
fn a_tensor_in_two_shards_names_both_files() {
    let dir = std::env::temp_dir().join(format!("tttv2-bad-shards-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bias = bad("st_missing_bias.safetensors");
    for shard in ["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"] {
        std::fs::copy(&bias, dir.join(shard)).unwrap();
    }
    std::fs::write(
        dir.join("model.safetensors.index.json"),
        r#"{"weight_map": {"proj.weight": "model-00001-of-00002.safetensors", "proj.bias": "model-00002-of-00002.safetensors"}}"#,
    )
    .unwrap();
    let err = SafetensorsWeights::open(&dir).err().unwrap().to_string();
    let (a, b) = (dir.join("model-00001-of-00002.safetensors"), dir.join("model-00002-of-00002.safetensors"));
    assert_eq!(
        err,
        format!(
            "weight `proj.weight`: found in both {} and {}; expected each tensor in one shard",
            a.display(),
            b.display()
        )
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
