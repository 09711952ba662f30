//! Independent references for the Llama-family architectures other than Llama: deterministic
//! random Hugging Face checkpoints of a Qwen2 or Mistral `config.json`, and candle-transformers'
//! own implementations of those families (`models::qwen2`, `models::mistral`) run on them.
//!
//! Nothing here uses tttv2. Weights come from [`super::llama_ref::synthetic_tensor`] (the same
//! splitmix64 streams, by tensor name) except Qwen2's q/k/v biases, which are `0.5·u` with `u`
//! uniform in [-1, 1): large enough that dropping or misplacing one changes the logits clearly.

use std::path::Path;

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;

use super::llama_ref::{LazyTensor, TinyLlamaSpec, synthetic_tensor};

/// Which candle-transformers model reads the checkpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// `Qwen2ForCausalLM`: Llama with a bias on q/k/v.
    Qwen2,
    /// `MistralForCausalLM`: Llama with an optional sliding window.
    Mistral,
}

/// The spec (shapes) of a committed `config.json` of `family`.
pub fn spec_of(config: &serde_json::Value) -> TinyLlamaSpec {
    let u = |k: &str| config[k].as_u64().unwrap_or_else(|| panic!("config field {k}")) as usize;
    let (hidden, heads) = (u("hidden_size"), u("num_attention_heads"));
    TinyLlamaSpec {
        hidden,
        intermediate: u("intermediate_size"),
        heads,
        kv_heads: u("num_key_value_heads"),
        head_dim: config["head_dim"].as_u64().map_or(hidden / heads, |d| d as usize),
        layers: u("num_hidden_layers"),
        vocab: u("vocab_size"),
        rms_norm_eps: config["rms_norm_eps"].as_f64().unwrap(),
        rope_theta: config["rope_theta"].as_f64().unwrap(),
        tie_word_embeddings: config["tie_word_embeddings"].as_bool().unwrap_or(false),
        max_position_embeddings: u("max_position_embeddings"),
    }
}

/// Every tensor of the family's checkpoint, by Hugging Face name, with its shape.
pub fn tensor_shapes(family: Family, spec: &TinyLlamaSpec) -> Vec<(String, Vec<usize>)> {
    let mut out = spec.tensor_shapes();
    if family == Family::Qwen2 {
        let (q, kv) = (spec.heads * spec.head_dim, spec.kv_heads * spec.head_dim);
        for l in 0..spec.layers {
            for (p, n) in [("q_proj", q), ("k_proj", kv), ("v_proj", kv)] {
                out.push((format!("model.layers.{l}.self_attn.{p}.bias"), vec![n]));
            }
        }
    }
    out
}

/// The values of one tensor (see the module docs).
pub fn family_tensor(seed: u64, name: &str, shape: &[usize]) -> Vec<f32> {
    if name.ends_with(".bias") {
        // 1 + 0.1·u from the norm stream, mapped to 0.5·u.
        synthetic_tensor(seed, name, shape).into_iter().map(|v| (v - 1.0) * 5.0).collect()
    } else {
        synthetic_tensor(seed, name, shape)
    }
}

/// Writes `dir/config.json` (a copy of `config_path`) and `dir/model.safetensors` (F32, Hugging
/// Face names) with weights that are a pure function of `seed`.
pub fn write_checkpoint(dir: &Path, family: Family, config_path: &str, seed: u64) -> std::io::Result<TinyLlamaSpec> {
    let text = std::fs::read_to_string(config_path)?;
    let config: serde_json::Value = serde_json::from_str(&text).map_err(std::io::Error::other)?;
    let spec = spec_of(&config);
    std::fs::create_dir_all(dir)?;
    std::fs::write(dir.join("config.json"), &text)?;
    let tensors = tensor_shapes(family, &spec)
        .into_iter()
        .map(|(name, shape)| (name.clone(), LazyTensor { seed, name, shape, values: family_tensor }));
    safetensors::serialize_to_file(tensors, None, &dir.join("model.safetensors")).map_err(std::io::Error::other)?;
    Ok(spec)
}

enum Model {
    Qwen2(candle_transformers::models::qwen2::ModelForCausalLM),
    Mistral(candle_transformers::models::mistral::Model),
}

/// candle-transformers' model of `family` on the checkpoint in `dir`, CPU, F32.
pub struct CandleFamily {
    model: Model,
    device: Device,
}

impl CandleFamily {
    /// Loads `dir/config.json` and `dir/model.safetensors`.
    pub fn load(dir: &Path, family: Family) -> candle_core::Result<Self> {
        let text = std::fs::read_to_string(dir.join("config.json"))?;
        let device = Device::Cpu;
        // SAFETY: the checkpoint is not written while it is mapped; candle copies what it keeps.
        let vb = unsafe { VarBuilder::from_mmaped_safetensors(&[dir.join("model.safetensors")], DType::F32, &device)? };
        let bad = |e: serde_json::Error| candle_core::Error::Msg(format!("config.json: {e}"));
        let model = match family {
            Family::Qwen2 => {
                let cfg: candle_transformers::models::qwen2::Config = serde_json::from_str(&text).map_err(bad)?;
                Model::Qwen2(candle_transformers::models::qwen2::ModelForCausalLM::new(&cfg, vb)?)
            }
            Family::Mistral => {
                let cfg: candle_transformers::models::mistral::Config = serde_json::from_str(&text).map_err(bad)?;
                Model::Mistral(candle_transformers::models::mistral::Model::new(&cfg, vb)?)
            }
        };
        Ok(Self { model, device })
    }

    /// Runs `tokens` at positions `offset..` (appending to candle's KV cache); the last token's
    /// logits.
    pub fn forward(&mut self, tokens: &[u32], offset: usize) -> candle_core::Result<Vec<f32>> {
        let input = Tensor::new(tokens, &self.device)?.unsqueeze(0)?;
        let logits = match &mut self.model {
            Model::Qwen2(m) => m.forward(&input, offset)?,
            Model::Mistral(m) => m.forward(&input, offset)?,
        };
        logits.flatten_all()?.to_vec1::<f32>()
    }
}

/// Teacher forcing: the logits after the prompt, then after each token of `continuation`.
pub fn candle_forced_logits(dir: &Path, family: Family, prompt: &[u32], continuation: &[u32]) -> Vec<Vec<f32>> {
    let run = || -> candle_core::Result<Vec<Vec<f32>>> {
        let mut m = CandleFamily::load(dir, family)?;
        let mut out = vec![m.forward(prompt, 0)?];
        for (k, &t) in continuation.iter().enumerate() {
            out.push(m.forward(&[t], prompt.len() + k)?);
        }
        Ok(out)
    };
    run().unwrap_or_else(|e| panic!("candle {family:?} reference failed: {e}"))
}
