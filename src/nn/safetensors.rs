use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};

use memmap2::Mmap;
use safetensors::{Dtype, SafeTensors};

use super::weights::{check_all_read, check_finite};
use super::{Weight, WeightSource};
use crate::Error;

/// Where a tensor is: (file index, dtype, shape, byte range in the file).
type IndexEntry = (usize, Dtype, Vec<usize>, (usize, usize));

/// Weights from a Hugging Face checkpoint in safetensors format, memory-mapped.
///
/// Opens a directory holding `model.safetensors` or a sharded checkpoint
/// (`model.safetensors.index.json` naming `model-0000k-of-0000n.safetensors` files), or a single
/// `.safetensors` file. Tensors are looked up by their Hugging Face names and converted to f32
/// (from F32, F16 or BF16) when asked for.
pub struct SafetensorsWeights {
    files: Vec<(PathBuf, Mmap)>,
    /// name → (file index, dtype, shape, byte range in the file)
    index: BTreeMap<String, IndexEntry>,
    allow_non_finite: bool,
    allow_unused: bool,
    /// What was opened (a directory or a file), as errors name it.
    origin: PathBuf,
    /// The checkpoint directory's `config.json`, when opened from a directory that has one.
    config: Option<PathBuf>,
}

fn weight_err(name: &str, message: String) -> Error {
    Error::Weight { name: name.to_owned(), message }
}

impl SafetensorsWeights {
    /// Opens a checkpoint directory or a single `.safetensors` file.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, Error> {
        let path = path.as_ref();
        let display = path.display().to_string();
        let files: Vec<PathBuf> = if path.is_dir() {
            let index = path.join("model.safetensors.index.json");
            let single = path.join("model.safetensors");
            if index.is_file() {
                let text = std::fs::read_to_string(&index)
                    .map_err(|e| weight_err(&index.display().to_string(), format!("cannot read: {e}")))?;
                let json: serde_json::Value = serde_json::from_str(&text)
                    .map_err(|e| weight_err(&index.display().to_string(), format!("invalid JSON: {e}")))?;
                let map = json
                    .get("weight_map")
                    .and_then(|m| m.as_object())
                    .ok_or_else(|| weight_err(&index.display().to_string(), "has no `weight_map` object".to_owned()))?;
                let mut shards: Vec<PathBuf> = map.values().filter_map(|v| v.as_str()).map(|f| path.join(f)).collect();
                shards.sort();
                shards.dedup();
                shards
            } else if single.is_file() {
                vec![single]
            } else {
                return Err(weight_err(
                    &display,
                    "holds neither model.safetensors nor model.safetensors.index.json".to_owned(),
                ));
            }
        } else {
            vec![path.to_path_buf()]
        };
        let config = Some(path.join("config.json")).filter(|c| path.is_dir() && c.is_file());
        let mut out = SafetensorsWeights {
            files: Vec::new(),
            index: BTreeMap::new(),
            allow_non_finite: false,
            allow_unused: false,
            origin: path.to_path_buf(),
            config,
        };
        for (i, file) in files.into_iter().enumerate() {
            let fname = file.display().to_string();
            let f = File::open(&file).map_err(|e| weight_err(&fname, format!("cannot open: {e}")))?;
            // SAFETY: the map is read-only; a checkpoint modified while mapped is the caller's
            // problem, as with every memory-mapped loader.
            let mmap = unsafe { Mmap::map(&f) }.map_err(|e| weight_err(&fname, format!("cannot map: {e}")))?;
            let (header, meta) = SafeTensors::read_metadata(&mmap).map_err(|e| {
                let why = diagnose(&mmap).unwrap_or_else(|| e.to_string());
                weight_err(&fname, format!("not a valid safetensors file: {why}"))
            })?;
            let base = 8 + header;
            for (name, info) in meta.tensors() {
                let (a, b) = info.data_offsets;
                if let Some((other, ..)) = out.index.get(&name) {
                    let other = out.files[*other].0.display().to_string();
                    return Err(weight_err(
                        &name,
                        format!("found in both {other} and {fname}; expected each tensor in one shard"),
                    ));
                }
                out.index.insert(name, (i, info.dtype, info.shape.clone(), (base + a, base + b)));
            }
            out.files.push((file, mmap));
        }
        Ok(out)
    }

    /// Lets NaN and infinite weights through instead of failing on them.
    pub fn allow_non_finite(mut self, allow: bool) -> Self {
        self.allow_non_finite = allow;
        self
    }

    /// Loads a checkpoint that holds tensors the compiled model does not read, instead of
    /// refusing it (see [`WeightSource::check_compiled`]).
    pub fn allow_unused_tensors(mut self, allow: bool) -> Self {
        self.allow_unused = allow;
        self
    }

    /// Every tensor name, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.index.keys().map(String::as_str)
    }

    /// The shape of `name`, if present.
    pub fn shape(&self, name: &str) -> Option<&[usize]> {
        self.index.get(name).map(|(_, _, s, _)| s.as_slice())
    }
}

impl WeightSource for SafetensorsWeights {
    /// Compares the checkpoint directory's `config.json` (if it has one) with the compiled
    /// config, then checks that the model reads every tensor the checkpoint holds.
    fn check_compiled(&self, compiled: &tttv2_core::hf::LlamaConfig) -> Result<(), Error> {
        if let Some(path) = &self.config {
            let at = path.display().to_string();
            let found = tttv2_core::hf::LlamaConfig::from_file(path).map_err(|e| weight_err(&at, e.to_string()))?;
            if let Some(d) = compiled.first_difference(&found) {
                return Err(weight_err(
                    &at,
                    format!(
                        "{d}: these weights are for another model; compile it from this config.json (or use the checkpoint it was compiled for)"
                    ),
                ));
            }
        }
        if self.allow_unused {
            return Ok(());
        }
        check_all_read(&self.origin, self.names(), &compiled.weight_names().into_iter().collect())
    }

    fn weight(&self, name: &str) -> Result<Weight<'_>, Error> {
        let (file, dtype, shape, (a, b)) = self.index.get(name).ok_or_else(|| {
            let files: Vec<String> = self.files.iter().map(|(p, _)| p.display().to_string()).collect();
            weight_err(name, format!("not found in the checkpoint {} ({} tensors)", files.join(", "), self.index.len()))
        })?;
        let (path, mmap) = &self.files[*file];
        let bytes = &mmap[*a..*b];
        let volume: usize = shape.iter().product();
        let data: Vec<f32> = match dtype {
            Dtype::F32 => bytes.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect(),
            Dtype::BF16 => {
                bytes.chunks_exact(2).map(|c| f32::from_bits((u16::from_le_bytes([c[0], c[1]]) as u32) << 16)).collect()
            }
            Dtype::F16 => {
                bytes.chunks_exact(2).map(|c| half::f16::from_bits(u16::from_le_bytes([c[0], c[1]])).to_f32()).collect()
            }
            other => {
                return Err(weight_err(
                    name,
                    format!("{}: has dtype {other:?}; expected F32, F16 or BF16", path.display()),
                ));
            }
        };
        if data.len() != volume {
            return Err(weight_err(
                name,
                format!("{}: shape {shape:?} needs {volume} values but the file holds {}", path.display(), data.len()),
            ));
        }
        if !self.allow_non_finite {
            check_finite(name, path, &data)?;
        }
        Ok(Weight { shape: shape.clone(), data: Cow::Owned(data) })
    }
}

/// Why `bytes` is not a valid safetensors file, in terms of the tensor at fault where there is
/// one: the safetensors crate reports overlapping or mis-sized tensors without naming them. `None`
/// when the header parses and every tensor checks out here (the crate's own message is used).
fn diagnose(bytes: &[u8]) -> Option<String> {
    let Some(len) = bytes.get(..8) else {
        return Some(format!("the file is {} bytes; expected at least the 8-byte header length", bytes.len()));
    };
    let n = u64::from_le_bytes(len.try_into().ok()?);
    let rest = bytes.len() as u64 - 8;
    if n > rest {
        return Some(format!("the header length is {n} bytes but only {rest} follow it: truncated or corrupt"));
    }
    let header: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(&bytes[8..8 + n as usize]).ok()?;
    let data_len = rest - n;
    let mut tensors: Vec<(&String, u64, u64, Option<u64>)> = Vec::new();
    for (name, info) in header.iter().filter(|(k, _)| k.as_str() != "__metadata__") {
        let offsets = info.get("data_offsets")?.as_array()?;
        let (a, b) = (offsets.first()?.as_u64()?, offsets.get(1)?.as_u64()?);
        let width = match info.get("dtype")?.as_str()? {
            "F64" | "I64" | "U64" => 8,
            "F32" | "I32" | "U32" => 4,
            "F16" | "BF16" | "I16" | "U16" => 2,
            "I8" | "U8" | "BOOL" | "F8_E4M3" | "F8_E5M2" => 1,
            _ => 0,
        };
        let elems =
            info.get("shape")?.as_array()?.iter().try_fold(1u64, |acc, d| d.as_u64().and_then(|d| acc.checked_mul(d)));
        let need = if width == 0 { None } else { elems.and_then(|e| e.checked_mul(width)) };
        tensors.push((name, a, b, need));
    }
    tensors.sort_by_key(|t| (t.1, t.2));
    let mut end = 0;
    for (name, a, b, need) in tensors {
        if b < a {
            return Some(format!("tensor `{name}`: data_offsets [{a}, {b}] end before they start"));
        }
        if b > data_len {
            return Some(format!(
                "tensor `{name}`: data_offsets [{a}, {b}] run past the {data_len} data bytes: truncated or corrupt"
            ));
        }
        if a < end {
            return Some(format!(
                "tensor `{name}`: data_offsets [{a}, {b}] overlap the previous tensor, which ends at {end}"
            ));
        }
        if a > end {
            return Some(format!(
                "tensor `{name}`: data_offsets [{a}, {b}] leave a gap after the previous tensor, which ends at {end}"
            ));
        }
        if let Some(need) = need
            && need != b - a
        {
            return Some(format!(
                "tensor `{name}`: its dtype and shape need {need} bytes but data_offsets [{a}, {b}] span {}",
                b - a
            ));
        }
        end = b;
    }
    if end != data_len {
        return Some(format!(
            "the tensors end at data byte {end} but the file holds {data_len}: expected no trailing bytes"
        ));
    }
    None
}
