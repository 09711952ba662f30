use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};

use memmap2::Mmap;
use safetensors::{Dtype, SafeTensors};

use super::{Weight, WeightSource};
use crate::Error;

/// Weights from a Hugging Face checkpoint in safetensors format, memory-mapped.
///
/// Opens a directory holding `model.safetensors` or a sharded checkpoint
/// (`model.safetensors.index.json` naming `model-0000k-of-0000n.safetensors` files), or a single
/// `.safetensors` file. Tensors are looked up by their Hugging Face names and converted to f32
/// (from F32, F16 or BF16) when asked for.
pub struct SafetensorsWeights {
    files: Vec<(PathBuf, Mmap)>,
    /// name → (file index, dtype, shape, byte range in the file)
    index: BTreeMap<String, (usize, Dtype, Vec<usize>, (usize, usize))>,
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
                let map = json.get("weight_map").and_then(|m| m.as_object()).ok_or_else(|| {
                    weight_err(&index.display().to_string(), "has no `weight_map` object".to_owned())
                })?;
                let mut shards: Vec<PathBuf> = map
                    .values()
                    .filter_map(|v| v.as_str())
                    .map(|f| path.join(f))
                    .collect();
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
        let mut out = SafetensorsWeights { files: Vec::new(), index: BTreeMap::new() };
        for (i, file) in files.into_iter().enumerate() {
            let fname = file.display().to_string();
            let f = File::open(&file).map_err(|e| weight_err(&fname, format!("cannot open: {e}")))?;
            // SAFETY: the map is read-only; a checkpoint modified while mapped is the caller's
            // problem, as with every memory-mapped loader.
            let mmap = unsafe { Mmap::map(&f) }.map_err(|e| weight_err(&fname, format!("cannot map: {e}")))?;
            let (header, meta) = SafeTensors::read_metadata(&mmap)
                .map_err(|e| weight_err(&fname, format!("not a safetensors file: {e}")))?;
            let base = 8 + header;
            for (name, info) in meta.tensors() {
                let (a, b) = info.data_offsets;
                out.index.insert(name, (i, info.dtype, info.shape.clone(), (base + a, base + b)));
            }
            out.files.push((file, mmap));
        }
        Ok(out)
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
    fn weight(&self, name: &str) -> Result<Weight<'_>, Error> {
        let (file, dtype, shape, (a, b)) = self.index.get(name).ok_or_else(|| {
            weight_err(name, format!("not found in the checkpoint ({} tensors)", self.index.len()))
        })?;
        let bytes = &self.files[*file].1[*a..*b];
        let volume: usize = shape.iter().product();
        let data: Vec<f32> = match dtype {
            Dtype::F32 => bytes.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect(),
            Dtype::BF16 => bytes
                .chunks_exact(2)
                .map(|c| f32::from_bits((u16::from_le_bytes([c[0], c[1]]) as u32) << 16))
                .collect(),
            Dtype::F16 => bytes
                .chunks_exact(2)
                .map(|c| half::f16::from_bits(u16::from_le_bytes([c[0], c[1]])).to_f32())
                .collect(),
            other => {
                return Err(weight_err(name, format!("has dtype {other:?}; expected F32, F16 or BF16")));
            }
        };
        if data.len() != volume {
            return Err(weight_err(name, format!("shape {shape:?} needs {volume} values but the file holds {}", data.len())));
        }
        Ok(Weight { shape: shape.clone(), data: Cow::Owned(data) })
    }
}
