use std::fmt;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::{Map, Value};

/// `rope_scaling` of a Llama-3.x config (`rope_type: "llama3"`, transformers
/// `modeling_rope_utils.py::_compute_llama3_parameters`).
///
/// Serializes with its `rope_type`, so a manifest's `model` section parses back as a config.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "rope_type", rename = "llama3")]
pub struct RopeScaling {
    /// Context-extension factor.
    pub factor: f64,
    /// Wavelength band below which frequencies are kept.
    pub low_freq_factor: f64,
    /// Wavelength band above which frequencies are divided by `factor`.
    pub high_freq_factor: f64,
    /// Context the base model was trained for.
    pub original_max_position_embeddings: u32,
}

/// The fields of a `LlamaForCausalLM` `config.json` the planner needs.
#[derive(Debug, Clone, PartialEq, Serialize)]
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
    /// RoPE base; HF's default is 10000.
    pub rope_theta: f64,
    /// Llama-3 RoPE scaling, if any.
    pub rope_scaling: Option<RopeScaling>,
    /// Whether `lm_head` reuses `model.embed_tokens.weight`.
    pub tie_word_embeddings: bool,
    /// Longest context the model supports.
    pub max_position_embeddings: u32,
    /// dtype the checkpoint is stored in (`bfloat16`), if given.
    pub torch_dtype: Option<String>,
}

/// Why a `config.json` could not be read.
#[derive(Debug, Clone, PartialEq)]
pub struct HfError {
    /// The file (or `<memory>` for [`LlamaConfig::from_json_str`] without a path).
    pub path: PathBuf,
    /// What is wrong.
    pub kind: HfErrorKind,
}

/// The kinds of [`HfError`].
#[derive(Debug, Clone, PartialEq)]
pub enum HfErrorKind {
    /// The file could not be read.
    Io(String),
    /// The file is not JSON (serde_json's message, with line and column).
    InvalidJson {
        /// Line, 1-based.
        line: usize,
        /// Column, 1-based.
        column: usize,
        /// serde_json's message.
        message: String,
    },
    /// The top level is not a JSON object.
    NotAnObject,
    /// A required field is absent.
    MissingField(&'static str),
    /// A field has the wrong type or an invalid value.
    InvalidField {
        /// The field.
        field: &'static str,
        /// What was expected.
        expected: &'static str,
        /// What the file holds.
        found: String,
    },
    /// `architectures` names no architecture tttv2 supports.
    UnsupportedArchitecture(Vec<String>),
}

impl fmt::Display for HfError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let p = self.path.display();
        match &self.kind {
            HfErrorKind::Io(e) => write!(f, "{p}: cannot read: {e}"),
            HfErrorKind::InvalidJson { line, column, message } => {
                write!(f, "{p}:{line}:{column}: invalid JSON: {message}")
            }
            HfErrorKind::NotAnObject => write!(f, "{p}: expected a JSON object at the top level"),
            HfErrorKind::MissingField(k) => write!(f, "{p}: missing field `{k}`"),
            HfErrorKind::InvalidField { field, expected, found } => {
                write!(f, "{p}: field `{field}`: expected {expected}, found {found}")
            }
            HfErrorKind::UnsupportedArchitecture(a) => write!(
                f,
                "{p}: field `architectures`: unsupported architecture {a:?}; supported: [\"LlamaForCausalLM\"]"
            ),
        }
    }
}

impl std::error::Error for HfError {}

/// The architectures [`LlamaConfig`] accepts.
pub const SUPPORTED_ARCHITECTURES: &[&str] = &["LlamaForCausalLM"];

impl LlamaConfig {
    /// Reads and parses `path`.
    pub fn from_file(path: impl AsRef<Path>) -> Result<LlamaConfig, HfError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path)
            .map_err(|e| HfError { path: path.to_path_buf(), kind: HfErrorKind::Io(e.to_string()) })?;
        Self::parse(&text, path)
    }

    /// Parses a config held in memory; errors name `<memory>` as the path.
    pub fn from_json_str(text: &str) -> Result<LlamaConfig, HfError> {
        Self::parse(text, Path::new("<memory>"))
    }

    /// Parses `text`, naming `path` in errors.
    pub fn parse(text: &str, path: &Path) -> Result<LlamaConfig, HfError> {
        let err = |kind| HfError { path: path.to_path_buf(), kind };
        let v: Value = serde_json::from_str(text).map_err(|e| {
            err(HfErrorKind::InvalidJson { line: e.line(), column: e.column(), message: e.to_string() })
        })?;
        let obj = v.as_object().ok_or_else(|| err(HfErrorKind::NotAnObject))?;
        let f = Fields { obj };
        // Architecture first: a config of another family fails with that reason, not with a
        // missing Llama field.
        match obj.get("architectures") {
            None => return Err(err(HfErrorKind::MissingField("architectures"))),
            Some(Value::Array(a)) => {
                let names: Vec<String> =
                    a.iter().map(|x| x.as_str().map(str::to_owned).unwrap_or_else(|| x.to_string())).collect();
                if !names.iter().any(|n| SUPPORTED_ARCHITECTURES.contains(&n.as_str())) {
                    return Err(err(HfErrorKind::UnsupportedArchitecture(names)));
                }
            }
            Some(other) => {
                return Err(err(HfErrorKind::InvalidField {
                    field: "architectures",
                    expected: "an array of strings",
                    found: other.to_string(),
                }));
            }
        }
        let hidden_size = at(path, f.u32("hidden_size"))?;
        let num_attention_heads = at(path, f.u32("num_attention_heads"))?;
        let num_key_value_heads = at(path, f.opt_u32("num_key_value_heads"))?.unwrap_or(num_attention_heads);
        let head_dim = match at(path, f.opt_u32("head_dim"))? {
            Some(h) => h,
            None => {
                if hidden_size % num_attention_heads != 0 {
                    return Err(err(HfErrorKind::InvalidField {
                        field: "num_attention_heads",
                        expected: "a divisor of hidden_size when head_dim is absent",
                        found: num_attention_heads.to_string(),
                    }));
                }
                hidden_size / num_attention_heads
            }
        };
        if num_attention_heads % num_key_value_heads != 0 {
            return Err(err(HfErrorKind::InvalidField {
                field: "num_key_value_heads",
                expected: "a divisor of num_attention_heads",
                found: num_key_value_heads.to_string(),
            }));
        }
        let rope_scaling = match obj.get("rope_scaling") {
            None | Some(Value::Null) => None,
            Some(Value::Object(rs)) => {
                let t = rs.get("rope_type").or_else(|| rs.get("type")).and_then(Value::as_str);
                if t != Some("llama3") {
                    return Err(err(HfErrorKind::InvalidField {
                        field: "rope_scaling",
                        expected: "null or an object with rope_type \"llama3\"",
                        found: Value::Object(rs.clone()).to_string(),
                    }));
                }
                let rf = Fields { obj: rs };
                Some(RopeScaling {
                    factor: at(path, rf.f64_named("factor", "rope_scaling.factor"))?,
                    low_freq_factor: at(path, rf.f64_named("low_freq_factor", "rope_scaling.low_freq_factor"))?,
                    high_freq_factor: at(path, rf.f64_named("high_freq_factor", "rope_scaling.high_freq_factor"))?,
                    original_max_position_embeddings: at(path, rf.u32_named(
                        "original_max_position_embeddings",
                        "rope_scaling.original_max_position_embeddings",
                    ))?,
                })
            }
            Some(other) => {
                return Err(err(HfErrorKind::InvalidField {
                    field: "rope_scaling",
                    expected: "null or an object",
                    found: other.to_string(),
                }));
            }
        };
        let torch_dtype = match obj.get("torch_dtype").or_else(|| obj.get("dtype")) {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(other) => {
                return Err(err(HfErrorKind::InvalidField {
                    field: "torch_dtype",
                    expected: "a string",
                    found: other.to_string(),
                }));
            }
        };
        Ok(LlamaConfig {
            hidden_size,
            intermediate_size: at(path, f.u32("intermediate_size"))?,
            num_attention_heads,
            num_key_value_heads,
            head_dim,
            num_hidden_layers: at(path, f.u32("num_hidden_layers"))?,
            vocab_size: at(path, f.u32("vocab_size"))?,
            rms_norm_eps: at(path, f.f64_named("rms_norm_eps", "rms_norm_eps"))?,
            rope_theta: at(path, f.opt_f64("rope_theta"))?.unwrap_or(10000.0),
            rope_scaling,
            tie_word_embeddings: at(path, f.opt_bool("tie_word_embeddings"))?.unwrap_or(false),
            max_position_embeddings: at(path, f.u32("max_position_embeddings"))?,
            torch_dtype,
        })
    }

    /// Parameters in the checkpoint (embedding, layers, final norm and an untied `lm_head`).
    pub fn num_parameters(&self) -> u64 {
        let (h, i, v) = (self.hidden_size as u64, self.intermediate_size as u64, self.vocab_size as u64);
        let q = self.num_attention_heads as u64 * self.head_dim as u64;
        let kv = self.num_key_value_heads as u64 * self.head_dim as u64;
        let layer = h * (q + 2 * kv) + q * h + 3 * h * i + 2 * h;
        let lm_head = if self.tie_word_embeddings { 0 } else { v * h };
        v * h + self.num_hidden_layers as u64 * layer + h + lm_head
    }
}

fn at<T>(path: &Path, r: Result<T, HfErrorKind>) -> Result<T, HfError> {
    r.map_err(|kind| HfError { path: path.to_path_buf(), kind })
}

struct Fields<'a> {
    obj: &'a Map<String, Value>,
}

impl Fields<'_> {
    fn opt_u32(&self, k: &'static str) -> Result<Option<u32>, HfErrorKind> {
        self.opt_u32_named(k, k)
    }
    fn opt_u32_named(&self, k: &str, field: &'static str) -> Result<Option<u32>, HfErrorKind> {
        match self.obj.get(k) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => match v.as_u64() {
                Some(n) if n > 0 && n <= u32::MAX as u64 => Ok(Some(n as u32)),
                _ => Err(HfErrorKind::InvalidField {
                    field,
                    expected: "a positive integer below 2^32",
                    found: v.to_string(),
                }),
            },
        }
    }
    fn u32(&self, k: &'static str) -> Result<u32, HfErrorKind> {
        self.u32_named(k, k)
    }
    fn u32_named(&self, k: &str, field: &'static str) -> Result<u32, HfErrorKind> {
        self.opt_u32_named(k, field)?.ok_or(HfErrorKind::MissingField(field))
    }
    fn opt_f64(&self, k: &'static str) -> Result<Option<f64>, HfErrorKind> {
        self.opt_f64_named(k, k)
    }
    fn opt_f64_named(&self, k: &str, field: &'static str) -> Result<Option<f64>, HfErrorKind> {
        match self.obj.get(k) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => match v.as_f64() {
                Some(x) if x.is_finite() && x > 0.0 => Ok(Some(x)),
                _ => Err(HfErrorKind::InvalidField { field, expected: "a positive number", found: v.to_string() }),
            },
        }
    }
    fn f64_named(&self, k: &str, field: &'static str) -> Result<f64, HfErrorKind> {
        self.opt_f64_named(k, field)?.ok_or(HfErrorKind::MissingField(field))
    }
    fn opt_bool(&self, k: &'static str) -> Result<Option<bool>, HfErrorKind> {
        match self.obj.get(k) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(v) => Err(HfErrorKind::InvalidField { field: k, expected: "true or false", found: v.to_string() }),
        }
    }
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
        assert!(LlamaConfig::from_file(fixture("Llama-3.2-1B")).unwrap().rope_scaling.is_some(), "the round trip covers rope_scaling");
    }

    #[test]
    fn parses_the_four_fixtures() {
        let c = LlamaConfig::from_file(fixture("Llama-3.1-8B")).unwrap();
        assert_eq!((c.hidden_size, c.intermediate_size, c.num_hidden_layers), (4096, 14336, 32));
        assert_eq!((c.num_attention_heads, c.num_key_value_heads, c.head_dim), (32, 8, 128));
        assert_eq!(c.rope_scaling.unwrap().factor, 8.0);
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
        assert_eq!(e.kind, HfErrorKind::MissingField("vocab_size"));
        assert_eq!(e.to_string(), "x/config.json: missing field `vocab_size`");

        let e = LlamaConfig::parse("{\"architectures\": [", Path::new("y.json")).unwrap_err();
        assert!(matches!(e.kind, HfErrorKind::InvalidJson { line: 1, .. }), "{e:?}");
        assert!(e.to_string().starts_with("y.json:1:"));

        let e = LlamaConfig::from_json_str(r#"{"architectures": ["MistralForCausalLM"]}"#).unwrap_err();
        assert_eq!(e.kind, HfErrorKind::UnsupportedArchitecture(vec!["MistralForCausalLM".into()]));

        v["hidden_size"] = Value::from("4096");
        let e = LlamaConfig::from_json_str(&v.to_string()).unwrap_err();
        assert!(matches!(e.kind, HfErrorKind::InvalidField { field: "hidden_size", .. }), "{e:?}");

        let e = LlamaConfig::from_file("/nonexistent/config.json").unwrap_err();
        assert!(matches!(e.kind, HfErrorKind::Io(_)));
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
