//! `config.json` exactly as transformers writes it (4.x and 5.x), read with serde derive.
//!
//! Every field here is optional: which fields are required, what the defaults are and which
//! values tttv2 rejects is decided in [`super::llama`], where errors can name the field.
//! Fields not listed here are accepted and ignored (they do not change numerics: e.g.
//! `initializer_range`, `attention_dropout`, `use_cache`, `pretraining_tp` — which transformers
//! only uses to split matmuls in training — `transformers_version`, `_name_or_path`).

use serde::Deserialize;

/// A token id field: transformers writes an integer or a list of integers (`eos_token_id` of
/// Llama-3.1-Instruct is `[128001, 128008, 128009]`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum TokenIds {
    /// One id.
    One(u32),
    /// Several ids.
    Many(Vec<u32>),
}

impl TokenIds {
    /// The ids as a list.
    pub fn to_vec(&self) -> Vec<u32> {
        match self {
            TokenIds::One(i) => vec![*i],
            TokenIds::Many(v) => v.clone(),
        }
    }
}

/// `rope_scaling` (transformers 4.x) or `rope_parameters` (transformers 5.x): the union of the
/// keys of every rope type (`modeling_rope_utils.py`, `ROPE_INIT_FUNCTIONS`).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct HfRope {
    /// `default`, `linear`, `dynamic`, `yarn`, `longrope`, `llama3`, ...
    pub rope_type: Option<String>,
    /// The pre-4.42 spelling of `rope_type` (`{"type": "linear", "factor": 2.0}`).
    #[serde(rename = "type")]
    pub legacy_type: Option<String>,
    /// transformers 5 keeps the RoPE base here.
    pub rope_theta: Option<f64>,
    /// Scaling factor (linear, dynamic, yarn, llama3, longrope).
    pub factor: Option<f64>,
    /// llama3.
    pub low_freq_factor: Option<f64>,
    /// llama3.
    pub high_freq_factor: Option<f64>,
    /// llama3, yarn, longrope, dynamic (transformers 5).
    pub original_max_position_embeddings: Option<u32>,
    /// yarn, longrope: scale applied to cos/sin.
    pub attention_factor: Option<f64>,
    /// yarn.
    pub beta_fast: Option<f64>,
    /// yarn.
    pub beta_slow: Option<f64>,
    /// yarn (DeepSeek variants).
    pub mscale: Option<f64>,
    /// yarn (DeepSeek variants).
    pub mscale_all_dim: Option<f64>,
    /// transformers 5 may keep `partial_rotary_factor` here.
    pub partial_rotary_factor: Option<f64>,
}

/// The `config.json` of a Llama-family causal LM, every field transformers 4.x / 5.x may write
/// for `LlamaForCausalLM`, `MistralForCausalLM` and `Qwen2ForCausalLM` that tttv2 reads.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct HfConfig {
    /// `["LlamaForCausalLM"]`.
    pub architectures: Option<Vec<String>>,
    /// `llama`, `mistral`, `qwen2`.
    pub model_type: Option<String>,
    /// Model width.
    pub hidden_size: Option<u32>,
    /// MLP width.
    pub intermediate_size: Option<u32>,
    /// Query heads.
    pub num_attention_heads: Option<u32>,
    /// KV heads; transformers defaults it to `num_attention_heads`.
    pub num_key_value_heads: Option<u32>,
    /// Per-head width; transformers defaults it to `hidden_size / num_attention_heads`.
    pub head_dim: Option<u32>,
    /// Decoder layers.
    pub num_hidden_layers: Option<u32>,
    /// Vocabulary.
    pub vocab_size: Option<u32>,
    /// RMSNorm epsilon.
    pub rms_norm_eps: Option<f64>,
    /// RoPE base (transformers 4.x; 5.x moves it into `rope_parameters`).
    pub rope_theta: Option<f64>,
    /// RoPE scaling (transformers 4.x).
    pub rope_scaling: Option<HfRope>,
    /// RoPE base and scaling (transformers 5.x).
    pub rope_parameters: Option<HfRope>,
    /// Fraction of `head_dim` that is rotated (1.0 for every Llama-family model).
    pub partial_rotary_factor: Option<f64>,
    /// Whether `lm_head` reuses the embedding; transformers' default is `false`.
    pub tie_word_embeddings: Option<bool>,
    /// Longest context.
    pub max_position_embeddings: Option<u32>,
    /// Bias on q/k/v/o projections (Llama; Qwen2 always has q/k/v bias).
    pub attention_bias: Option<bool>,
    /// Bias on the MLP projections.
    pub mlp_bias: Option<bool>,
    /// MLP activation.
    pub hidden_act: Option<String>,
    /// Storage dtype (transformers 4.x).
    pub torch_dtype: Option<String>,
    /// Storage dtype (transformers 5.x).
    pub dtype: Option<String>,
    /// BOS id(s).
    pub bos_token_id: Option<TokenIds>,
    /// EOS id(s).
    pub eos_token_id: Option<TokenIds>,
    /// Sliding-window attention width (Mistral, Qwen2): `None` when absent, `Some(None)` when
    /// `null` (Mistral's default of 4096 applies only when the field is absent).
    #[serde(default, deserialize_with = "present")]
    pub sliding_window: Option<Option<u32>>,
    /// Qwen2: whether `sliding_window` is used at all.
    pub use_sliding_window: Option<bool>,
    /// Qwen2: layers `max_window_layers..` use the window (when `use_sliding_window`).
    pub max_window_layers: Option<u32>,
    /// transformers ≥ 4.53 / 5: per-layer attention kind (`full_attention`, `sliding_attention`).
    pub layer_types: Option<Vec<String>>,
    /// Quantized checkpoints (GPTQ, AWQ, bitsandbytes, fp8, ...).
    pub quantization_config: Option<serde_json::Value>,
}

/// Tells an explicit `null` (`Some(None)`) from an absent field (`None`, via `#[serde(default)]`).
fn present<'de, D: serde::Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}
