//! An independent Llama reference: deterministic random Hugging Face checkpoints, and
//! candle-transformers' Llama run on them.
//!
//! The accuracy tests of issue 6 compare tttv2's Llama against this. Nothing here uses tttv2:
//! the checkpoint is written straight through the `safetensors` crate and read back by candle.
//!
//! # Conventions
//!
//! * **Weight layout** is Hugging Face's: a linear layer `y = x · Wᵀ` stores `W` as
//!   `[out_features, in_features]` (row-major), so `q_proj.weight` is `[heads·head_dim, hidden]`
//!   and `down_proj.weight` is `[hidden, intermediate]`. The embedding is `[vocab, hidden]`, and
//!   so is `lm_head.weight` (which is simply absent when `tie_word_embeddings` is set: the
//!   output projection then reuses `model.embed_tokens.weight`).
//! * **RoPE** follows Hugging Face's "rotate_half" (NeoX) layout: within a head, dimension `i`
//!   (for `i < head_dim/2`) is paired with `i + head_dim/2` — not with `i + 1` as in Meta's
//!   original interleaved checkpoints — and rotated by the angle `pos · theta^(-2i/head_dim)`.
//!   HF checkpoints of Llama have their q/k rows permuted for exactly this convention, and
//!   candle's `llama.rs` uses the matching `candle_nn::rotary_emb::rope` (not `rope_i`).
//! * **RMSNorm** is `x / sqrt(mean(x²) + eps) · weight`, eps inside the square root.
//! * **GQA**: query head `h` reads key/value head `h / (heads / kv_heads)` (HF `repeat_kv`).
//!
//! # What candle's Llama supports (0.11.1)
//!
//! It derives `head_dim` as `hidden_size / num_attention_heads` and ignores a `head_dim` field
//! in `config.json`; the candle entry points here reject a spec where the two differ rather than
//! silently computing something else. Its RoPE table holds `max_position_embeddings` positions,
//! so prompt + generated length must stay within it.

use std::borrow::Cow;
use std::fmt;
use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::llama::{Cache, Llama, LlamaConfig};
use safetensors::tensor::{Dtype, View};

/// The shape of a Llama-architecture model, in Hugging Face `config.json` terms.
#[derive(Debug, Clone, PartialEq)]
pub struct TinyLlamaSpec {
    /// `hidden_size`.
    pub hidden: usize,
    /// `intermediate_size` (width of the SwiGLU MLP).
    pub intermediate: usize,
    /// `num_attention_heads`.
    pub heads: usize,
    /// `num_key_value_heads` (GQA when smaller than `heads`; must divide it).
    pub kv_heads: usize,
    /// `head_dim`. candle requires `heads * head_dim == hidden`.
    pub head_dim: usize,
    /// `num_hidden_layers`.
    pub layers: usize,
    /// `vocab_size`.
    pub vocab: usize,
    pub rms_norm_eps: f64,
    pub rope_theta: f64,
    /// When true there is no `lm_head.weight`; the output projection is the embedding.
    pub tie_word_embeddings: bool,
    /// Length of the RoPE table, hence the longest prompt + generation candle accepts.
    pub max_position_embeddings: usize,
}

impl TinyLlamaSpec {
    /// A small GQA model that runs in milliseconds even in debug builds:
    /// hidden 64, 4 query heads and 2 KV heads of 16, 2 layers, vocab 256, untied head.
    pub fn tiny() -> Self {
        Self {
            hidden: 64,
            intermediate: 160,
            heads: 4,
            kv_heads: 2,
            head_dim: 16,
            layers: 2,
            vocab: 256,
            rms_norm_eps: 1e-5,
            rope_theta: 10_000.0,
            tie_word_embeddings: false,
            max_position_embeddings: 256,
        }
    }

    /// The model the accuracy tests compare on: hidden 256, GQA 4/2 heads of 64 (TT tile-aligned),
    /// 2 layers, vocab 512, untied head, 512 positions. Its `config.json` is committed as
    /// `tests/models/tiny-accuracy/config.json`, which the tests' models are declared from.
    pub fn accuracy() -> Self {
        Self {
            hidden: 256,
            intermediate: 512,
            heads: 4,
            kv_heads: 2,
            head_dim: 64,
            layers: 2,
            vocab: 512,
            rms_norm_eps: 1e-5,
            rope_theta: 10000.0,
            tie_word_embeddings: false,
            max_position_embeddings: 512,
        }
    }

    /// Llama-3.2-1B's shapes (tied embeddings, GQA 32/8, head_dim 64). Without its Llama-3
    /// `rope_scaling` block: the checkpoints written here always use plain RoPE.
    pub fn llama_3_2_1b() -> Self {
        Self {
            hidden: 2048,
            intermediate: 8192,
            heads: 32,
            kv_heads: 8,
            head_dim: 64,
            layers: 16,
            vocab: 128_256,
            rms_norm_eps: 1e-5,
            rope_theta: 500_000.0,
            tie_word_embeddings: true,
            max_position_embeddings: 2048,
        }
    }

    /// Checks the invariants every Llama needs (not candle-specific ones).
    pub fn validate(&self) -> Result<(), String> {
        let nonzero = [
            ("hidden", self.hidden),
            ("intermediate", self.intermediate),
            ("heads", self.heads),
            ("kv_heads", self.kv_heads),
            ("head_dim", self.head_dim),
            ("vocab", self.vocab),
            ("max_position_embeddings", self.max_position_embeddings),
        ];
        for (name, v) in nonzero {
            if v == 0 {
                return Err(format!("TinyLlamaSpec.{name} must be > 0"));
            }
        }
        if !self.heads.is_multiple_of(self.kv_heads) {
            return Err(format!("heads ({}) must be a multiple of kv_heads ({})", self.heads, self.kv_heads));
        }
        if !self.head_dim.is_multiple_of(2) {
            return Err(format!("head_dim ({}) must be even for RoPE", self.head_dim));
        }
        Ok(())
    }

    /// The Hugging Face `config.json` of a `LlamaForCausalLM` with these shapes, F32 weights.
    ///
    /// `bos_token_id`/`eos_token_id` are null: random weights have no meaningful end-of-sequence
    /// token, so generation on them runs to its token limit.
    pub fn config_json(&self) -> serde_json::Value {
        serde_json::json!({
            "architectures": ["LlamaForCausalLM"],
            "model_type": "llama",
            "hidden_size": self.hidden,
            "intermediate_size": self.intermediate,
            "num_attention_heads": self.heads,
            "num_key_value_heads": self.kv_heads,
            "head_dim": self.head_dim,
            "num_hidden_layers": self.layers,
            "vocab_size": self.vocab,
            "rms_norm_eps": self.rms_norm_eps,
            "rope_theta": self.rope_theta,
            "rope_scaling": null,
            "tie_word_embeddings": self.tie_word_embeddings,
            "max_position_embeddings": self.max_position_embeddings,
            "hidden_act": "silu",
            "attention_bias": false,
            "attention_dropout": 0.0,
            "mlp_bias": false,
            "pretraining_tp": 1,
            "initializer_range": 0.02,
            "use_cache": true,
            "bos_token_id": null,
            "eos_token_id": null,
            "torch_dtype": "float32",
        })
    }

    /// Every tensor of the checkpoint, by Hugging Face name, with its shape (`[out, in]` for
    /// linear layers), in a fixed order.
    pub fn tensor_shapes(&self) -> Vec<(String, Vec<usize>)> {
        let (h, q, kv, i) = (self.hidden, self.heads * self.head_dim, self.kv_heads * self.head_dim, self.intermediate);
        let mut out = vec![("model.embed_tokens.weight".to_string(), vec![self.vocab, h])];
        for l in 0..self.layers {
            let p = format!("model.layers.{l}");
            out.push((format!("{p}.input_layernorm.weight"), vec![h]));
            out.push((format!("{p}.self_attn.q_proj.weight"), vec![q, h]));
            out.push((format!("{p}.self_attn.k_proj.weight"), vec![kv, h]));
            out.push((format!("{p}.self_attn.v_proj.weight"), vec![kv, h]));
            out.push((format!("{p}.self_attn.o_proj.weight"), vec![h, q]));
            out.push((format!("{p}.post_attention_layernorm.weight"), vec![h]));
            out.push((format!("{p}.mlp.gate_proj.weight"), vec![i, h]));
            out.push((format!("{p}.mlp.up_proj.weight"), vec![i, h]));
            out.push((format!("{p}.mlp.down_proj.weight"), vec![h, i]));
        }
        out.push(("model.norm.weight".to_string(), vec![h]));
        if !self.tie_word_embeddings {
            out.push(("lm_head.weight".to_string(), vec![self.vocab, h]));
        }
        out
    }
}

// ---------------------------------------------------------------------------------------------
// Deterministic synthetic weights
// ---------------------------------------------------------------------------------------------

/// splitmix64 (Steele, Lea & Flood 2014): a tiny, well-mixed 64-bit generator, fully specified
/// so any other implementation can reproduce these weights bit for bit.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [-1, 1), with 24 random bits (exactly representable in f32).
    fn next_signed_unit(&mut self) -> f32 {
        let u = (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32;
        2.0 * u - 1.0
    }
}

/// FNV-1a of the tensor name, so each tensor has its own stream: its values depend only on
/// `(seed, name, shape)`, never on which other tensors exist or the order they are written in.
fn fnv1a(s: &str) -> u64 {
    s.bytes().fold(0xCBF2_9CE4_8422_2325, |h, b| (h ^ b as u64).wrapping_mul(0x0000_0100_0000_01B3))
}

/// The values of one checkpoint tensor, row-major, as `write_checkpoint` stores them.
///
/// * norm weights (1-D): `1 + 0.1·u`, i.e. in [0.9, 1.1);
/// * the embedding: `u`, uniform in [-1, 1);
/// * every linear weight `[out, in]` (projections, MLP, `lm_head`): `u · sqrt(3 / in)`, the
///   LeCun-uniform scale, so a unit-variance input gives unit-variance outputs and activations
///   stay O(1) through the layers.
pub fn synthetic_tensor(seed: u64, name: &str, shape: &[usize]) -> Vec<f32> {
    let n: usize = shape.iter().product();
    let mut rng = SplitMix64(seed ^ fnv1a(name));
    if shape.len() == 1 {
        (0..n).map(|_| 1.0 + 0.1 * rng.next_signed_unit()).collect()
    } else if name == "model.embed_tokens.weight" {
        (0..n).map(|_| rng.next_signed_unit()).collect()
    } else {
        let scale = (3.0 / shape[shape.len() - 1] as f64).sqrt() as f32;
        (0..n).map(|_| rng.next_signed_unit() * scale).collect()
    }
}

/// A tensor whose bytes are generated only when the serializer asks for them, so writing a
/// large (e.g. 1B-parameter) checkpoint holds one tensor in memory at a time. `values` makes
/// its values from (seed, name, shape).
pub struct LazyTensor {
    pub seed: u64,
    pub name: String,
    pub shape: Vec<usize>,
    pub values: fn(u64, &str, &[usize]) -> Vec<f32>,
}

impl View for LazyTensor {
    fn dtype(&self) -> Dtype {
        Dtype::F32
    }
    fn shape(&self) -> &[usize] {
        &self.shape
    }
    fn data(&self) -> Cow<'_, [u8]> {
        let values = (self.values)(self.seed, &self.name, &self.shape);
        Cow::Owned(values.iter().flat_map(|v| v.to_le_bytes()).collect())
    }
    fn data_len(&self) -> usize {
        self.shape.iter().product::<usize>() * 4
    }
}

/// Writes `dir/config.json` and `dir/model.safetensors` (F32, Hugging Face names) for `spec`,
/// with weights that are a pure function of `seed` (see [`synthetic_tensor`]). Creates `dir`.
pub fn write_checkpoint(dir: &Path, spec: &TinyLlamaSpec, seed: u64) -> std::io::Result<()> {
    spec.validate().map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
    std::fs::create_dir_all(dir)?;
    let config = serde_json::to_string_pretty(&spec.config_json()).map_err(std::io::Error::other)?;
    std::fs::write(dir.join("config.json"), config)?;
    let tensors = spec
        .tensor_shapes()
        .into_iter()
        .map(|(name, shape)| (name.clone(), LazyTensor { seed, name, shape, values: synthetic_tensor }));
    safetensors::serialize_to_file(tensors, None, &dir.join("model.safetensors")).map_err(std::io::Error::other)
}

/// A uniquely named directory under the system temp dir, removed (with its contents) on drop.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> std::io::Result<Self> {
        use std::sync::atomic::{AtomicU64, Ordering};
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let nanos =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!("tttv2-{tag}-{}-{n}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&path)?;
        Ok(Self(path))
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

// ---------------------------------------------------------------------------------------------
// candle-transformers' Llama
// ---------------------------------------------------------------------------------------------

/// The spec candle will actually run for `config` (head_dim derived as hidden / heads).
fn spec_of(config: &candle_transformers::models::llama::Config) -> TinyLlamaSpec {
    TinyLlamaSpec {
        hidden: config.hidden_size,
        intermediate: config.intermediate_size,
        heads: config.num_attention_heads,
        kv_heads: config.num_key_value_heads,
        head_dim: config.hidden_size / config.num_attention_heads.max(1),
        layers: config.num_hidden_layers,
        vocab: config.vocab_size,
        rms_norm_eps: config.rms_norm_eps,
        rope_theta: config.rope_theta as f64,
        tie_word_embeddings: config.tie_word_embeddings,
        max_position_embeddings: config.max_position_embeddings,
    }
}

/// Why running the candle reference failed.
#[derive(Debug)]
pub enum RefError {
    Io(PathBuf, std::io::Error),
    Config(PathBuf, String),
    Candle(candle_core::Error),
}

impl fmt::Display for RefError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RefError::Io(p, e) => write!(f, "{}: {e}", p.display()),
            RefError::Config(p, e) => write!(f, "{}: {e}", p.display()),
            RefError::Candle(e) => write!(f, "candle: {e}"),
        }
    }
}

impl std::error::Error for RefError {}

impl From<candle_core::Error> for RefError {
    fn from(e: candle_core::Error) -> Self {
        RefError::Candle(e)
    }
}

/// candle-transformers' Llama loaded from a checkpoint directory, on the CPU, in F32.
pub struct CandleLlama {
    pub model: Llama,
    pub config: candle_transformers::models::llama::Config,
    pub device: Device,
}

impl CandleLlama {
    /// Loads `dir/config.json` and `dir/model.safetensors` (a single file, as written by
    /// [`write_checkpoint`]).
    pub fn load(dir: &Path) -> Result<Self, RefError> {
        let config_path = dir.join("config.json");
        let text = std::fs::read_to_string(&config_path).map_err(|e| RefError::Io(config_path.clone(), e))?;
        let raw: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| RefError::Config(config_path.clone(), e.to_string()))?;
        Self::load_with_config(dir, raw)
    }

    /// Loads `dir/model.safetensors` with a `config.json`-shaped value given by the caller (in
    /// candle's own field names: candle reads `rope_theta` only at the top level, so a caller
    /// with a transformers-5 config passes the value from elsewhere).
    pub fn load_with_config(dir: &Path, raw: serde_json::Value) -> Result<Self, RefError> {
        let config_path = dir.join("config.json");
        let explicit_head_dim = raw.get("head_dim").and_then(|v| v.as_u64());
        let llama_config: LlamaConfig =
            serde_json::from_value(raw).map_err(|e| RefError::Config(config_path.clone(), e.to_string()))?;
        let config = llama_config.into_config(false);
        let spec = spec_of(&config);
        spec.validate().map_err(|e| RefError::Config(config_path.clone(), e))?;
        // candle derives head_dim = hidden / heads and ignores a `head_dim` field; refuse a
        // checkpoint it would silently misread.
        let derived_ok = config.hidden_size.is_multiple_of(config.num_attention_heads)
            && explicit_head_dim.is_none_or(|d| d as usize == spec.head_dim);
        if !derived_ok {
            return Err(RefError::Config(
                config_path,
                format!(
                    "candle's Llama needs hidden_size == num_attention_heads * head_dim \
                     (hidden_size {}, num_attention_heads {}, head_dim {explicit_head_dim:?})",
                    config.hidden_size, config.num_attention_heads
                ),
            ));
        }

        let weights_path = dir.join("model.safetensors");
        if !weights_path.is_file() {
            return Err(RefError::Io(weights_path, std::io::ErrorKind::NotFound.into()));
        }
        let device = Device::Cpu;
        // SAFETY: the mapping lives only until `Llama::load` returns, and that copies every
        // tensor out of it; nothing writes the checkpoint while it is being loaded.
        let st = unsafe { candle_core::safetensors::MmapedSafetensors::new(&weights_path)? };
        // candle's `Llama::load` unwraps inside its per-layer loop, so a missing or misshapen
        // layer tensor would panic there; check every name and shape first and say which.
        for (name, shape) in spec.tensor_shapes() {
            let found =
                st.get(&name).map_err(|_| RefError::Config(weights_path.clone(), format!("missing tensor {name}")))?;
            if found.shape() != shape.as_slice() {
                return Err(RefError::Config(
                    weights_path.clone(),
                    format!("tensor {name}: expected shape {shape:?}, found {:?}", found.shape()),
                ));
            }
        }
        let vb = VarBuilder::from_backend(Box::new(st), DType::F32, device.clone());
        let model = Llama::load(vb, &config)?;
        Ok(Self { model, config, device })
    }

    /// A fresh KV cache (RoPE tables for `max_position_embeddings` positions).
    pub fn new_cache(&self) -> Result<Cache, RefError> {
        Ok(Cache::new(true, DType::F32, &self.config, &self.device)?)
    }

    /// Runs `tokens` at positions `index_pos..index_pos + tokens.len()` (appending to the KV
    /// cache) and returns the logits of the last of them, `[vocab]`.
    pub fn forward(&self, tokens: &[u32], index_pos: usize, cache: &mut Cache) -> Result<Vec<f32>, RefError> {
        if tokens.is_empty() {
            return Err(RefError::Config(PathBuf::new(), "forward needs at least one token".into()));
        }
        if index_pos + tokens.len() > self.config.max_position_embeddings {
            return Err(RefError::Config(
                PathBuf::new(),
                format!(
                    "positions up to {} exceed max_position_embeddings {}",
                    index_pos + tokens.len(),
                    self.config.max_position_embeddings
                ),
            ));
        }
        if let Some(&t) = tokens.iter().find(|&&t| t as usize >= self.config.vocab_size) {
            return Err(RefError::Config(
                PathBuf::new(),
                format!("token {t} outside vocab {}", self.config.vocab_size),
            ));
        }
        let input = Tensor::new(tokens, &self.device)?.unsqueeze(0)?; // [1, seq]
        let logits = self.model.forward(&input, index_pos, cache)?; // [1, vocab]
        Ok(logits.squeeze(0)?.to_vec1::<f32>()?)
    }
}

/// Index of the largest logit (the first one on exact ties); `None` for an empty slice or NaN.
pub fn argmax(logits: &[f32]) -> Option<u32> {
    let mut best: Option<(usize, f32)> = None;
    for (i, &v) in logits.iter().enumerate() {
        if v.is_nan() {
            return None;
        }
        if best.is_none_or(|(_, b)| v > b) {
            best = Some((i, v));
        }
    }
    best.map(|(i, _)| i as u32)
}

/// Greedy generation with the KV cache: prefill `prompt` in one forward at position 0, then
/// one token per forward. Returns `steps` generated ids and, for each, the logits it was
/// chosen from: id 0 comes from the prefill logits, id `k` from the forward of id `k-1` at
/// position `prompt.len() + k - 1`.
pub fn try_candle_generate(dir: &Path, prompt: &[u32], steps: usize) -> Result<(Vec<u32>, Vec<Vec<f32>>), RefError> {
    let model = CandleLlama::load(dir)?;
    let mut cache = model.new_cache()?;
    let mut ids = Vec::with_capacity(steps);
    let mut all_logits = Vec::with_capacity(steps);
    if steps == 0 {
        return Ok((ids, all_logits));
    }
    let mut logits = model.forward(prompt, 0, &mut cache)?;
    for k in 0..steps {
        let next = argmax(&logits).ok_or_else(|| RefError::Config(dir.to_path_buf(), "logits contain NaN".into()))?;
        ids.push(next);
        all_logits.push(logits);
        if k + 1 == steps {
            break;
        }
        logits = model.forward(&[next], prompt.len() + k, &mut cache)?;
    }
    Ok((ids, all_logits))
}

/// Teacher forcing: prefill `prompt`, then feed `continuation` one token at a time. Returns
/// `continuation.len() + 1` logit vectors: after the prefill, then after each fed token. This
/// is what a side-by-side comparison wants, since both implementations see the same inputs even
/// where their greedy choices would differ.
pub fn try_candle_forced_logits(dir: &Path, prompt: &[u32], continuation: &[u32]) -> Result<Vec<Vec<f32>>, RefError> {
    let model = CandleLlama::load(dir)?;
    let mut cache = model.new_cache()?;
    let mut out = vec![model.forward(prompt, 0, &mut cache)?];
    for (k, &t) in continuation.iter().enumerate() {
        out.push(model.forward(&[t], prompt.len() + k, &mut cache)?);
    }
    Ok(out)
}

fn or_panic<T>(what: &str, r: Result<T, RefError>) -> T {
    r.unwrap_or_else(|e| panic!("candle reference ({what}) failed: {e}"))
}

/// Logits `[vocab]` of the last prompt position, the whole prompt run as one forward at
/// position 0 with the KV cache on. Panics (failing the test) with the reason if candle fails.
pub fn candle_prefill_logits(dir: &Path, tokens: &[u32]) -> Vec<f32> {
    or_panic("prefill", try_candle_forced_logits(dir, tokens, &[])).remove(0)
}

/// `steps` greedily generated ids (see [`try_candle_generate`]).
pub fn candle_greedy(dir: &Path, prompt: &[u32], steps: usize) -> Vec<u32> {
    or_panic("greedy", try_candle_generate(dir, prompt, steps)).0
}

/// The logits behind each of the `steps` ids of [`candle_greedy`]: element 0 is after the
/// prefill, element `k` after feeding candle's own greedy id `k-1`.
pub fn candle_decode_logits(dir: &Path, prompt: &[u32], steps: usize) -> Vec<Vec<f32>> {
    or_panic("decode logits", try_candle_generate(dir, prompt, steps)).1
}

/// Logits after the prefill and after each token of `continuation` (see
/// [`try_candle_forced_logits`]).
pub fn candle_forced_logits(dir: &Path, prompt: &[u32], continuation: &[u32]) -> Vec<Vec<f32>> {
    or_panic("teacher-forced logits", try_candle_forced_logits(dir, prompt, continuation))
}

// ---------------------------------------------------------------------------------------------
// Comparison metrics
// ---------------------------------------------------------------------------------------------

/// Pearson correlation coefficient of two equally long vectors, computed in f64.
/// Returns NaN when lengths differ or either side is constant.
pub fn pcc(a: &[f32], b: &[f32]) -> f64 {
    if a.len() != b.len() || a.is_empty() {
        return f64::NAN;
    }
    let n = a.len() as f64;
    let ma = a.iter().map(|&x| x as f64).sum::<f64>() / n;
    let mb = b.iter().map(|&x| x as f64).sum::<f64>() / n;
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for (&x, &y) in a.iter().zip(b) {
        let (dx, dy) = (x as f64 - ma, y as f64 - mb);
        sab += dx * dy;
        saa += dx * dx;
        sbb += dy * dy;
    }
    sab / (saa.sqrt() * sbb.sqrt())
}

/// Largest absolute elementwise difference (infinite when lengths differ).
pub fn max_abs_diff(a: &[f32], b: &[f32]) -> f64 {
    if a.len() != b.len() {
        return f64::INFINITY;
    }
    a.iter().zip(b).map(|(&x, &y)| (x as f64 - y as f64).abs()).fold(0.0, f64::max)
}
