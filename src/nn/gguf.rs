//! GGUF checkpoints (llama.cpp's format) as a [`WeightSource`]: tensors dequantized to f32 and
//! handed out under their Hugging Face names, so a generated `load` reads a GGUF file exactly as
//! it reads a safetensors checkpoint and converts to the planned dtypes the same way.
//!
//! Crate choice: `candle-core`'s `quantized::gguf_file` parses the container and its
//! `QTensor::dequantize` turns every ggml block type into f32. It is maintained by Hugging Face,
//! already in the dependency tree (the accuracy tests' reference), reads GGUF v1–v3 and bounds
//! every length-prefixed read by the file size (caps mirroring llama.cpp's own). The small
//! GGUF-only crates parse the container but leave the dequantization of each block type to the
//! caller, which is the part worth not writing twice.
//!
//! Facts from llama.cpp used here (cited, not copied):
//! * tensor names: `gguf-py/gguf/constants.py` (`TENSOR_NAMES`) and `tensor_mapping.py`
//!   (`token_embd` ← `model.embed_tokens`, `blk.N.attn_q` ← `model.layers.N.self_attn.q_proj`,
//!   `output` ← `lm_head`, ...);
//! * ggml lists dimensions innermost first, the reverse of a Hugging Face shape
//!   (`gguf-py/gguf/gguf_writer.py` writes `reversed(tensor_shape)`); candle reverses them back;
//! * for the `llama` architecture `convert_hf_to_gguf.py` (`LlamaModel.modify_tensors` →
//!   `LlamaModel.permute`) reorders the rows of `q_proj` (with `num_attention_heads`) and
//!   `k_proj` (with `num_key_value_heads`) within each head: `reshape(n_head, 2, d/2, in)
//!   .swapaxes(1, 2)`, so GGUF row `2j + s` of a head is Hugging Face row `s·d/2 + j`. The reader
//!   undoes it; Qwen2 (`Qwen2Model`) is stored unpermuted;
//! * metadata keys `{arch}.embedding_length`, `{arch}.block_count`, ... : `constants.py`
//!   (`Keys.LLM`, `Keys.Attention`, `Keys.Rope`).

use std::borrow::Cow;
use std::fs::File;
use std::io::Cursor;
use std::path::{Path, PathBuf};

use candle_core::Device as CpuDevice;
use candle_core::quantized::GgmlDType;
use candle_core::quantized::gguf_file::{Content, TensorInfo, Value, VersionedMagic};
use memmap2::Mmap;
use tttv2_core::hf::{LlamaConfig, RopeScaling};

use super::weights::{check_all_read, check_finite};
use super::{Weight, WeightSource};
use crate::Error;

/// The architectures whose tensors map onto the planned Llama program.
const ARCHITECTURES: &[&str] = &["llama", "qwen2"];

/// The ggml block types whose dequantization is checked against ggml-org's own `gguf` Python
/// package (tests/gguf_load.rs); others are refused by name rather than trusted unchecked.
const DTYPES: &[GgmlDType] = &[
    GgmlDType::F32,
    GgmlDType::F16,
    GgmlDType::BF16,
    GgmlDType::Q4_0,
    GgmlDType::Q4_1,
    GgmlDType::Q5_0,
    GgmlDType::Q5_1,
    GgmlDType::Q8_0,
    GgmlDType::Q2K,
    GgmlDType::Q3K,
    GgmlDType::Q4K,
    GgmlDType::Q5K,
    GgmlDType::Q6K,
];

/// How a tensor's rows must be reordered to get Hugging Face's layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rows {
    AsStored,
    /// Undo `LlamaModel.permute` with this many heads.
    Unpermute(usize),
}

/// Weights from a GGUF file, memory-mapped, dequantized to f32 when asked for.
pub struct GgufWeights {
    path: PathBuf,
    mmap: Mmap,
    content: Content,
    arch: String,
    allow_non_finite: bool,
    allow_unused: bool,
}

fn file_err(path: &Path, message: impl Into<String>) -> Error {
    Error::Weight { name: path.display().to_string(), message: message.into() }
}

/// candle's message without the backtrace it attaches when `RUST_BACKTRACE` is set.
fn candle_msg(e: candle_core::Error) -> String {
    match e {
        candle_core::Error::WithBacktrace { inner, .. } => candle_msg(*inner),
        other => other.to_string(),
    }
}

/// The file's ggml type name as llama.cpp spells it.
fn dtype_name(t: GgmlDType) -> String {
    format!("{t:?}").replace("K", "_K")
}

/// `general.alignment` = 0 makes candle divide by zero while it places the tensor data
/// (`position.div_ceil(alignment)`), a panic rather than an error. The key is stored as its
/// length-prefixed bytes followed by a u32 value type and the value, so finding every occurrence
/// of those bytes with an integer type and a zero value rules it out before candle parses.
fn zero_alignment(bytes: &[u8]) -> bool {
    const KEY: &[u8] = b"general.alignment";
    let mut from = 0;
    while let Some(at) = bytes[from..].windows(KEY.len()).position(|w| w == KEY) {
        let p = from + at + KEY.len();
        if let Some(t) = bytes.get(p..p + 4) {
            let width = match u32::from_le_bytes([t[0], t[1], t[2], t[3]]) {
                0 | 1 => 1,
                2 | 3 => 2,
                4 | 5 => 4,
                _ => 0,
            };
            if width > 0 && bytes.get(p + 4..p + 4 + width).is_some_and(|v| v.iter().all(|&b| b == 0)) {
                return true;
            }
        }
        from += at + 1;
    }
    false
}

fn meta_u64(v: &Value) -> Option<u64> {
    match *v {
        Value::U8(x) => Some(x as u64),
        Value::U16(x) => Some(x as u64),
        Value::U32(x) => Some(x as u64),
        Value::U64(x) => Some(x),
        Value::I8(x) if x >= 0 => Some(x as u64),
        Value::I16(x) if x >= 0 => Some(x as u64),
        Value::I32(x) if x >= 0 => Some(x as u64),
        Value::I64(x) if x >= 0 => Some(x as u64),
        _ => None,
    }
}

fn meta_f64(v: &Value) -> Option<f64> {
    match *v {
        Value::F32(x) => Some(x as f64),
        Value::F64(x) => Some(x),
        _ => meta_u64(v).map(|x| x as f64),
    }
}

/// The llama.cpp name of a Hugging Face tensor name, and how its rows are stored.
fn gguf_name(hf: &str, arch: &str, heads: usize, kv_heads: usize) -> Option<(String, Rows)> {
    let fixed = match hf {
        "model.embed_tokens.weight" => Some("token_embd.weight"),
        "model.norm.weight" => Some("output_norm.weight"),
        "lm_head.weight" => Some("output.weight"),
        _ => None,
    };
    if let Some(n) = fixed {
        return Some((n.to_owned(), Rows::AsStored));
    }
    let rest = hf.strip_prefix("model.layers.")?;
    let (layer, part) = rest.split_once('.')?;
    let layer: usize = layer.parse().ok()?;
    let (module, kind) = part.rsplit_once('.')?;
    if kind != "weight" && kind != "bias" {
        return None;
    }
    let (short, rows) = match module {
        "input_layernorm" => ("attn_norm", Rows::AsStored),
        "post_attention_layernorm" => ("ffn_norm", Rows::AsStored),
        "self_attn.q_proj" if arch == "llama" => ("attn_q", Rows::Unpermute(heads)),
        "self_attn.k_proj" if arch == "llama" => ("attn_k", Rows::Unpermute(kv_heads)),
        "self_attn.q_proj" => ("attn_q", Rows::AsStored),
        "self_attn.k_proj" => ("attn_k", Rows::AsStored),
        "self_attn.v_proj" => ("attn_v", Rows::AsStored),
        "self_attn.o_proj" => ("attn_output", Rows::AsStored),
        "mlp.gate_proj" => ("ffn_gate", Rows::AsStored),
        "mlp.up_proj" => ("ffn_up", Rows::AsStored),
        "mlp.down_proj" => ("ffn_down", Rows::AsStored),
        _ => return None,
    };
    Some((format!("blk.{layer}.{short}.{kind}"), rows))
}

/// Undoes `LlamaModel.permute` on a `[heads · d, cols]` row-major tensor (`cols` = 1 for a bias).
fn unpermute_rows(data: &[f32], heads: usize, cols: usize) -> Option<Vec<f32>> {
    let rows = data.len() / cols.max(1);
    if heads == 0 || rows == 0 || !rows.is_multiple_of(heads) || !(rows / heads).is_multiple_of(2) {
        return None;
    }
    let d = rows / heads;
    let half = d / 2;
    let mut out = vec![0.0f32; data.len()];
    for h in 0..heads {
        for j in 0..half {
            for s in 0..2 {
                let (src, dst) = (h * d + 2 * j + s, h * d + s * half + j);
                out[dst * cols..(dst + 1) * cols].copy_from_slice(&data[src * cols..(src + 1) * cols]);
            }
        }
    }
    Some(out)
}

impl GgufWeights {
    /// Opens a GGUF (v2 or v3) file: parses its header and checks that every tensor's type is
    /// one the reader dequantizes and that its data lies inside the file.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, Error> {
        let path = path.as_ref().to_path_buf();
        let f = File::open(&path).map_err(|e| file_err(&path, format!("cannot open: {e}")))?;
        // SAFETY: the map is read-only; a file modified while mapped is the caller's problem, as
        // with every memory-mapped loader.
        let mmap = unsafe { Mmap::map(&f) }.map_err(|e| file_err(&path, format!("cannot map: {e}")))?;
        if mmap.get(..4) != Some(b"GGUF".as_slice()) {
            let found = mmap.get(..4).map_or_else(|| format!("{} bytes", mmap.len()), |m| format!("{m:02x?}"));
            return Err(file_err(
                &path,
                format!("not a GGUF file: expected the magic \"GGUF\" at offset 0, found {found}"),
            ));
        }
        if zero_alignment(&mmap) {
            return Err(file_err(
                &path,
                "corrupt GGUF: metadata `general.alignment` is 0; expected a positive alignment",
            ));
        }
        let content = Content::read(&mut Cursor::new(&mmap[..]))
            .map_err(|e| file_err(&path, format!("corrupt or truncated GGUF: {}", candle_msg(e))))?;
        if content.magic == VersionedMagic::GgufV1 {
            return Err(file_err(
                &path,
                "GGUF version 1 is not supported; expected version 2 or 3 (re-convert with a current llama.cpp)",
            ));
        }
        let arch = match content.metadata.get("general.architecture") {
            Some(Value::String(a)) => a.clone(),
            Some(v) => {
                return Err(file_err(
                    &path,
                    format!("metadata `general.architecture`: expected a string, found {v:?}"),
                ));
            }
            None => {
                return Err(file_err(&path, "metadata `general.architecture` is missing"));
            }
        };
        if !ARCHITECTURES.contains(&arch.as_str()) {
            return Err(file_err(
                &path,
                format!(
                    "metadata `general.architecture` = {arch:?}: expected one of {ARCHITECTURES:?} (the Llama-family layouts tttv2 plans)"
                ),
            ));
        }
        let len = mmap.len() as u64;
        for (name, info) in &content.tensor_infos {
            Self::check_tensor(&path, name, info, content.tensor_data_offset, len)?;
        }
        Ok(GgufWeights { path, mmap, content, arch, allow_non_finite: false, allow_unused: false })
    }

    /// Checks a tensor's type, size and place before anything reads it: candle would multiply
    /// the dimensions unchecked and trust the type's block size.
    fn check_tensor(path: &Path, name: &str, info: &TensorInfo, data_offset: u64, file_len: u64) -> Result<(), Error> {
        let err = |m: String| file_err(path, format!("tensor `{name}`: {m}"));
        if !DTYPES.contains(&info.ggml_dtype) {
            let known: Vec<String> = DTYPES.iter().map(|&t| dtype_name(t)).collect();
            return Err(err(format!("has ggml type {}; expected one of {known:?}", dtype_name(info.ggml_dtype))));
        }
        let dims = info.shape.dims();
        let elems = dims.iter().try_fold(1u64, |acc, &d| acc.checked_mul(d as u64));
        let block = info.ggml_dtype.block_size() as u64;
        let elems = match elems {
            // candle views an empty tensor's bytes (a dangling, byte-aligned pointer) as blocks
            // of a wider alignment: undefined behaviour, found by fuzzing. No weight is empty.
            Some(0) => {
                return Err(err(format!("shape {dims:?} holds no values; expected a non-empty tensor")));
            }
            Some(e) if e % block == 0 => e,
            _ => {
                return Err(err(format!(
                    "shape {dims:?} does not hold a whole number of {}-value {} blocks",
                    block,
                    dtype_name(info.ggml_dtype)
                )));
            }
        };
        // In u128: a fuzzed shape overflows u64 here (found by fuzzing).
        let bytes = (elems / block) as u128 * info.ggml_dtype.type_size() as u128;
        let start = data_offset as u128 + info.offset as u128;
        if start + bytes > file_len as u128 {
            return Err(err(format!(
                "{bytes} bytes of data at offset {start} run past the end of the file ({file_len} bytes): truncated or corrupt"
            )));
        }
        Ok(())
    }

    /// Lets NaN and infinite weights through instead of failing on them.
    pub fn allow_non_finite(mut self, allow: bool) -> Self {
        self.allow_non_finite = allow;
        self
    }

    /// Loads a file that holds tensors the compiled model does not read, instead of refusing it
    /// in [`check_config`](Self::check_config).
    pub fn allow_unused_tensors(mut self, allow: bool) -> Self {
        self.allow_unused = allow;
        self
    }

    /// The file read.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// `general.architecture` (`llama` or `qwen2`).
    pub fn architecture(&self) -> &str {
        &self.arch
    }

    /// Every tensor name in the file (llama.cpp's names), sorted.
    pub fn gguf_names(&self) -> Vec<&str> {
        let mut v: Vec<&str> = self.content.tensor_infos.keys().map(String::as_str).collect();
        v.sort_unstable();
        v
    }

    /// The ggml type of a tensor (llama.cpp's name), as llama.cpp spells it (`Q4_1`, `F32`).
    pub fn gguf_type(&self, gguf_name: &str) -> Option<String> {
        self.content.tensor_infos.get(gguf_name).map(|i| dtype_name(i.ggml_dtype))
    }

    /// A tensor by its llama.cpp name, dequantized, rows as stored (no Hugging Face reordering).
    pub fn read_gguf(&self, gguf_name: &str) -> Result<Weight<'_>, Error> {
        self.read(gguf_name, gguf_name, Rows::AsStored)
    }

    fn key(&self, suffix: &str) -> String {
        format!("{}.{suffix}", self.arch)
    }

    fn meta(&self, key: &str) -> Option<&Value> {
        self.content.metadata.get(key)
    }

    fn meta_count(&self, key: &str) -> Result<Option<u64>, Error> {
        match self.meta(key) {
            None => Ok(None),
            Some(v) => meta_u64(v).map(Some).ok_or_else(|| {
                file_err(&self.path, format!("metadata `{key}`: expected an unsigned integer, found {v:?}"))
            }),
        }
    }

    fn heads(&self) -> Result<(usize, usize), Error> {
        let hk = self.key("attention.head_count");
        let heads = self.meta_count(&hk)?.ok_or_else(|| file_err(&self.path, format!("metadata `{hk}` is missing")))?;
        let kv = self.meta_count(&self.key("attention.head_count_kv"))?.unwrap_or(heads);
        Ok((heads as usize, kv as usize))
    }

    /// Checks the file's hyperparameters against the model's config: every `{arch}.*` key that
    /// determines a shape or the numerics (`embedding_length`, `feed_forward_length`,
    /// `block_count`, head counts, head width, vocabulary, context, `rope.freq_base` and scaling,
    /// `attention.layer_norm_rms_epsilon`) and whether the LM head is tied. The error names the
    /// key, both values and the file.
    pub fn check_config(&self, cfg: &LlamaConfig) -> Result<(), Error> {
        let mismatch = |key: &str, found: String, field: &str, expected: String| {
            file_err(
                &self.path,
                format!("metadata `{key}` = {found} but the model was compiled with {field} = {expected}"),
            )
        };
        let counts: [(&str, &str, u64, bool); 8] = [
            ("embedding_length", "hidden_size", cfg.hidden_size as u64, true),
            ("feed_forward_length", "intermediate_size", cfg.intermediate_size as u64, true),
            ("block_count", "num_hidden_layers", cfg.num_hidden_layers as u64, true),
            ("attention.head_count", "num_attention_heads", cfg.num_attention_heads as u64, true),
            ("attention.head_count_kv", "num_key_value_heads", cfg.num_key_value_heads as u64, false),
            ("context_length", "max_position_embeddings", cfg.max_position_embeddings as u64, false),
            ("attention.key_length", "head_dim", cfg.head_dim as u64, false),
            ("attention.value_length", "head_dim", cfg.head_dim as u64, false),
        ];
        for (suffix, field, expected, required) in counts {
            let key = self.key(suffix);
            match self.meta_count(&key)? {
                Some(found) if found != expected => {
                    return Err(mismatch(&key, found.to_string(), field, expected.to_string()));
                }
                None if required => {
                    return Err(file_err(
                        &self.path,
                        format!("metadata `{key}` is missing; expected {field} = {expected}"),
                    ));
                }
                _ => {}
            }
        }
        // `head_count_kv` absent means as many KV heads as query heads (llama.cpp's default).
        let (heads, kv) = self.heads()?;
        if kv as u64 != cfg.num_key_value_heads as u64 {
            let key = self.key("attention.head_count_kv");
            return Err(mismatch(
                &key,
                format!("{kv} (absent: head_count = {heads})"),
                "num_key_value_heads",
                cfg.num_key_value_heads.to_string(),
            ));
        }
        // The vocabulary: `{arch}.vocab_size` when written, else the tokenizer's token list.
        let vocab_key = self.key("vocab_size");
        let vocab = match self.meta_count(&vocab_key)? {
            Some(v) => Some((vocab_key, v)),
            None => match self.meta("tokenizer.ggml.tokens") {
                Some(Value::Array(t)) => Some(("tokenizer.ggml.tokens".to_owned(), t.len() as u64)),
                _ => None,
            },
        };
        if let Some((key, v)) = vocab
            && v != cfg.vocab_size as u64
        {
            return Err(mismatch(&key, v.to_string(), "vocab_size", cfg.vocab_size.to_string()));
        }
        // Stored as f32: equal to the config's f64 rounded to f32.
        let floats = [
            ("attention.layer_norm_rms_epsilon", "rms_norm_eps", cfg.rms_norm_eps),
            ("rope.freq_base", "rope_theta", cfg.rope_theta),
        ];
        for (suffix, field, expected) in floats {
            let key = self.key(suffix);
            match self.meta(&key) {
                None if suffix == "rope.freq_base" && expected == 10_000.0 => {}
                None => {
                    return Err(file_err(
                        &self.path,
                        format!("metadata `{key}` is missing; expected {field} = {expected}"),
                    ));
                }
                Some(v) => match meta_f64(v) {
                    Some(found) if (found as f32) == (expected as f32) => {}
                    Some(found) => {
                        return Err(mismatch(&key, found.to_string(), field, expected.to_string()));
                    }
                    None => {
                        return Err(file_err(&self.path, format!("metadata `{key}`: expected a number, found {v:?}")));
                    }
                },
            }
        }
        self.check_rope_scaling(cfg)?;
        let has_output = self.content.tensor_infos.contains_key("output.weight");
        if has_output == cfg.tie_word_embeddings {
            let found = if has_output {
                "an LM head (`output.weight`)"
            } else {
                "no LM head (`output.weight`): the embedding is tied"
            };
            return Err(file_err(
                &self.path,
                format!(
                    "the file holds {found} but the model was compiled with tie_word_embeddings = {}",
                    cfg.tie_word_embeddings
                ),
            ));
        }
        // GGUF metadata has no key for the q/k/v bias: the tensors are the proof (llama.cpp's
        // `blk.N.attn_{q,k,v}.bias`, written for Qwen2).
        let has_bias = self.content.tensor_infos.contains_key("blk.0.attn_q.bias");
        if has_bias != cfg.qkv_bias {
            let found = if has_bias {
                "q/k/v biases (`blk.0.attn_q.bias`, ...)"
            } else {
                "no q/k/v biases (no `blk.0.attn_q.bias`)"
            };
            return Err(file_err(
                &self.path,
                format!(
                    "the file holds {found} but the model was compiled with qkv_bias = {} (attention_bias); these weights are for another model",
                    cfg.qkv_bias
                ),
            ));
        }
        if self.allow_unused {
            return Ok(());
        }
        let (heads, kv) = (cfg.num_attention_heads as usize, cfg.num_key_value_heads as usize);
        let mut read: std::collections::BTreeSet<String> =
            cfg.weight_names().iter().filter_map(|n| gguf_name(n, &self.arch, heads, kv).map(|(g, _)| g)).collect();
        // Read by check_rope_scaling (Llama 3's per-frequency divisors).
        read.insert("rope_freqs.weight".to_owned());
        check_all_read(&self.path, self.gguf_names(), &read)
    }

    /// RoPE scaling as llama.cpp stores it: `{arch}.rope.scaling.type` / `.factor` for linear
    /// scaling, a `rope_freqs.weight` tensor of per-frequency divisors for Llama 3's
    /// (`LlamaModel.generate_extra_tensors`). The file's inverse frequencies must equal the
    /// compiled ones (to f32 rounding).
    fn check_rope_scaling(&self, cfg: &LlamaConfig) -> Result<(), Error> {
        let type_key = self.key("rope.scaling.type");
        let kind = match self.meta(&type_key) {
            None => "none".to_owned(),
            Some(Value::String(s)) => s.clone(),
            Some(v) => {
                return Err(file_err(&self.path, format!("metadata `{type_key}`: expected a string, found {v:?}")));
            }
        };
        let d = cfg.head_dim as usize;
        let base: Vec<f64> = (0..d / 2).map(|i| cfg.rope_theta.powf(-((2 * i) as f64) / d as f64)).collect();
        let divisors: Vec<f64> = match kind.as_str() {
            "none" => vec![1.0; d / 2],
            "linear" => {
                let key = self.key("rope.scaling.factor");
                let f = self.meta(&key).and_then(meta_f64).filter(|f| *f > 0.0).ok_or_else(|| {
                    file_err(
                        &self.path,
                        format!("metadata `{key}`: expected a positive number with `{type_key}` = \"linear\""),
                    )
                })?;
                vec![f; d / 2]
            }
            other => {
                return Err(file_err(
                    &self.path,
                    format!(
                        "metadata `{type_key}` = {other:?}: expected \"none\" or \"linear\" (the RoPE scalings tttv2 implements)"
                    ),
                ));
            }
        };
        let divisors = match self.content.tensor_infos.get("rope_freqs.weight") {
            None => divisors,
            Some(_) => {
                let w = self.read("rope_freqs.weight", "rope_freqs.weight", Rows::AsStored)?;
                if w.data.len() != d / 2 {
                    return Err(file_err(
                        &self.path,
                        format!(
                            "tensor `rope_freqs.weight`: expected {} values (head_dim / 2), found {}",
                            d / 2,
                            w.data.len()
                        ),
                    ));
                }
                divisors.iter().zip(w.data.iter()).map(|(a, &b)| a * b as f64).collect()
            }
        };
        let compiled = cfg.rope_inv_freq();
        for (i, ((b, div), c)) in base.iter().zip(&divisors).zip(&compiled).enumerate() {
            let found = (b / div) as f32;
            if (found - c).abs() > 1e-6 * c.abs().max(f32::MIN_POSITIVE) {
                let scaling = match cfg.rope_scaling {
                    None => "none".to_owned(),
                    Some(RopeScaling::Linear { factor }) => format!("linear, factor {factor}"),
                    Some(RopeScaling::Dynamic { factor }) => format!("dynamic, factor {factor}"),
                    Some(RopeScaling::Llama3 { factor, .. }) => format!("llama3, factor {factor}"),
                };
                return Err(file_err(
                    &self.path,
                    format!(
                        "RoPE inverse frequency {i} is {found} (metadata `{type_key}` = {kind:?}{}) but the model was compiled with {c} (rope_scaling: {scaling})",
                        if self.content.tensor_infos.contains_key("rope_freqs.weight") {
                            ", with `rope_freqs.weight`"
                        } else {
                            ""
                        }
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Reads and dequantizes the GGUF tensor `gguf`, reported as `hf`.
    fn read(&self, hf: &str, gguf: &str, rows: Rows) -> Result<Weight<'_>, Error> {
        let err = |m: String| Error::Weight {
            name: hf.to_owned(),
            message: format!("{}: GGUF tensor `{gguf}`: {m}", self.path.display()),
        };
        let info = self.content.tensor_infos.get(gguf).ok_or_else(|| err("not found".to_owned()))?;
        let shape = info.shape.dims().to_vec();
        let q = info
            .read(&mut Cursor::new(&self.mmap[..]), self.content.tensor_data_offset, &CpuDevice::Cpu)
            .map_err(|e| err(format!("cannot read: {}", candle_msg(e))))?;
        let data = q
            .dequantize(&CpuDevice::Cpu)
            .and_then(|t| t.flatten_all())
            .and_then(|t| t.to_vec1::<f32>())
            .map_err(|e| err(format!("cannot dequantize {}: {e}", dtype_name(info.ggml_dtype))))?;
        let data = match rows {
            Rows::AsStored => data,
            Rows::Unpermute(heads) => {
                let cols = if shape.len() >= 2 { shape[1..].iter().product() } else { 1 };
                unpermute_rows(&data, heads, cols).ok_or_else(|| {
                    err(format!("shape {shape:?}: expected rows a multiple of 2 × {heads} heads to undo llama.cpp's q/k row permutation"))
                })?
            }
        };
        if !self.allow_non_finite {
            check_finite(hf, &self.path, &data)?;
        }
        Ok(Weight { shape, data: Cow::Owned(data) })
    }
}

impl WeightSource for GgufWeights {
    fn check_compiled(&self, compiled: &LlamaConfig) -> Result<(), Error> {
        self.check_config(compiled)
    }

    fn weight(&self, name: &str) -> Result<Weight<'_>, Error> {
        let (heads, kv) = self.heads().map_err(|e| Error::Weight { name: name.to_owned(), message: e.to_string() })?;
        let Some((gguf, rows)) = gguf_name(name, &self.arch, heads, kv) else {
            return Err(Error::Weight {
                name: name.to_owned(),
                message: format!("{}: no GGUF tensor corresponds to this Hugging Face name", self.path.display()),
            });
        };
        if !self.content.tensor_infos.contains_key(&gguf) {
            let hint = if gguf == "output.weight" {
                " (a GGUF file without `output.weight` ties the LM head to `token_embd.weight`: compile the model with tie_word_embeddings = true)"
            } else {
                ""
            };
            return Err(Error::Weight {
                name: name.to_owned(),
                message: format!(
                    "{}: not found (looked for GGUF tensor `{gguf}` among {} tensors){hint}",
                    self.path.display(),
                    self.content.tensor_infos.len()
                ),
            });
        }
        self.read(name, &gguf, rows)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unpermute_inverts_llama_cpp_permute() {
        // llama.cpp's permute of 2 heads of d = 4 rows, 1 column: rows of a head [0 1 2 3] (HF)
        // are stored as [0 2 1 3] (reshape(2, 2, 2).swapaxes(1, 2)).
        let hf: Vec<f32> = (0..8).map(|x| x as f32).collect();
        let stored = [0.0, 2.0, 1.0, 3.0, 4.0, 6.0, 5.0, 7.0];
        assert_eq!(unpermute_rows(&stored, 2, 1).unwrap(), hf);
        assert_eq!(unpermute_rows(&stored, 3, 1), None);
    }

    #[test]
    fn hugging_face_names_map_to_llama_cpp_names() {
        let q = gguf_name("model.layers.3.self_attn.q_proj.weight", "llama", 9, 3).unwrap();
        assert_eq!(q, ("blk.3.attn_q.weight".to_owned(), Rows::Unpermute(9)));
        let k = gguf_name("model.layers.0.self_attn.k_proj.bias", "qwen2", 9, 3).unwrap();
        assert_eq!(k, ("blk.0.attn_k.bias".to_owned(), Rows::AsStored));
        assert_eq!(gguf_name("model.layers.1.mlp.down_proj.weight", "llama", 9, 3).unwrap().0, "blk.1.ffn_down.weight");
        assert_eq!(gguf_name("model.layers.x.mlp.down_proj.weight", "llama", 9, 3), None);
        assert_eq!(gguf_name("model.rotary_emb.inv_freq", "llama", 9, 3), None);
    }

    #[test]
    fn zero_alignment_is_found_in_the_raw_bytes() {
        let mut b = b"xx\x11\0\0\0\0\0\0\0general.alignment".to_vec();
        b.extend_from_slice(&4u32.to_le_bytes());
        assert!(!zero_alignment(&[b.as_slice(), &32u32.to_le_bytes()].concat()));
        assert!(zero_alignment(&[b.as_slice(), &0u32.to_le_bytes()].concat()));
    }
}
