use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::schema::{HfConfig, HfRope};

/// RoPE scaling of the planned model, as transformers computes it
/// (`modeling_rope_utils.py`, `ROPE_INIT_FUNCTIONS`). `rope_type: "default"` is `None`.
///
/// Serializes with its `rope_type` in transformers 4.x's `rope_scaling` form, so a manifest's
/// `model` section parses back as a config.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "rope_type", rename_all = "lowercase")]
pub enum RopeScaling {
    /// Llama 3.x (`_compute_llama3_parameters`): long wavelengths divided by `factor`, short ones
    /// kept, a smooth blend between.
    Llama3 {
        /// Context-extension factor.
        factor: f64,
        /// Wavelength band below which frequencies are kept.
        low_freq_factor: f64,
        /// Wavelength band above which frequencies are divided by `factor`.
        high_freq_factor: f64,
        /// Context the base model was trained for.
        original_max_position_embeddings: u32,
    },
    /// Position interpolation (`_compute_linear_scaling_rope_parameters`): every inverse
    /// frequency divided by `factor`.
    Linear {
        /// Interpolation factor.
        factor: f64,
    },
    /// Dynamic NTK (`_compute_dynamic_ntk_parameters`): the base grows with the sequence length,
    /// but only past `max_position_embeddings`; at or below it transformers uses the default
    /// frequencies (`seq_len = max(seq_len, max_position_embeddings)` makes the base factor 1).
    /// The planner never plans past `max_position_embeddings`, so these are the default
    /// frequencies.
    Dynamic {
        /// NTK factor (applies only beyond `max_position_embeddings`).
        factor: f64,
    },
}

/// The fields of a Llama-family `config.json` the planner needs, with transformers' defaults
/// applied and every value that changes numerics either understood here or rejected by
/// [`LlamaConfig::parse`].
///
/// It is serialized into a plan's manifest (`model`) and read back from there with serde
/// (`LlamaConfig::from_manifest_json`): the config a model was compiled with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LlamaConfig {
    /// Model width.
    pub hidden_size: u32,
    /// MLP width.
    pub intermediate_size: u32,
    /// Query heads.
    pub num_attention_heads: u32,
    /// Key/value heads (GQA); HF defaults it to `num_attention_heads`.
    pub num_key_value_heads: u32,
    /// Per-head width; HF defaults it to `hidden_size / num_attention_heads`.
    pub head_dim: u32,
    /// Decoder layers.
    pub num_hidden_layers: u32,
    /// Vocabulary size.
    pub vocab_size: u32,
    /// RMSNorm epsilon.
    pub rms_norm_eps: f64,
    /// RoPE base (`rope_theta`, or `rope_parameters.rope_theta` from transformers 5); HF's
    /// default is 10000.
    pub rope_theta: f64,
    /// RoPE scaling (`rope_scaling`, or `rope_parameters` from transformers 5), if any.
    pub rope_scaling: Option<RopeScaling>,
    /// Whether `lm_head` reuses `model.embed_tokens.weight` (HF default `false`).
    pub tie_word_embeddings: bool,
    /// Longest context the model supports.
    pub max_position_embeddings: u32,
    /// dtype the checkpoint is stored in (`torch_dtype`, or `dtype` from transformers 5).
    pub torch_dtype: Option<String>,
    /// BOS token id(s) (`bos_token_id`, an integer or a list); empty when absent.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub bos_token_id: Vec<u32>,
    /// EOS token id(s) (`eos_token_id`, an integer or a list); empty when absent.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub eos_token_id: Vec<u32>,
    /// Sliding-window attention width in effect (Mistral; Qwen2 with `use_sliding_window`), if
    /// any. Exact only while the planned context fits in it: see [`LlamaConfig::check_context`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sliding_window: Option<u32>,
    /// Whether the q, k and v projections add a bias (Qwen2: transformers `Qwen2Attention`
    /// builds them with `nn.Linear(..., bias=True)` and `o_proj` without). The planner fuses it
    /// into the QKV matmul.
    #[serde(skip_serializing_if = "std::ops::Not::not", default)]
    pub qkv_bias: bool,
}

/// A field where a checkpoint's config differs from the config a model was compiled with
/// ([`LlamaConfig::first_difference`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigDifference {
    /// The `config.json` field (transformers' name).
    pub field: &'static str,
    /// Its value in the compiled config.
    pub compiled: String,
    /// Its value in the checkpoint's config.
    pub found: String,
}

impl std::fmt::Display for ConfigDifference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "`{}` is {} but the model was compiled with {}", self.field, self.found, self.compiled)
    }
}

/// Why a `config.json` could not be read, or is read but asks for numerics tttv2 does not
/// implement.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{}{}{kind}", path.display(), match kind { HfErrorKind::InvalidJson { .. } => ":", HfErrorKind::NotAConfig => " ", _ => ": " })]
pub struct HfError {
    /// The file (or `<memory>` for [`LlamaConfig::from_json_str`] without a path).
    pub path: PathBuf,
    /// What is wrong.
    pub kind: HfErrorKind,
}

/// The kinds of [`HfError`].
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum HfErrorKind {
    /// The file could not be read.
    #[error("cannot read: {0}")]
    Io(String),
    /// The file is not JSON (serde_json's message, with line and column).
    #[error("{line}:{column}: invalid JSON: {message}")]
    InvalidJson {
        /// Line, 1-based.
        line: usize,
        /// Column, 1-based.
        column: usize,
        /// serde_json's message.
        message: String,
    },
    /// The top level is not a JSON object.
    #[error("expected a JSON object at the top level")]
    NotAnObject,
    /// A required field is absent.
    #[error("missing field `{0}`")]
    MissingField(String),
    /// A field has the wrong type or an invalid value.
    #[error("field `{field}`: expected {expected}, found {found}")]
    InvalidField {
        /// The field (a dotted path for nested fields: `rope_scaling.factor`).
        field: String,
        /// What was expected.
        expected: String,
        /// What the file holds.
        found: String,
    },
    /// The file is neither text (a config.json) nor a GGUF file.
    #[error(
        "is not a config: expected a Hugging Face config.json (or the directory holding it) or a GGUF file (llama.cpp's format)"
    )]
    NotAConfig,
    /// A GGUF file's header (metadata and tensor table) cannot be read.
    #[error("not a readable GGUF header: at byte {offset}: {message}")]
    MalformedGguf {
        /// Where in the file.
        offset: u64,
        /// What is wrong there.
        message: String,
    },
    /// `architectures` names no architecture tttv2 reads.
    #[error("field `architectures`: unsupported architecture {0:?}; supported: {SUPPORTED_ARCHITECTURES:?}")]
    UnsupportedArchitecture(Vec<String>),
    /// A field asks for numerics tttv2 does not implement: running the model anyway would give
    /// different results from transformers, so it is refused.
    #[error("field `{field}` = {found}: {reason}; fix: {fix}")]
    Unsupported {
        /// The field (dotted for nested fields).
        field: String,
        /// Its value in the file.
        found: String,
        /// What it would change and why tttv2 cannot do it.
        reason: String,
        /// What the user can do.
        fix: String,
    },
}

impl HfErrorKind {
    /// The field the error is about, if it is about one (dotted for nested fields).
    pub fn field(&self) -> Option<&str> {
        match self {
            HfErrorKind::MissingField(f) => Some(f),
            HfErrorKind::InvalidField { field, .. } | HfErrorKind::Unsupported { field, .. } => Some(field),
            HfErrorKind::UnsupportedArchitecture(_) => Some("architectures"),
            _ => None,
        }
    }
}

impl HfError {
    /// The field the error is about, if it is about one.
    pub fn field(&self) -> Option<&str> {
        self.kind.field()
    }

    /// The error's own fix, when it has one (otherwise: point at a valid config).
    pub fn fix(&self) -> Option<&str> {
        match &self.kind {
            HfErrorKind::Unsupported { fix, .. } => Some(fix),
            _ => None,
        }
    }
}

/// The architectures [`LlamaConfig`] reads: Llama, Mistral (Llama numerics, optional sliding
/// window) and Qwen2 (Llama numerics plus a q/k/v bias).
pub const SUPPORTED_ARCHITECTURES: &[&str] = &["LlamaForCausalLM", "MistralForCausalLM", "Qwen2ForCausalLM"];

/// Which family's defaults apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Family {
    Llama,
    Mistral,
    Qwen2,
}

fn invalid(field: impl Into<String>, expected: impl Into<String>, found: impl ToString) -> HfErrorKind {
    HfErrorKind::InvalidField { field: field.into(), expected: expected.into(), found: found.to_string() }
}

fn unsupported(
    field: impl Into<String>,
    found: impl ToString,
    reason: impl Into<String>,
    fix: impl Into<String>,
) -> HfErrorKind {
    HfErrorKind::Unsupported { field: field.into(), found: found.to_string(), reason: reason.into(), fix: fix.into() }
}

fn positive_u32(field: &'static str, v: Option<u32>) -> Result<Option<u32>, HfErrorKind> {
    match v {
        Some(0) => Err(invalid(field, "a positive integer", 0)),
        v => Ok(v),
    }
}

fn required_u32(field: &'static str, v: Option<u32>) -> Result<u32, HfErrorKind> {
    positive_u32(field, v)?.ok_or_else(|| HfErrorKind::MissingField(field.into()))
}

fn positive_f64(field: &str, v: Option<f64>) -> Result<Option<f64>, HfErrorKind> {
    match v {
        Some(x) if !(x.is_finite() && x > 0.0) => Err(invalid(field, "a positive number", x)),
        v => Ok(v),
    }
}

impl LlamaConfig {
    /// Reads and parses `path`: a config.json, or a GGUF file, whose header metadata holds the
    /// same hyperparameters (`super::gguf`; the tensor data is not read).
    pub fn from_file(path: impl AsRef<Path>) -> Result<LlamaConfig, HfError> {
        let path = path.as_ref();
        match super::gguf::open(path)? {
            super::gguf::Source::Text(text) => Self::parse(&text, path),
            super::gguf::Source::Gguf(header) => {
                super::gguf::llama_config(&header).map_err(|kind| HfError { path: path.to_path_buf(), kind })
            }
        }
    }

    /// Parses a config held in memory; errors name `<memory>` as the path.
    pub fn from_json_str(text: &str) -> Result<LlamaConfig, HfError> {
        Self::parse(text, Path::new("<memory>"))
    }

    /// Parses `text`, naming `path` in errors.
    pub fn parse(text: &str, path: &Path) -> Result<LlamaConfig, HfError> {
        let hf = HfConfig::parse(text, path)?;
        Self::from_hf(&hf).map_err(|kind| HfError { path: path.to_path_buf(), kind })
    }

    /// Applies transformers' defaults to a read config and checks every field that changes
    /// numerics: implemented, or an [`HfErrorKind::Unsupported`] naming it.
    pub fn from_hf(hf: &HfConfig) -> Result<LlamaConfig, HfErrorKind> {
        // Architecture first: a config of another family fails with that reason, not with a
        // missing Llama field.
        let names = hf.architectures.as_ref().ok_or_else(|| HfErrorKind::MissingField("architectures".into()))?;
        let family = if names.iter().any(|n| n == "LlamaForCausalLM") {
            Family::Llama
        } else if names.iter().any(|n| n == "MistralForCausalLM") {
            Family::Mistral
        } else if names.iter().any(|n| n == "Qwen2ForCausalLM") {
            Family::Qwen2
        } else {
            return Err(HfErrorKind::UnsupportedArchitecture(names.clone()));
        };

        let hidden_size = required_u32("hidden_size", hf.hidden_size)?;
        let num_attention_heads = required_u32("num_attention_heads", hf.num_attention_heads)?;
        let num_key_value_heads =
            positive_u32("num_key_value_heads", hf.num_key_value_heads)?.unwrap_or(num_attention_heads);
        let head_dim = match positive_u32("head_dim", hf.head_dim)? {
            Some(h) => h,
            None => {
                if hidden_size % num_attention_heads != 0 {
                    return Err(invalid(
                        "num_attention_heads",
                        "a divisor of hidden_size when head_dim is absent",
                        num_attention_heads,
                    ));
                }
                hidden_size / num_attention_heads
            }
        };
        if num_attention_heads % num_key_value_heads != 0 {
            return Err(invalid("num_key_value_heads", "a divisor of num_attention_heads", num_key_value_heads));
        }
        let max_position_embeddings = required_u32("max_position_embeddings", hf.max_position_embeddings)?;
        let rms_norm_eps = positive_f64("rms_norm_eps", hf.rms_norm_eps)?
            .ok_or_else(|| HfErrorKind::MissingField("rms_norm_eps".into()))?;
        let (rope_theta, rope_scaling) = rope(hf, max_position_embeddings)?;

        // Fields that change numerics and the planner does not implement.
        if hf.attention_bias == Some(true) {
            return Err(unsupported(
                "attention_bias",
                true,
                "a bias on the q/k/v and o projections; tttv2 plans the q/k/v bias (Qwen2) but not the o_proj bias",
                "none yet: the planner has no o_proj bias; use a checkpoint with `attention_bias: false` (a q/k/v-only bias is the Qwen2ForCausalLM architecture)",
            ));
        }
        if hf.mlp_bias == Some(true) {
            return Err(unsupported(
                "mlp_bias",
                true,
                "a bias on the gate/up/down projections, which tttv2's planned MLP does not apply",
                "none yet: the planner has no bias on the gate/up/down matmuls; use a checkpoint with `mlp_bias: false`",
            ));
        }
        if let Some(act) = &hf.hidden_act {
            // transformers' ACT2FN maps both names to SiLU.
            if act != "silu" && act != "swish" {
                return Err(unsupported(
                    "hidden_act",
                    format!("{act:?}"),
                    "the planned MLP fuses SiLU into the gate·up multiply; another activation would be computed as SiLU",
                    "use a checkpoint with `hidden_act: \"silu\"`",
                ));
            }
        }
        if let Some(q) = &hf.quantization_config {
            let method = q.get("quant_method").and_then(Value::as_str).unwrap_or("?");
            return Err(unsupported(
                "quantization_config",
                format!("{{\"quant_method\": {method:?}, ...}}"),
                "the checkpoint's weights are quantized, and tttv2 reads unquantized weights",
                "use the unquantized (bf16/f16/f32) checkpoint; the planner chooses device dtypes itself",
            ));
        }
        if let Some(t) = hf.layer_types.iter().flatten().find(|t| t.as_str() != "full_attention") {
            return Err(unsupported(
                "layer_types",
                format!("[.., {t:?}, ..]"),
                "some layers use another attention kind than full causal attention, which is all tttv2 plans",
                "use a checkpoint whose layers are all \"full_attention\"",
            ));
        }
        // Mistral: `MistralConfig(sliding_window=4096)` is the default when the field is absent;
        // Qwen2 uses its window only with `use_sliding_window: true`, and then only in layers
        // `max_window_layers..` (transformers `Qwen2Config`: `sliding_window` is set to None
        // unless `use_sliding_window`, and `layer_types[i]` is "sliding_attention" only for
        // `i >= max_window_layers`, default 28); Llama has none.
        let num_hidden_layers = required_u32("num_hidden_layers", hf.num_hidden_layers)?;
        let sliding_window = match family {
            Family::Mistral => match hf.sliding_window {
                None => Some(4096),
                Some(w) => positive_u32("sliding_window", w)?,
            },
            Family::Qwen2
                if hf.use_sliding_window == Some(true) && hf.max_window_layers.unwrap_or(28) < num_hidden_layers =>
            {
                match hf.sliding_window {
                    // Qwen2Config's default window.
                    None => Some(4096),
                    Some(w) => positive_u32("sliding_window", w)?,
                }
            }
            _ => None,
        };

        Ok(LlamaConfig {
            hidden_size,
            intermediate_size: required_u32("intermediate_size", hf.intermediate_size)?,
            num_attention_heads,
            num_key_value_heads,
            head_dim,
            num_hidden_layers,
            vocab_size: required_u32("vocab_size", hf.vocab_size)?,
            rms_norm_eps,
            rope_theta,
            rope_scaling,
            tie_word_embeddings: hf.tie_word_embeddings.unwrap_or(false),
            max_position_embeddings,
            torch_dtype: hf.dtype.clone().or_else(|| hf.torch_dtype.clone()),
            bos_token_id: hf.bos_token_id.as_ref().map(|t| t.to_vec()).unwrap_or_default(),
            eos_token_id: hf.eos_token_id.as_ref().map(|t| t.to_vec()).unwrap_or_default(),
            sliding_window,
            // Qwen2 always has the q/k/v bias (the architecture, not a config field).
            qkv_bias: family == Family::Qwen2,
        })
    }

    /// The config a model was compiled with, from its plan module's `MANIFEST_JSON` (whose
    /// `model` section is this struct serialized).
    pub fn from_manifest_json(manifest_json: &str) -> Result<LlamaConfig, String> {
        let manifest: Value =
            serde_json::from_str(manifest_json).map_err(|e| format!("the manifest is not JSON: {e}"))?;
        let model = manifest.get("model").cloned().ok_or("the manifest has no `model` section (not a Llama plan)")?;
        serde_json::from_value(model).map_err(|e| format!("the manifest's `model` section: {e}"))
    }

    /// The first field where `found` (a checkpoint's config) would compute something other than
    /// `self` (the compiled config): every shape, the norm epsilon, RoPE, the tied head, the q/k/v
    /// bias and the sliding window. Token ids, dtype and the context length are not compared:
    /// they do not change what the compiled program computes.
    pub fn first_difference(&self, found: &LlamaConfig) -> Option<ConfigDifference> {
        let diff = |field: &'static str, compiled: String, found: String| {
            (compiled != found).then_some(ConfigDifference { field, compiled, found })
        };
        diff("hidden_size", self.hidden_size.to_string(), found.hidden_size.to_string())
            .or_else(|| {
                diff("intermediate_size", self.intermediate_size.to_string(), found.intermediate_size.to_string())
            })
            .or_else(|| {
                diff("num_attention_heads", self.num_attention_heads.to_string(), found.num_attention_heads.to_string())
            })
            .or_else(|| {
                diff("num_key_value_heads", self.num_key_value_heads.to_string(), found.num_key_value_heads.to_string())
            })
            .or_else(|| diff("head_dim", self.head_dim.to_string(), found.head_dim.to_string()))
            .or_else(|| {
                diff("num_hidden_layers", self.num_hidden_layers.to_string(), found.num_hidden_layers.to_string())
            })
            .or_else(|| diff("vocab_size", self.vocab_size.to_string(), found.vocab_size.to_string()))
            .or_else(|| diff("rms_norm_eps", self.rms_norm_eps.to_string(), found.rms_norm_eps.to_string()))
            .or_else(|| diff("rope_theta", self.rope_theta.to_string(), found.rope_theta.to_string()))
            .or_else(|| diff("rope_scaling", format!("{:?}", self.rope_scaling), format!("{:?}", found.rope_scaling)))
            .or_else(|| {
                diff("tie_word_embeddings", self.tie_word_embeddings.to_string(), found.tie_word_embeddings.to_string())
            })
            .or_else(|| diff("attention_bias (q/k/v)", self.qkv_bias.to_string(), found.qkv_bias.to_string()))
            .or_else(|| {
                diff("sliding_window", format!("{:?}", self.sliding_window), format!("{:?}", found.sliding_window))
            })
    }

    /// Checks that planning `context` positions gives transformers' numerics: a sliding window
    /// narrower than the context (Mistral v0.1's 4096) would need windowed attention, which the
    /// planner does not implement.
    pub fn check_context(&self, context: u32) -> Result<(), HfErrorKind> {
        match self.sliding_window {
            Some(w) if w < context => Err(unsupported(
                "sliding_window",
                w,
                format!(
                    "attention is limited to the last {w} positions, but the plan covers {context}, and tttv2's attention is not windowed"
                ),
                format!("plan at most seq_len = {w}"),
            )),
            _ => Ok(()),
        }
    }

    /// The Hugging Face names of every tensor the compiled model reads from a checkpoint, in
    /// load order: a checkpoint holding any other tensor was made for another model (a Qwen2's
    /// q/k/v biases under a plan compiled without them would be silently ignored).
    pub fn weight_names(&self) -> Vec<String> {
        let mut names = vec!["model.embed_tokens.weight".to_owned(), "model.norm.weight".to_owned()];
        if !self.tie_word_embeddings {
            names.push("lm_head.weight".to_owned());
        }
        for i in 0..self.num_hidden_layers {
            let p = format!("model.layers.{i}");
            for m in [
                "input_layernorm",
                "post_attention_layernorm",
                "self_attn.q_proj",
                "self_attn.k_proj",
                "self_attn.v_proj",
                "self_attn.o_proj",
                "mlp.gate_proj",
                "mlp.up_proj",
                "mlp.down_proj",
            ] {
                names.push(format!("{p}.{m}.weight"));
            }
            if self.qkv_bias {
                for m in ["q_proj", "k_proj", "v_proj"] {
                    names.push(format!("{p}.self_attn.{m}.bias"));
                }
            }
        }
        names
    }

    /// The config as a Hugging Face `config.json` (transformers 4.x layout, keys sorted, two-space
    /// indent, as `PretrainedConfig.to_json_string` writes): what `tttv2 new` writes beside a crate
    /// made from a GGUF file. [`LlamaConfig::parse`] reads it back to this config.
    ///
    /// The architecture is `Qwen2ForCausalLM` when the q/k/v projections have a bias,
    /// `MistralForCausalLM` when a sliding window is in effect, `LlamaForCausalLM` otherwise. A
    /// Qwen2 window is written as `use_sliding_window` with `max_window_layers: 0` (every layer
    /// windowed: [`LlamaConfig`] keeps only that a window is in effect, and the planner refuses a
    /// context wider than it either way).
    pub fn to_hf_config_json(&self) -> String {
        let (architecture, model_type) = if self.qkv_bias {
            ("Qwen2ForCausalLM", "qwen2")
        } else if self.sliding_window.is_some() {
            ("MistralForCausalLM", "mistral")
        } else {
            ("LlamaForCausalLM", "llama")
        };
        let mut m = serde_json::Map::new();
        let mut put = |k: &str, v: Value| {
            m.insert(k.to_owned(), v);
        };
        put("architectures", Value::from(vec![architecture]));
        put("model_type", model_type.into());
        put("hidden_size", self.hidden_size.into());
        put("intermediate_size", self.intermediate_size.into());
        put("num_attention_heads", self.num_attention_heads.into());
        put("num_key_value_heads", self.num_key_value_heads.into());
        put("head_dim", self.head_dim.into());
        put("num_hidden_layers", self.num_hidden_layers.into());
        put("vocab_size", self.vocab_size.into());
        put("rms_norm_eps", self.rms_norm_eps.into());
        put("rope_theta", self.rope_theta.into());
        // transformers 4.x's `rope_scaling` object (`rope_type` and that type's keys), or null.
        put("rope_scaling", serde_json::to_value(self.rope_scaling).unwrap_or(Value::Null));
        put("tie_word_embeddings", self.tie_word_embeddings.into());
        put("max_position_embeddings", self.max_position_embeddings.into());
        put("hidden_act", "silu".into());
        if let Some(dtype) = &self.torch_dtype {
            put("torch_dtype", dtype.as_str().into());
        }
        let ids = |ids: &[u32]| match ids {
            [] => Value::Null,
            [one] => (*one).into(),
            many => many.into(),
        };
        put("bos_token_id", ids(&self.bos_token_id));
        put("eos_token_id", ids(&self.eos_token_id));
        match model_type {
            "qwen2" => {
                put("use_sliding_window", self.sliding_window.is_some().into());
                if let Some(w) = self.sliding_window {
                    put("sliding_window", w.into());
                    put("max_window_layers", 0.into());
                }
            }
            "mistral" => put("sliding_window", self.sliding_window.into()),
            _ => {
                put("attention_bias", false.into());
                put("mlp_bias", false.into());
            }
        }
        let mut text = serde_json::to_string_pretty(&Value::Object(m)).unwrap_or_default();
        text.push('\n');
        text
    }

    /// Parameters in the checkpoint (embedding, layers, final norm and an untied `lm_head`).
    pub fn num_parameters(&self) -> u64 {
        let (h, i, v) = (self.hidden_size as u64, self.intermediate_size as u64, self.vocab_size as u64);
        let q = self.num_attention_heads as u64 * self.head_dim as u64;
        let kv = self.num_key_value_heads as u64 * self.head_dim as u64;
        let bias = if self.qkv_bias { q + 2 * kv } else { 0 };
        let layer = h * (q + 2 * kv) + bias + q * h + 3 * h * i + 2 * h;
        let lm_head = if self.tie_word_embeddings { 0 } else { v * h };
        v * h + self.num_hidden_layers as u64 * layer + h + lm_head
    }
}

impl HfConfig {
    /// Reads `text` as a config.json: JSON syntax errors keep their line and column, type
    /// errors name the field's path.
    pub fn parse(text: &str, path: &Path) -> Result<HfConfig, HfError> {
        let err = |kind| HfError { path: path.to_path_buf(), kind };
        let v: Value = serde_json::from_str(text).map_err(|e| {
            err(HfErrorKind::InvalidJson { line: e.line(), column: e.column(), message: e.to_string() })
        })?;
        if !v.is_object() {
            return Err(err(HfErrorKind::NotAnObject));
        }
        serde_path_to_error::deserialize(v).map_err(|e| {
            let field = e.path().to_string();
            let inner = e.into_inner().to_string();
            err(HfErrorKind::InvalidField { field, expected: "the type transformers writes".into(), found: inner })
        })
    }
}

/// The RoPE base and scaling, from transformers 5's `rope_parameters` or 4.x's `rope_theta` +
/// `rope_scaling`. When both forms are present they must agree: tttv2 never picks one silently.
fn rope(hf: &HfConfig, max_position_embeddings: u32) -> Result<(f64, Option<RopeScaling>), HfErrorKind> {
    let top_theta = positive_f64("rope_theta", hf.rope_theta)?;
    if let Some(f) = positive_f64("partial_rotary_factor", hf.partial_rotary_factor)? {
        partial(f, "partial_rotary_factor")?;
    }
    let legacy = match &hf.rope_scaling {
        Some(r) => scaling(r, "rope_scaling", max_position_embeddings)?,
        None => None,
    };
    let Some(p) = &hf.rope_parameters else {
        return Ok((top_theta.unwrap_or(10_000.0), legacy));
    };
    let inner_theta = positive_f64("rope_parameters.rope_theta", p.rope_theta)?;
    let theta = match (inner_theta, top_theta) {
        (Some(a), Some(b)) if a != b => {
            return Err(invalid(
                "rope_parameters.rope_theta",
                format!("the top-level rope_theta ({b}) when both are given"),
                a,
            ));
        }
        (Some(a), _) | (None, Some(a)) => a,
        (None, None) => 10_000.0,
    };
    let params = scaling(p, "rope_parameters", max_position_embeddings)?;
    if hf.rope_scaling.is_some() && legacy != params {
        return Err(invalid(
            "rope_scaling",
            format!("the same scaling as rope_parameters ({params:?}) when both are given"),
            format!("{legacy:?}"),
        ));
    }
    Ok((theta, params))
}

fn partial(f: f64, field: &str) -> Result<(), HfErrorKind> {
    if f != 1.0 {
        return Err(unsupported(
            field,
            f,
            "only part of each head would be rotated, and tttv2's RoPE rotates the whole head_dim",
            "use a checkpoint with partial_rotary_factor 1.0",
        ));
    }
    Ok(())
}

/// One `rope_scaling` / `rope_parameters` object: implemented types, or an error naming it.
fn scaling(r: &HfRope, at: &str, max_position_embeddings: u32) -> Result<Option<RopeScaling>, HfErrorKind> {
    let f = |k: &str| format!("{at}.{k}");
    if let Some(p) = positive_f64(&f("partial_rotary_factor"), r.partial_rotary_factor)? {
        partial(p, &f("partial_rotary_factor"))?;
    }
    let (key, ty) = match (&r.rope_type, &r.legacy_type) {
        (Some(t), _) => ("rope_type", t.as_str()),
        (None, Some(t)) => ("type", t.as_str()),
        // transformers 5 writes `{"rope_theta": ..., "rope_type": "default"}`; an object with
        // neither key is the default too.
        (None, None) => ("rope_type", "default"),
    };
    let factor = || positive_f64(&f("factor"), r.factor)?.ok_or_else(|| HfErrorKind::MissingField(f("factor")));
    Ok(match ty {
        "default" => None,
        "linear" => Some(RopeScaling::Linear { factor: factor()? }),
        "llama3" => {
            let low = positive_f64(&f("low_freq_factor"), r.low_freq_factor)?
                .ok_or_else(|| HfErrorKind::MissingField(f("low_freq_factor")))?;
            let high = positive_f64(&f("high_freq_factor"), r.high_freq_factor)?
                .ok_or_else(|| HfErrorKind::MissingField(f("high_freq_factor")))?;
            if high <= low {
                return Err(invalid(
                    f("high_freq_factor"),
                    format!("a value above low_freq_factor ({low}); Llama 3 scaling divides by their difference"),
                    high,
                ));
            }
            let original = match r.original_max_position_embeddings {
                Some(0) => return Err(invalid(f("original_max_position_embeddings"), "a positive integer", 0)),
                Some(o) => o,
                None => return Err(HfErrorKind::MissingField(f("original_max_position_embeddings"))),
            };
            Some(RopeScaling::Llama3 {
                factor: factor()?,
                low_freq_factor: low,
                high_freq_factor: high,
                original_max_position_embeddings: original,
            })
        }
        "dynamic" => {
            // transformers ≥ 4.46 switches to the NTK-scaled base past
            // `original_max_position_embeddings` when the scaling names one; below it (and
            // always in earlier versions, which use max_position_embeddings) the frequencies are
            // the default ones. Refuse the case where the two thresholds differ inside the
            // plannable context.
            if let Some(o) = r.original_max_position_embeddings.filter(|&o| o < max_position_embeddings) {
                return Err(unsupported(
                    f("original_max_position_embeddings"),
                    o,
                    format!(
                        "dynamic NTK RoPE changes its frequencies with the sequence length past {o} positions, below max_position_embeddings ({max_position_embeddings}); tttv2 fixes RoPE frequencies at compile time"
                    ),
                    format!(
                        "set max_position_embeddings to {o} (the context within which dynamic RoPE equals the default)"
                    ),
                ));
            }
            Some(RopeScaling::Dynamic { factor: factor()? })
        }
        "yarn" => {
            return Err(unsupported(
                f(key),
                "\"yarn\"",
                "YaRN also multiplies cos/sin by an attention factor (0.1·ln(factor) + 1 unless `attention_factor` is given; transformers `_compute_yarn_parameters`), which tttv2's RoPE does not apply",
                "none yet: YaRN needs cos/sin scaling in the planned RoPE; use a checkpoint with default, linear, dynamic or llama3 RoPE",
            ));
        }
        other => {
            return Err(unsupported(
                f(key),
                format!("{other:?}"),
                "a RoPE scaling tttv2 does not implement (implemented: default, linear, dynamic, llama3)",
                "use a checkpoint with default, linear, dynamic or llama3 RoPE",
            ));
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../models").join(name).join("config.json")
    }

    #[test]
    fn serialized_configs_parse_back() {
        for name in ["Llama-3.2-1B", "small-llama"] {
            let cfg = LlamaConfig::from_file(fixture(name)).unwrap();
            let mut v = serde_json::to_value(&cfg).unwrap();
            v["architectures"] = serde_json::json!(["LlamaForCausalLM"]);
            assert_eq!(LlamaConfig::from_json_str(&v.to_string()).unwrap(), cfg, "{name}");
        }
        assert!(
            LlamaConfig::from_file(fixture("Llama-3.2-1B")).unwrap().rope_scaling.is_some(),
            "the round trip covers rope_scaling"
        );
    }

    #[test]
    fn parses_the_four_fixtures() {
        let c = LlamaConfig::from_file(fixture("Llama-3.1-8B")).unwrap();
        assert_eq!((c.hidden_size, c.intermediate_size, c.num_hidden_layers), (4096, 14336, 32));
        assert_eq!((c.num_attention_heads, c.num_key_value_heads, c.head_dim), (32, 8, 128));
        assert!(matches!(c.rope_scaling, Some(RopeScaling::Llama3 { factor: 8.0, .. })), "{:?}", c.rope_scaling);
        assert!(!c.tie_word_embeddings);
        // ~8.03 B parameters.
        assert!((8_000_000_000..8_100_000_000).contains(&c.num_parameters()), "{}", c.num_parameters());
        let c = LlamaConfig::from_file(fixture("Llama-3.2-1B")).unwrap();
        assert_eq!(c.head_dim, 64);
        assert!(c.tie_word_embeddings);
        assert!((1_200_000_000..1_300_000_000).contains(&c.num_parameters()));
        let c = LlamaConfig::from_file(fixture("Llama-3.2-3B")).unwrap();
        assert_eq!((c.num_attention_heads, c.head_dim), (24, 128));
        let c = LlamaConfig::from_file(fixture("Llama-3.1-70B")).unwrap();
        assert_eq!(c.num_hidden_layers, 80);
        assert!((70_000_000_000..71_000_000_000).contains(&c.num_parameters()));
    }

    #[test]
    fn errors_name_path_and_field() {
        let text = std::fs::read_to_string(fixture("Llama-3.1-8B")).unwrap();
        let mut v: Value = serde_json::from_str(&text).unwrap();
        v.as_object_mut().unwrap().remove("vocab_size");
        let e = LlamaConfig::parse(&v.to_string(), Path::new("x/config.json")).unwrap_err();
        assert_eq!(e.kind, HfErrorKind::MissingField("vocab_size".into()));
        assert_eq!(e.to_string(), "x/config.json: missing field `vocab_size`");

        let e = LlamaConfig::parse("{\"architectures\": [", Path::new("y.json")).unwrap_err();
        assert!(matches!(e.kind, HfErrorKind::InvalidJson { line: 1, .. }), "{e:?}");
        assert!(e.to_string().starts_with("y.json:1:"));

        let e = LlamaConfig::from_json_str(r#"{"architectures": ["GPT2LMHeadModel"]}"#).unwrap_err();
        assert_eq!(e.kind, HfErrorKind::UnsupportedArchitecture(vec!["GPT2LMHeadModel".into()]));

        v["hidden_size"] = Value::from("4096");
        let e = LlamaConfig::from_json_str(&v.to_string()).unwrap_err();
        assert_eq!(e.field(), Some("hidden_size"), "{e:?}");
        assert!(matches!(e.kind, HfErrorKind::InvalidField { .. }), "{e:?}");

        let e = LlamaConfig::from_file("/nonexistent/config.json").unwrap_err();
        assert!(matches!(e.kind, HfErrorKind::Io(_)));
    }

    /// Every config.json of models/ and tests/models/, the GGUF fixtures' configs, and variants
    /// for what the files do not cover (a Qwen2 window, several EOS ids, linear and dynamic RoPE,
    /// a dtype-less config): `to_hf_config_json` parses back to the same config.
    #[test]
    fn hf_config_json_parses_back_to_the_config() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let mut configs = Vec::new();
        let mut dirs = vec![root.join("models"), root.join("tests/models")];
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    dirs.push(path);
                } else if path.file_name() == Some("config.json".as_ref()) {
                    let cfg = LlamaConfig::from_file(&path).unwrap_or_else(|e| panic!("{e}"));
                    configs.push((path.display().to_string(), cfg));
                }
            }
        }
        assert!(configs.len() >= 20, "found {} config.json files", configs.len());
        for name in ["tiny_llama.gguf", "tiny_qwen2.gguf"] {
            let path = root.join("tests/gguf").join(name);
            configs.push((name.to_owned(), LlamaConfig::from_file(&path).unwrap_or_else(|e| panic!("{e}"))));
        }
        let base = configs.iter().find(|(n, _)| n.ends_with("tiny-qwen2/config.json")).unwrap().1.clone();
        configs.push((
            "Qwen2 with a window".into(),
            LlamaConfig {
                sliding_window: Some(256),
                eos_token_id: vec![1, 7, 9],
                bos_token_id: vec![3],
                ..base.clone()
            },
        ));
        configs.push((
            "linear RoPE, no dtype".into(),
            LlamaConfig {
                qkv_bias: false,
                rope_scaling: Some(RopeScaling::Linear { factor: 2.5 }),
                torch_dtype: None,
                rms_norm_eps: 1e-5f32 as f64,
                ..base.clone()
            },
        ));
        configs.push((
            "dynamic RoPE".into(),
            LlamaConfig { qkv_bias: false, rope_scaling: Some(RopeScaling::Dynamic { factor: 4.0 }), ..base },
        ));
        let mut archs = std::collections::BTreeSet::new();
        for (name, cfg) in &configs {
            let text = cfg.to_hf_config_json();
            let back = LlamaConfig::parse(&text, Path::new(name)).unwrap_or_else(|e| panic!("{e}\n{text}"));
            assert_eq!(&back, cfg, "{name}:\n{text}");
            let hf = HfConfig::parse(&text, Path::new(name)).unwrap();
            archs.insert(hf.architectures.unwrap()[0].clone());
        }
        let expected = ["LlamaForCausalLM", "MistralForCausalLM", "Qwen2ForCausalLM"].map(String::from);
        assert_eq!(archs, expected.into_iter().collect(), "every architecture is covered");
        // A window, a q/k/v bias, llama3 RoPE and several EOS ids each occur in the set.
        assert!(configs.iter().any(|(_, c)| c.sliding_window.is_some() && !c.qkv_bias));
        assert!(configs.iter().any(|(_, c)| matches!(c.rope_scaling, Some(RopeScaling::Llama3 { .. }))));
        assert!(configs.iter().any(|(_, c)| c.eos_token_id.len() > 1));
    }

    #[test]
    fn defaults_follow_transformers() {
        let c = LlamaConfig::from_json_str(
            r#"{"architectures":["LlamaForCausalLM"],"hidden_size":512,"intermediate_size":1024,
               "num_attention_heads":8,"num_hidden_layers":2,"vocab_size":1000,"rms_norm_eps":1e-6,
               "max_position_embeddings":2048}"#,
        )
        .unwrap();
        assert_eq!((c.num_key_value_heads, c.head_dim, c.rope_theta), (8, 64, 10000.0));
        assert!(c.rope_scaling.is_none() && !c.tie_word_embeddings);
    }
}
