//! A GGUF file (llama.cpp's format) as a model's configuration: the hyperparameters come from
//! its header (the metadata key/values and the tensor-info table), never from its tensor data,
//! so reading the config of a many-gigabyte checkpoint touches only its first few megabytes.
//!
//! Facts about the format used here (cited, not copied): ggml-org/llama.cpp
//! `ggml/include/gguf.h`, `docs/gguf.md` and gguf-py `gguf/constants.py`:
//! * little-endian throughout: the magic `GGUF`, a u32 version (2 and 3 share this layout;
//!   version 1 had 32-bit lengths), a u64 tensor count and a u64 key/value count;
//! * each key/value: a string key (u64 byte length, UTF-8 bytes), a u32 value type (`GGUFValueType`:
//!   0 u8, 1 i8, 2 u16, 3 i16, 4 u32, 5 i32, 6 f32, 7 bool, 8 string, 9 array, 10 u64, 11 i64,
//!   12 f64), the value; an array is a u32 element type, a u64 count, then the elements;
//! * each tensor info: a string name, a u32 dimension count (at most 4, `GGML_MAX_DIMS`), that
//!   many u64 dimensions listed innermost first (`token_embd.weight` is `[hidden, vocab]`), a
//!   u32 ggml type and a u64 data offset;
//! * the metadata keys (`Keys.LLM`, `Keys.Attention`, `Keys.Rope`, `Keys.Tokenizer`) and the
//!   tensor names (`token_embd`, `output`, `blk.N.attn_q`, `rope_freqs`, ...) of `constants.py`.
//!
//! Every length read from the file is checked against the bytes left in it before anything is
//! allocated or skipped: a truncated or corrupt header is an [`HfErrorKind::MalformedGguf`]
//! error, never a panic or a huge allocation.

use std::collections::BTreeMap;
use std::fmt;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Seek};
use std::path::Path;

use super::llama::{HfError, HfErrorKind, LlamaConfig};
use super::schema::{HfConfig, HfRope, TokenIds};

// ---------------------------------------------------------------------------------------------
// Telling a GGUF file from a config.json
// ---------------------------------------------------------------------------------------------

/// What `LlamaConfig::from_file` found at a path.
pub(super) enum Source {
    /// A GGUF file's header.
    Gguf(Header),
    /// Text, to be read as a config.json.
    Text(String),
}

/// Bytes looked at before deciding a file is not text: a binary file (a safetensors checkpoint
/// passed by mistake) is refused without reading all of it.
const SNIFF_BYTES: u64 = 8192;

/// Opens `path`: a GGUF header when the file starts with `GGUF`, its text when it is UTF-8
/// without NUL bytes (which JSON never holds raw), [`HfErrorKind::NotAConfig`] otherwise.
pub(super) fn open(path: &Path) -> Result<Source, HfError> {
    let err = |kind| HfError { path: path.to_path_buf(), kind };
    let io = |e: io::Error| err(HfErrorKind::Io(e.to_string()));
    let file = File::open(path).map_err(io)?;
    let len = file.metadata().map_err(io)?.len();
    let mut reader = BufReader::new(file);
    let mut bytes = Vec::new();
    (&mut reader).take(SNIFF_BYTES).read_to_end(&mut bytes).map_err(io)?;
    if bytes.starts_with(MAGIC) {
        reader.rewind().map_err(io)?;
        return read_header(reader, len).map(Source::Gguf).map_err(|f| err(f.into()));
    }
    if !looks_like_text(&bytes) {
        return Err(err(HfErrorKind::NotAConfig));
    }
    reader.read_to_end(&mut bytes).map_err(io)?;
    String::from_utf8(bytes).map(Source::Text).map_err(|_| err(HfErrorKind::NotAConfig))
}

/// Whether `path` is a GGUF file (starts with its magic); false for anything unreadable.
pub fn is_gguf(path: &Path) -> bool {
    let mut magic = [0u8; 4];
    File::open(path).and_then(|mut f| f.read_exact(&mut magic)).is_ok() && magic == *MAGIC
}

/// UTF-8 without NUL, allowing a character cut at the end of the sniffed prefix.
fn looks_like_text(prefix: &[u8]) -> bool {
    let utf8 = match std::str::from_utf8(prefix) {
        Ok(_) => true,
        Err(e) => e.error_len().is_none(),
    };
    utf8 && !prefix.contains(&0)
}

// ---------------------------------------------------------------------------------------------
// The container
// ---------------------------------------------------------------------------------------------

const MAGIC: &[u8; 4] = b"GGUF";

/// A metadata value. Arrays keep only their element type and length: the config needs no array's
/// contents (the vocabulary size is the length of `tokenizer.ggml.tokens`), and a tokenizer's
/// arrays are most of a header's bytes.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Value {
    /// u8, u16, u32, u64.
    Uint(u64),
    /// i8, i16, i32, i64.
    Int(i64),
    F32(f32),
    F64(f64),
    Bool(bool),
    Str(String),
    Array {
        /// The element type (`GGUFValueType`).
        elem: u32,
        /// The element count.
        len: u64,
    },
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Uint(v) => write!(f, "{v}"),
            Value::Int(v) => write!(f, "{v}"),
            Value::F32(v) => write!(f, "{v}"),
            Value::F64(v) => write!(f, "{v}"),
            Value::Bool(v) => write!(f, "{v}"),
            Value::Str(s) => write!(f, "{s:?}"),
            Value::Array { elem, len } => {
                write!(f, "an array of {len} {} values", type_name(*elem))
            }
        }
    }
}

fn type_name(ty: u32) -> &'static str {
    const NAMES: [&str; 13] =
        ["u8", "i8", "u16", "i16", "u32", "i32", "f32", "bool", "string", "array", "u64", "i64", "f64"];
    NAMES.get(ty as usize).copied().unwrap_or("values of an unknown type")
}

/// A GGUF header: its metadata and, for each tensor, its dimensions (innermost first).
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Header {
    pub kv: BTreeMap<String, Value>,
    pub tensors: BTreeMap<String, Vec<u64>>,
}

/// Why a header could not be read.
#[derive(Debug)]
pub(super) enum Fault {
    /// The file could not be read (not a format problem).
    Io(io::Error),
    /// The bytes are not a GGUF header: at `offset`, `message`.
    Malformed { offset: u64, message: String },
}

impl From<Fault> for HfErrorKind {
    fn from(f: Fault) -> HfErrorKind {
        match f {
            Fault::Io(e) => HfErrorKind::Io(e.to_string()),
            Fault::Malformed { offset, message } => HfErrorKind::MalformedGguf { offset, message },
        }
    }
}

/// Nested arrays are legal GGUF but never hold model hyperparameters; the limit only keeps a
/// hostile file from recursing deeply.
const MAX_ARRAY_DEPTH: u32 = 4;

/// ggml tensors have at most 4 dimensions (`GGML_MAX_DIMS`).
const MAX_DIMS: u32 = 4;

/// The smallest key/value pair: an empty key (8-byte length), its type (4) and a 1-byte value.
const MIN_KV_BYTES: u64 = 13;

/// The smallest tensor info: an empty name (8), the dimension count (4), the type (4), the
/// offset (8).
const MIN_TENSOR_BYTES: u64 = 24;

/// Reads a GGUF header from `r`, a file of `len` bytes, stopping before the tensor data.
pub(super) fn read_header<R: BufRead>(r: R, len: u64) -> Result<Header, Fault> {
    let mut c = Counted { r, pos: 0, len };
    if c.array::<4>("the magic")? != *MAGIC {
        return Err(c.malformed(0, "the file does not start with `GGUF`".into()));
    }
    version(&mut c)?;
    let n_tensors = c.u64("the tensor count")?;
    let n_kv = c.u64("the key/value count")?;
    c.fits(n_kv, MIN_KV_BYTES, "key/value pairs")?;
    c.fits(n_tensors, MIN_TENSOR_BYTES, "tensor infos")?;
    let mut kv = BTreeMap::new();
    for i in 0..n_kv {
        let at = c.pos;
        let key = c.string(&format!("key #{i}"))?;
        let ty = c.u32(&format!("the value type of `{key}`"))?;
        let value = c.value(ty, &key, 0)?;
        if kv.insert(key.clone(), value).is_some() {
            return Err(c.malformed(at, format!("the key `{key}` appears twice")));
        }
    }
    let mut tensors = BTreeMap::new();
    for i in 0..n_tensors {
        let at = c.pos;
        let (name, dims) = tensor_info(&mut c, i)?;
        if tensors.insert(name.clone(), dims).is_some() {
            return Err(c.malformed(at, format!("the tensor `{name}` appears twice")));
        }
    }
    Ok(Header { kv, tensors })
}

fn version<R: BufRead>(c: &mut Counted<R>) -> Result<(), Fault> {
    let v = c.u32("the version")?;
    match v {
        2 | 3 => Ok(()),
        1 => Err(c.malformed(
            4,
            "GGUF version 1 (32-bit lengths, 2023) is not read; fix: convert the model again with a current llama.cpp"
                .into(),
        )),
        // The version of a big-endian file, read little-endian.
        _ if matches!(v.swap_bytes(), 2 | 3) => {
            Err(c.malformed(4, "a big-endian GGUF file; tttv2 reads little-endian GGUF (llama.cpp's default)".into()))
        }
        _ => Err(c.malformed(4, format!("unknown GGUF version {v} (tttv2 reads versions 2 and 3)"))),
    }
}

fn tensor_info<R: BufRead>(c: &mut Counted<R>, i: u64) -> Result<(String, Vec<u64>), Fault> {
    let name = c.string(&format!("the name of tensor #{i}"))?;
    let at = c.pos;
    let n_dims = c.u32(&format!("the dimension count of `{name}`"))?;
    if n_dims > MAX_DIMS {
        return Err(c.malformed(
            at,
            format!("the tensor `{name}` has {n_dims} dimensions; ggml tensors have at most {MAX_DIMS}"),
        ));
    }
    let dims = (0..n_dims).map(|_| c.u64(&format!("a dimension of `{name}`"))).collect::<Result<Vec<_>, _>>()?;
    c.u32(&format!("the type of `{name}`"))?;
    c.u64(&format!("the data offset of `{name}`"))?;
    Ok((name, dims))
}

/// A reader that knows how many bytes the file has left, so that no length read from the file
/// is trusted before it is checked.
struct Counted<R> {
    r: R,
    pos: u64,
    len: u64,
}

impl<R: BufRead> Counted<R> {
    fn malformed(&self, offset: u64, message: String) -> Fault {
        Fault::Malformed { offset, message }
    }

    /// Fails unless `n` more bytes are in the file.
    fn need(&self, n: u64, what: &str) -> Result<(), Fault> {
        let left = self.len.saturating_sub(self.pos);
        if n > left {
            return Err(self.malformed(
                self.pos,
                format!("{what}: needs {n} bytes, but the file has {left} left; it is truncated or not GGUF"),
            ));
        }
        Ok(())
    }

    /// Fails unless `count` items of at least `min_bytes` each fit in the rest of the file.
    fn fits(&self, count: u64, min_bytes: u64, what: &str) -> Result<(), Fault> {
        match count.checked_mul(min_bytes) {
            Some(n) => self.need(n, &format!("{count} {what}")),
            None => Err(self.malformed(self.pos, format!("{count} {what} cannot fit in a file"))),
        }
    }

    fn array<const N: usize>(&mut self, what: &str) -> Result<[u8; N], Fault> {
        self.need(N as u64, what)?;
        let mut b = [0; N];
        self.r.read_exact(&mut b).map_err(Fault::Io)?;
        self.pos += N as u64;
        Ok(b)
    }

    fn u32(&mut self, what: &str) -> Result<u32, Fault> {
        self.array(what).map(u32::from_le_bytes)
    }

    fn u64(&mut self, what: &str) -> Result<u64, Fault> {
        self.array(what).map(u64::from_le_bytes)
    }

    /// A length-prefixed UTF-8 string, its length checked before it is allocated.
    fn string(&mut self, what: &str) -> Result<String, Fault> {
        let n = self.u64(&format!("the length of {what}"))?;
        self.need(n, what)?;
        let at = self.pos;
        let mut b = vec![0; n as usize];
        self.r.read_exact(&mut b).map_err(Fault::Io)?;
        self.pos += n;
        String::from_utf8(b).map_err(|_| self.malformed(at, format!("{what} is not UTF-8")))
    }

    /// Skips `n` bytes without keeping them.
    fn skip(&mut self, n: u64, what: &str) -> Result<(), Fault> {
        self.need(n, what)?;
        let copied = io::copy(&mut (&mut self.r).take(n), &mut io::sink()).map_err(Fault::Io)?;
        if copied != n {
            return Err(Fault::Io(io::Error::new(io::ErrorKind::UnexpectedEof, "the file shrank while it was read")));
        }
        self.pos += n;
        Ok(())
    }

    fn value(&mut self, ty: u32, key: &str, depth: u32) -> Result<Value, Fault> {
        let what = format!("the value of `{key}`");
        Ok(match ty {
            0 => Value::Uint(u8::from_le_bytes(self.array(&what)?) as u64),
            1 => Value::Int(i8::from_le_bytes(self.array(&what)?) as i64),
            2 => Value::Uint(u16::from_le_bytes(self.array(&what)?) as u64),
            3 => Value::Int(i16::from_le_bytes(self.array(&what)?) as i64),
            4 => Value::Uint(self.u32(&what)? as u64),
            5 => Value::Int(i32::from_le_bytes(self.array(&what)?) as i64),
            6 => Value::F32(f32::from_le_bytes(self.array(&what)?)),
            7 => self.bool(&what)?,
            8 => Value::Str(self.string(&what)?),
            9 => self.array_value(key, depth)?,
            10 => Value::Uint(self.u64(&what)?),
            11 => Value::Int(i64::from_le_bytes(self.array(&what)?)),
            12 => Value::F64(f64::from_le_bytes(self.array(&what)?)),
            _ => {
                return Err(
                    self.malformed(self.pos - 4, format!("`{key}` has the unknown value type {ty} (known: 0..=12)"))
                );
            }
        })
    }

    fn bool(&mut self, what: &str) -> Result<Value, Fault> {
        match self.array::<1>(what)? {
            [0] => Ok(Value::Bool(false)),
            [1] => Ok(Value::Bool(true)),
            [b] => Err(self.malformed(self.pos - 1, format!("{what} is a bool stored as {b}, not 0 or 1"))),
        }
    }

    /// An array, skipped: only its element type and length are kept.
    fn array_value(&mut self, key: &str, depth: u32) -> Result<Value, Fault> {
        let at = self.pos;
        let elem = self.u32(&format!("the element type of `{key}`"))?;
        let len = self.u64(&format!("the length of `{key}`"))?;
        let what = format!("the elements of `{key}`");
        match elem {
            8 => {
                self.fits(len, 8, &format!("strings in `{key}`"))?;
                for _ in 0..len {
                    let n = self.u64(&what)?;
                    self.skip(n, &what)?;
                }
            }
            9 if depth < MAX_ARRAY_DEPTH => {
                self.fits(len, 12, &format!("arrays in `{key}`"))?;
                for _ in 0..len {
                    self.array_value(key, depth + 1)?;
                }
            }
            9 => {
                return Err(self.malformed(at, format!("`{key}` nests arrays more than {MAX_ARRAY_DEPTH} deep")));
            }
            _ => match scalar_size(elem) {
                Some(size) => {
                    self.fits(len, size, &format!("{} values in `{key}`", type_name(elem)))?;
                    self.skip(len * size, &what)?;
                }
                None => {
                    return Err(self.malformed(at, format!("`{key}` is an array of the unknown value type {elem}")));
                }
            },
        }
        Ok(Value::Array { elem, len })
    }
}

/// Bytes per element of a fixed-size value type.
fn scalar_size(ty: u32) -> Option<u64> {
    match ty {
        0 | 1 | 7 => Some(1),
        2 | 3 => Some(2),
        4..=6 => Some(4),
        10..=12 => Some(8),
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------------
// The header as a LlamaConfig
// ---------------------------------------------------------------------------------------------

/// The GGUF architectures read, and the transformers architecture each is planned as. llama.cpp's
/// converter writes Mistral as `llama` (`convert_hf_to_gguf.py` registers `MistralForCausalLM`
/// under its Llama model).
const ARCHITECTURES: &[(&str, &str)] = &[("llama", "LlamaForCausalLM"), ("qwen2", "Qwen2ForCausalLM")];

/// The fix of every refusal below: the same model's config.json describes what the GGUF header
/// cannot.
const USE_CONFIG_JSON: &str = "use the model's Hugging Face config.json (`--config <model directory>`)";

/// The config a GGUF header describes; errors name the metadata key (or tensor) at fault.
pub(super) fn llama_config(h: &Header) -> Result<LlamaConfig, HfErrorKind> {
    let (arch, hf_arch) = architecture(h)?;
    let m = Meta { h, arch };
    split(&m)?;
    for (key, value) in h.kv.iter().filter(|(k, _)| k.strip_prefix(arch).is_some_and(|s| s.starts_with('.'))) {
        check_key(&key[arch.len() + 1..], key, value)?;
    }
    refused_tensors(h)?;
    let qkv_bias = qkv_bias(&m)?;
    let hf = hf_config(&m, hf_arch)?;
    let mut cfg = LlamaConfig::from_hf(&hf).map_err(|kind| rename(kind, &m))?;
    // A window the file states is taken even where the original config only declared it
    // (Qwen2 without `use_sliding_window`): it can only make the planner refuse a longer
    // context (`check_context`), never compute something else.
    cfg.sliding_window = m.count("attention.sliding_window")?;
    cfg.qkv_bias = qkv_bias;
    Ok(cfg)
}

fn architecture(h: &Header) -> Result<(&str, &'static str), HfErrorKind> {
    let key = "general.architecture";
    let arch = match h.kv.get(key) {
        Some(Value::Str(s)) => s.as_str(),
        Some(v) => return Err(invalid(key, "a string", v)),
        None => return Err(HfErrorKind::MissingField(key.into())),
    };
    match ARCHITECTURES.iter().find(|(a, _)| *a == arch) {
        Some((a, hf)) => Ok((a, hf)),
        None => Err(HfErrorKind::Unsupported {
            field: key.into(),
            found: format!("{arch:?}"),
            reason: "tttv2 plans the GGUF architectures \"llama\" (Llama, and Mistral, which llama.cpp writes as llama) and \"qwen2\"".into(),
            fix: "use a llama or qwen2 GGUF file, or the model's Hugging Face config.json if its architecture is one tttv2 plans".into(),
        }),
    }
}

/// A split model's first file lists only its own tensors, so the tied head and the biases cannot
/// be read from it.
fn split(m: &Meta) -> Result<(), HfErrorKind> {
    match m.h.kv.get("split.count") {
        Some(v @ Value::Uint(n)) if *n > 1 => Err(HfErrorKind::Unsupported {
            field: "split.count".into(),
            found: v.to_string(),
            reason: "the model is split over several files and this one's tensor table is partial, so whether the LM head is tied and whether q/k/v have biases cannot be read from it".into(),
            fix: format!("merge the parts into one file (`llama-gguf-split --merge`), or {USE_CONFIG_JSON}"),
        }),
        _ => Ok(()),
    }
}

/// The keys [`hf_config`] maps, under `{arch}.`.
const MAPPED: &[&str] = &[
    "vocab_size",
    "context_length",
    "embedding_length",
    "block_count",
    "feed_forward_length",
    "attention.head_count",
    "attention.head_count_kv",
    "attention.key_length",
    "attention.value_length",
    "attention.layer_norm_rms_epsilon",
    "attention.sliding_window",
    "rope.dimension_count",
    "rope.freq_base",
    "rope.scaling.type",
    "rope.scaling.factor",
    "rope.scale_linear",
];

/// Keys that do not change what the model computes: how the converter laid out tensors
/// (`tensor_data_layout`; the weight reader undoes the layout), whether the model was fine-tuned
/// for its scaling, and the original context, which llama.cpp uses only for YaRN (refused below).
const INERT: &[&str] = &["tensor_data_layout", "rope.scaling.finetuned", "rope.scaling.original_context_length"];

/// Every `{arch}.*` key is mapped, inert, at a value that changes nothing, or refused: a key
/// tttv2 does not know may change the numerics, so it is not ignored.
fn check_key(suffix: &str, key: &str, v: &Value) -> Result<(), HfErrorKind> {
    let zero = matches!(v, Value::Uint(0) | Value::Int(0));
    let one = as_f64(v) == Some(1.0);
    let fine = match suffix {
        s if MAPPED.contains(&s) || INERT.contains(&s) => true,
        "expert_count" | "expert_used_count" | "attention.max_alibi_bias" => zero || as_f64(v) == Some(0.0),
        "logit_scale" | "rope.scaling.attn_factor" => one,
        "attention.causal" => *v == Value::Bool(true),
        "use_parallel_residual" => *v == Value::Bool(false),
        _ => false,
    };
    if fine {
        return Ok(());
    }
    Err(HfErrorKind::Unsupported {
        field: key.into(),
        found: v.to_string(),
        reason: refusal(suffix).into(),
        fix: USE_CONFIG_JSON.into(),
    })
}

fn refusal(suffix: &str) -> &'static str {
    match suffix {
        "expert_count" | "expert_used_count" => "a mixture of experts, and tttv2 plans a dense MLP",
        "attention.max_alibi_bias" => "ALiBi attention biases, which tttv2's attention does not add",
        "logit_scale" => "the logits are multiplied by this factor, which tttv2's LM head does not do",
        "rope.scaling.attn_factor" => "cos/sin are multiplied by this attention factor, which tttv2's RoPE does not do",
        "attention.causal" => "attention that is not causal, and tttv2 plans causal attention",
        "use_parallel_residual" => {
            "attention and MLP side by side (parallel residual), and tttv2 plans them in sequence"
        }
        "attention.clamp_kqv" => "q, k and v are clamped to this bound, which tttv2's attention does not do",
        "attention.layer_norm_epsilon" => {
            "the model normalizes with LayerNorm (this is its epsilon), and tttv2 plans RMSNorm"
        }
        "attention.scale" => "attention scores are scaled by this instead of 1/sqrt(head_dim)",
        _ => "a hyperparameter tttv2 does not read; it may change the numerics, so it is refused rather than ignored",
    }
}

/// Tensors whose presence means numerics tttv2 does not plan.
fn refused_tensors(h: &Header) -> Result<(), HfErrorKind> {
    const NO_MLP_BIAS: &str = "use a checkpoint without MLP biases";
    let refused: [(&str, &str, &str); 5] = [
        (
            "rope_freqs.weight",
            "Llama 3 RoPE scaling, which llama.cpp's converter stores only as per-frequency divisors (this tensor): its parameters (factor, low_freq_factor, high_freq_factor, original_max_position_embeddings) are not in the metadata, and tttv2 reads no tensor data for a config",
            USE_CONFIG_JSON,
        ),
        (
            "blk.0.attn_output.bias",
            "a bias on the attention output projection, which tttv2 does not plan",
            "use a checkpoint without an o_proj bias",
        ),
        ("blk.0.ffn_gate.bias", MLP_BIAS, NO_MLP_BIAS),
        ("blk.0.ffn_up.bias", MLP_BIAS, NO_MLP_BIAS),
        ("blk.0.ffn_down.bias", MLP_BIAS, NO_MLP_BIAS),
    ];
    for (name, reason, fix) in refused {
        if let Some(dims) = h.tensors.get(name) {
            let found = format!("a tensor of dims {dims:?}");
            return Err(HfErrorKind::Unsupported { field: name.into(), found, reason: reason.into(), fix: fix.into() });
        }
    }
    Ok(())
}

const MLP_BIAS: &str = "a bias on the MLP projections, which tttv2's planned MLP does not apply";

/// The q/k/v bias, from its tensors: all three or none (Qwen2 always has them).
fn qkv_bias(m: &Meta) -> Result<bool, HfErrorKind> {
    let names = ["blk.0.attn_q.bias", "blk.0.attn_k.bias", "blk.0.attn_v.bias"];
    let present = names.map(|n| m.h.tensors.contains_key(n));
    match present {
        [true, true, true] => Ok(true),
        [false, false, false] if m.arch == "qwen2" => Err(HfErrorKind::InvalidField {
            field: names[0].into(),
            expected: "a tensor: the qwen2 architecture has q/k/v biases".into(),
            found: "no such tensor".into(),
        }),
        [false, false, false] => Ok(false),
        _ => {
            let missing = names.iter().zip(present).filter(|(_, p)| !p).map(|(n, _)| *n).collect::<Vec<_>>();
            Err(HfErrorKind::InvalidField {
                field: missing[0].into(),
                expected: "a tensor, as the other q/k/v biases are present".into(),
                found: format!("no {}", missing.join(", ")),
            })
        }
    }
}

/// The header's values as a config.json, so that [`LlamaConfig::from_hf`] applies the same
/// checks to both.
fn hf_config(m: &Meta, hf_arch: &str) -> Result<HfConfig, HfErrorKind> {
    let hidden = m.required("embedding_length")?;
    let heads = m.required("attention.head_count")?;
    let kv_heads = m.count("attention.head_count_kv")?.unwrap_or(heads);
    if heads % kv_heads != 0 {
        return Err(invalid(
            m.key("attention.head_count_kv"),
            format!("a divisor of `{}` ({heads})", m.key("attention.head_count")),
            kv_heads,
        ));
    }
    let head_dim = head_dim(m, hidden, heads)?;
    let vocab = vocab(m, hidden)?;
    let eps = m.number("attention.layer_norm_rms_epsilon")?;
    let theta = m.number("rope.freq_base")?;
    Ok(HfConfig {
        architectures: Some(vec![hf_arch.to_owned()]),
        hidden_size: Some(hidden),
        intermediate_size: Some(m.required("feed_forward_length")?),
        num_attention_heads: Some(heads),
        num_key_value_heads: Some(kv_heads),
        head_dim: Some(head_dim),
        num_hidden_layers: Some(m.required("block_count")?),
        vocab_size: Some(vocab),
        rms_norm_eps: Some(eps.ok_or_else(|| HfErrorKind::MissingField(m.key("attention.layer_norm_rms_epsilon")))?),
        // llama.cpp's default base, as transformers'.
        rope_theta: Some(theta.unwrap_or(10_000.0)),
        rope_scaling: linear_scaling(m)?.map(|factor| HfRope {
            rope_type: Some("linear".into()),
            factor: Some(factor),
            ..HfRope::default()
        }),
        tie_word_embeddings: Some(!m.h.tensors.contains_key("output.weight")),
        max_position_embeddings: Some(m.required("context_length")?),
        bos_token_id: m.token_id("tokenizer.ggml.bos_token_id")?.map(TokenIds::One),
        eos_token_id: eos(m)?,
        ..HfConfig::default()
    })
}

/// `attention.key_length`, else the width per head of the q projection, else hidden / heads;
/// the value width must equal it, and RoPE must rotate all of it.
///
/// llama.cpp takes hidden / heads when `key_length` is absent (and refuses a file whose q
/// projection disagrees); the q projection's width is what the weights compute with, so it is
/// taken here, and a `key_length` that contradicts it is an error.
fn head_dim(m: &Meta, hidden: u32, heads: u32) -> Result<u32, HfErrorKind> {
    let d = match (m.count("attention.key_length")?, q_width(m, hidden, heads)?) {
        (Some(k), Some(q)) if k != q => {
            let expected = format!("{q}, the width per head of `{Q_WEIGHT}`");
            return Err(invalid(m.key("attention.key_length"), expected, k));
        }
        (Some(d), _) | (None, Some(d)) => d,
        (None, None) if hidden.is_multiple_of(heads) => hidden / heads,
        (None, None) => {
            let expected = format!(
                "a divisor of `{}` ({hidden}) when `{}` is absent",
                m.key("embedding_length"),
                m.key("attention.key_length")
            );
            return Err(invalid(m.key("attention.head_count"), expected, heads));
        }
    };
    if let Some(v) = m.count("attention.value_length")?.filter(|&v| v != d) {
        return Err(HfErrorKind::Unsupported {
            field: m.key("attention.value_length"),
            found: v.to_string(),
            reason: format!("value heads narrower or wider than key heads ({d}), and tttv2 plans one head_dim"),
            fix: USE_CONFIG_JSON.into(),
        });
    }
    if let Some(r) = m.count("rope.dimension_count")?.filter(|&r| r != d) {
        return Err(HfErrorKind::Unsupported {
            field: m.key("rope.dimension_count"),
            found: r.to_string(),
            reason: format!(
                "RoPE would rotate {r} of each head's {d} dimensions, and tttv2's RoPE rotates the whole head_dim"
            ),
            fix: USE_CONFIG_JSON.into(),
        });
    }
    Ok(d)
}

const Q_WEIGHT: &str = "blk.0.attn_q.weight";

/// The q projection's output width per head, from its dims `[hidden, heads × head_dim]`.
fn q_width(m: &Meta, hidden: u32, heads: u32) -> Result<Option<u32>, HfErrorKind> {
    let per_head = |n: u64| {
        let d = n / heads as u64;
        (n > 0 && n.is_multiple_of(heads as u64)).then(|| u32::try_from(d).ok()).flatten()
    };
    match m.h.tensors.get(Q_WEIGHT).map(Vec::as_slice) {
        None => Ok(None),
        Some(&[h, n]) if h == hidden as u64 && per_head(n).is_some() => Ok(per_head(n)),
        Some(dims) => {
            let expected = format!(
                "dims [{hidden}, a multiple of {heads}] (`{}`, then heads × head_dim)",
                m.key("embedding_length")
            );
            Err(invalid(Q_WEIGHT, expected, format!("{dims:?}")))
        }
    }
}

/// The vocabulary size: `{arch}.vocab_size`, else the length of
/// `tokenizer.ggml.tokens`, else the rows of `token_embd.weight`. The embedding's rows are what
/// the model computes with, so a key that disagrees with them is an error.
fn vocab(m: &Meta, hidden: u32) -> Result<u32, HfErrorKind> {
    let vocab_key = m.key("vocab_size");
    let rows = match m.h.tensors.get("token_embd.weight").map(Vec::as_slice) {
        Some(&[h, v]) if h == hidden as u64 => Some(v),
        Some(dims) => {
            return Err(invalid(
                "token_embd.weight",
                format!(
                    "dims [{hidden}, vocab] (`{}` first: ggml lists the innermost dimension first)",
                    m.key("embedding_length")
                ),
                format!("{dims:?}"),
            ));
        }
        None => None,
    };
    let (n, key) = if let Some(v) = m.count("vocab_size")? {
        (v as u64, vocab_key)
    } else if let Some(Value::Array { len, .. }) = m.h.kv.get("tokenizer.ggml.tokens") {
        (*len, "tokenizer.ggml.tokens".to_owned())
    } else if let Some(v) = rows {
        (v, "token_embd.weight".to_owned())
    } else {
        return Err(HfErrorKind::MissingField(vocab_key));
    };
    if let Some(r) = rows.filter(|&r| r != n) {
        return Err(invalid(key, format!("{r}, the rows of `token_embd.weight`"), n));
    }
    match u32::try_from(n) {
        Ok(v) if v > 0 => Ok(v),
        _ => Err(invalid(key, "a vocabulary of 1 to 2^32 - 1 tokens", n)),
    }
}

/// Linear RoPE scaling as llama.cpp reads it (`llama-model.cpp`, `load_hparams`): the type
/// defaults to "linear", the factor is `rope.scaling.factor` or the older `rope.scale_linear`,
/// and 0 or absent means none; type "none" never scales (`llama-context.cpp`).
fn linear_scaling(m: &Meta) -> Result<Option<f64>, HfErrorKind> {
    let type_key = m.key("rope.scaling.type");
    let ty = m.string(&type_key)?;
    let factor = match m.number("rope.scaling.factor")? {
        Some(f) => Some(("rope.scaling.factor", f)),
        None => m.number("rope.scale_linear")?.map(|f| ("rope.scale_linear", f)),
    };
    match ty.unwrap_or("linear") {
        "none" => Ok(None),
        "linear" => match factor {
            None => Ok(None),
            Some((_, f)) if f == 0.0 || f == 1.0 => Ok(None),
            Some((_, f)) if f.is_finite() && f > 0.0 => Ok(Some(f)),
            Some((k, f)) => Err(invalid(m.key(k), "a positive number", f)),
        },
        "yarn" => Err(HfErrorKind::Unsupported {
            field: type_key,
            found: "\"yarn\"".into(),
            reason: "YaRN also multiplies cos/sin by an attention factor, which tttv2's RoPE does not apply".into(),
            fix:
                "none yet: YaRN needs cos/sin scaling in the planned RoPE; use a checkpoint with default or linear RoPE"
                    .into(),
        }),
        other => Err(HfErrorKind::Unsupported {
            field: type_key,
            found: format!("{other:?}"),
            reason: "a RoPE scaling tttv2 does not implement (implemented from GGUF: none, linear)".into(),
            fix: "use a checkpoint with default or linear RoPE".into(),
        }),
    }
}

/// `eos_token_id`, plus the end-of-turn token chat models stop on when it is another.
fn eos(m: &Meta) -> Result<Option<TokenIds>, HfErrorKind> {
    let mut ids: Vec<u32> = m.token_id("tokenizer.ggml.eos_token_id")?.into_iter().collect();
    if let Some(eot) = m.token_id("tokenizer.ggml.eot_token_id")?.filter(|t| !ids.contains(t)) {
        ids.push(eot);
    }
    Ok((!ids.is_empty()).then_some(TokenIds::Many(ids)))
}

/// [`LlamaConfig::from_hf`]'s errors name config.json fields; these are the keys they came from.
fn rename(kind: HfErrorKind, m: &Meta) -> HfErrorKind {
    const KEYS: &[(&str, &str)] = &[
        ("hidden_size", "embedding_length"),
        ("intermediate_size", "feed_forward_length"),
        ("num_attention_heads", "attention.head_count"),
        ("num_key_value_heads", "attention.head_count_kv"),
        ("head_dim", "attention.key_length"),
        ("num_hidden_layers", "block_count"),
        ("vocab_size", "vocab_size"),
        ("rms_norm_eps", "attention.layer_norm_rms_epsilon"),
        ("rope_theta", "rope.freq_base"),
        ("rope_scaling.factor", "rope.scaling.factor"),
        ("max_position_embeddings", "context_length"),
    ];
    let key = |f: String| KEYS.iter().find(|(hf, _)| *hf == f).map_or(f, |(_, k)| m.key(k));
    match kind {
        HfErrorKind::MissingField(f) => HfErrorKind::MissingField(key(f)),
        HfErrorKind::InvalidField { field, expected, found } => {
            HfErrorKind::InvalidField { field: key(field), expected, found }
        }
        HfErrorKind::Unsupported { field, found, reason, fix } => {
            HfErrorKind::Unsupported { field: key(field), found, reason, fix }
        }
        other => other,
    }
}

fn invalid(field: impl Into<String>, expected: impl Into<String>, found: impl ToString) -> HfErrorKind {
    HfErrorKind::InvalidField { field: field.into(), expected: expected.into(), found: found.to_string() }
}

/// A number as the config reads it. GGUF stores epsilons and RoPE bases as f32, the nearest f32
/// to the decimal in config.json (1e-5 is stored as 9.99999974737875e-6). Widening that f32
/// exactly would make the same model's GGUF and config.json disagree (and `first_difference`
/// report it); the shortest decimal that reads back as the same f32 is the converter's decimal
/// whenever it had at most 7 significant digits, as every epsilon and base in practice does.
fn as_f64(v: &Value) -> Option<f64> {
    match *v {
        Value::F32(x) => Some(format!("{x}").parse().unwrap_or(x as f64)),
        Value::F64(x) => Some(x),
        Value::Uint(x) => Some(x as f64),
        Value::Int(x) => Some(x as f64),
        _ => None,
    }
}

/// Typed look-ups in a header whose errors name the key.
struct Meta<'a> {
    h: &'a Header,
    arch: &'a str,
}

impl Meta<'_> {
    fn key(&self, suffix: &str) -> String {
        format!("{}.{suffix}", self.arch)
    }

    /// `{arch}.{suffix}`: a positive integer that fits in u32.
    fn count(&self, suffix: &str) -> Result<Option<u32>, HfErrorKind> {
        let key = self.key(suffix);
        match self.h.kv.get(&key) {
            None => Ok(None),
            Some(Value::Array { len, .. }) => Err(HfErrorKind::Unsupported {
                field: key,
                found: format!("{len} per-layer values"),
                reason: "layers of different shapes, and tttv2 plans identical layers".into(),
                fix: USE_CONFIG_JSON.into(),
            }),
            Some(v) => match integer(v).and_then(|n| u32::try_from(n).ok()) {
                Some(n) if n > 0 => Ok(Some(n)),
                _ => Err(invalid(key, "a positive integer", v)),
            },
        }
    }

    fn required(&self, suffix: &str) -> Result<u32, HfErrorKind> {
        self.count(suffix)?.ok_or_else(|| HfErrorKind::MissingField(self.key(suffix)))
    }

    /// `{arch}.{suffix}`: a number.
    fn number(&self, suffix: &str) -> Result<Option<f64>, HfErrorKind> {
        let key = self.key(suffix);
        match self.h.kv.get(&key) {
            None => Ok(None),
            Some(v) => as_f64(v).map(Some).ok_or_else(|| invalid(key, "a number", v)),
        }
    }

    fn string(&self, key: &str) -> Result<Option<&str>, HfErrorKind> {
        match self.h.kv.get(key) {
            None => Ok(None),
            Some(Value::Str(s)) => Ok(Some(s)),
            Some(v) => Err(invalid(key, "a string", v)),
        }
    }

    /// A token id (0 included).
    fn token_id(&self, key: &str) -> Result<Option<u32>, HfErrorKind> {
        match self.h.kv.get(key) {
            None => Ok(None),
            Some(v) => match integer(v).and_then(|n| u32::try_from(n).ok()) {
                Some(id) => Ok(Some(id)),
                None => Err(invalid(key, "a token id (an integer from 0 to 2^32 - 1)", v)),
            },
        }
    }
}

fn integer(v: &Value) -> Option<i128> {
    match *v {
        Value::Uint(n) => Some(n as i128),
        Value::Int(n) => Some(n as i128),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> Vec<u8> {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/gguf").join(name);
        std::fs::read(path).unwrap()
    }

    fn header(bytes: &[u8]) -> Result<Header, Fault> {
        read_header(bytes, bytes.len() as u64)
    }

    fn malformed_at(r: Result<Header, Fault>) -> u64 {
        match r {
            Err(Fault::Malformed { offset, .. }) => offset,
            other => panic!("expected a malformed-header error, got {other:?}"),
        }
    }

    #[test]
    fn reads_the_fixture_headers() {
        let h = header(&fixture("tiny_qwen2.gguf")).unwrap();
        assert_eq!(h.kv["general.architecture"], Value::Str("qwen2".into()));
        assert_eq!(h.kv["qwen2.context_length"], Value::Uint(128));
        assert_eq!(h.kv["qwen2.attention.layer_norm_rms_epsilon"], Value::F32(1e-5));
        assert_eq!(h.tensors["token_embd.weight"], vec![32, 8]);
        assert_eq!(h.tensors.len(), 15);
    }

    /// Every prefix shorter than the header fails with an offset inside the prefix; once the
    /// header is whole, the missing tensor data does not matter (it is never read).
    #[test]
    fn every_truncation_of_the_header_is_an_error() {
        let bytes = fixture("tiny_llama.gguf");
        let whole = (0..=bytes.len()).find(|&n| header(&bytes[..n]).is_ok()).unwrap();
        assert!(whole > 500 && whole < bytes.len(), "the header ends at {whole}");
        for n in 0..whole {
            let at = malformed_at(header(&bytes[..n]));
            assert!(at <= n as u64, "{n}: offset {at}");
        }
        assert_eq!(header(&bytes[..whole]).unwrap(), header(&bytes).unwrap());
    }

    /// Lengths and counts far past the file's end are refused before anything is allocated.
    #[test]
    fn huge_lengths_are_refused_before_allocating() {
        let start = |n_tensors: u64, n_kv: u64| {
            let mut b = b"GGUF".to_vec();
            b.extend(3u32.to_le_bytes());
            b.extend(n_tensors.to_le_bytes());
            b.extend(n_kv.to_le_bytes());
            b
        };
        let mut key = start(0, 1);
        key.extend(u64::MAX.to_le_bytes());
        key.extend([0; 16]);
        assert_eq!(malformed_at(header(&key)), 32);
        assert_eq!(malformed_at(header(&start(0, u64::MAX))), 24);
        assert_eq!(malformed_at(header(&start(1 << 40, 0))), 24);
        let mut array = start(0, 1);
        array.extend(1u64.to_le_bytes());
        array.extend(b"k");
        array.extend(9u32.to_le_bytes());
        for elem in [4u32, 8, 9] {
            let mut a = array.clone();
            a.extend(elem.to_le_bytes());
            a.extend((u64::MAX / 2).to_le_bytes());
            a.extend([0; 64]);
            assert_eq!(malformed_at(header(&a)), 49, "element type {elem}");
        }
    }

    #[test]
    fn corrupt_fields_are_errors() {
        let good = fixture("tiny_qwen2.gguf");
        let patched = |at: usize, bytes: &[u8]| {
            let mut b = good.clone();
            b[at..at + bytes.len()].copy_from_slice(bytes);
            header(&b)
        };
        assert_eq!(malformed_at(patched(0, b"GGUX")), 0);
        assert_eq!(malformed_at(patched(4, &1u32.to_le_bytes())), 4);
        assert_eq!(malformed_at(patched(4, &3u32.to_be_bytes())), 4);
        // The type of the first value (general.architecture, at 0x34).
        assert_eq!(malformed_at(patched(0x34, &13u32.to_le_bytes())), 0x34);
        // A key that is not UTF-8.
        assert_eq!(malformed_at(patched(0x20, &[0xff])), 0x20);
    }

    /// Arbitrary bytes after a valid start never panic.
    #[test]
    fn scrambled_headers_do_not_panic() {
        let good = fixture("tiny_llama.gguf");
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..2000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let mut b = good[..1200].to_vec();
            let at = 4 + (state % 1190) as usize;
            b[at] = (state >> 32) as u8;
            b[at + 1] = (state >> 40) as u8;
            let _ = header(&b);
        }
    }
}
