use std::borrow::Cow;
use std::collections::BTreeMap;

use crate::Error;

/// One weight as a source provides it: shape and row-major f32 values.
#[derive(Debug, Clone, PartialEq)]
pub struct Weight<'a> {
    /// Shape, outermost first (a Hugging Face linear weight is `[out, in]`).
    pub shape: Vec<usize>,
    /// Row-major values.
    pub data: Cow<'a, [f32]>,
}

/// Where a model's `load` gets weights from, by name (`up.weight`, `up.bias`, or Hugging Face
/// names such as `model.layers.0.mlp.up_proj.weight`).
pub trait WeightSource {
    /// The weight called `name`, or an error naming it.
    fn weight(&self, name: &str) -> Result<Weight<'_>, Error>;

    /// Checks that these weights belong to the model compiled with `compiled` (a plan module's
    /// `model_config()`), as far as the source knows its own config: a checkpoint directory's
    /// `config.json`, a GGUF file's metadata. A field that would compute something else (RoPE
    /// base, norm epsilon, tied head, shapes, ...) is an error naming it, before any weight is
    /// read. Generated `load` calls it first. Sources that carry no config (weights built in
    /// memory) accept every model: the default.
    fn check_compiled(&self, compiled: &tttv2_core::hf::LlamaConfig) -> Result<(), Error> {
        let _ = compiled;
        Ok(())
    }
}

/// Weights held in memory, by name.
#[derive(Debug, Clone, Default)]
pub struct Weights {
    tensors: BTreeMap<String, (Vec<usize>, Vec<f32>)>,
}

impl Weights {
    /// No weights.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or replaces) a weight.
    pub fn insert(&mut self, name: impl Into<String>, shape: Vec<usize>, data: Vec<f32>) -> &mut Self {
        self.tensors.insert(name.into(), (shape, data));
        self
    }

    /// The names held, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.tensors.keys().map(String::as_str)
    }
}

impl WeightSource for Weights {
    fn weight(&self, name: &str) -> Result<Weight<'_>, Error> {
        let (shape, data) = self
            .tensors
            .get(name)
            .ok_or_else(|| Error::Weight { name: name.to_owned(), message: "not found".to_owned() })?;
        let volume: usize = shape.iter().product();
        if volume != data.len() {
            return Err(Error::Weight {
                name: name.to_owned(),
                message: format!("shape {shape:?} holds {volume} values but {} were given", data.len()),
            });
        }
        Ok(Weight { shape: shape.clone(), data: Cow::Borrowed(data) })
    }
}

/// Checks that a tensor read from `file` holds only finite values. A NaN or infinity in a
/// checkpoint is corruption or a broken conversion: uploaded, it would poison every activation it
/// touches, far from the tensor that caused it. The error counts both kinds and names the tensor
/// and the file; readers let a caller opt out (`allow_non_finite`).
pub(crate) fn check_finite(name: &str, file: &std::path::Path, data: &[f32]) -> Result<(), Error> {
    let (nan, inf) =
        data.iter().fold((0usize, 0usize), |(n, i), v| (n + v.is_nan() as usize, i + v.is_infinite() as usize));
    if nan + inf == 0 {
        return Ok(());
    }
    let first = data.iter().position(|v| !v.is_finite()).unwrap_or(0);
    Err(Error::Weight {
        name: name.to_owned(),
        message: format!(
            "{}: {nan} NaN and {inf} infinite values of {} (first at index {first}); expected finite weights (allow_non_finite(true) loads them anyway)",
            file.display(),
            data.len()
        ),
    })
}

/// Refuses a checkpoint that holds tensors the compiled model would not read. An unread tensor
/// means the file computes something the plan does not: a Qwen2's q/k/v biases under a plan
/// compiled without them, a second LM head under a tied one. Loaded without them, the model
/// would run and give garbage. `held` is what the file has (in its own names), `read` what the
/// model reads (mapped to those names); buffers that are only a cache of derived values
/// (`rotary_emb.inv_freq`, which transformers recomputes) are not weights and are let through.
/// Readers let a caller opt out (`allow_unused_tensors`).
pub(crate) fn check_all_read<'a>(
    file: &std::path::Path,
    held: impl IntoIterator<Item = &'a str>,
    read: &std::collections::BTreeSet<String>,
) -> Result<(), Error> {
    let unused: Vec<&str> =
        held.into_iter().filter(|n| !read.contains(*n) && !n.ends_with("rotary_emb.inv_freq")).collect();
    if unused.is_empty() {
        return Ok(());
    }
    const SHOWN: usize = 6;
    let mut list = unused.iter().take(SHOWN).map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ");
    if unused.len() > SHOWN {
        list.push_str(&format!(", … ({} more)", unused.len() - SHOWN));
    }
    Err(Error::Weight {
        name: unused[0].to_owned(),
        message: format!(
            "{}: holds {} tensor(s) the compiled model does not read: {list}; these weights are for another model (compile it from this checkpoint's config), or allow_unused_tensors(true) loads it without them",
            file.display(),
            unused.len()
        ),
    })
}
