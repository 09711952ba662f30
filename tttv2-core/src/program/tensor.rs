//! The tensors of a program: what each one is to the program that runs it ([`TensorRef`]), and
//! an op's tensor argument with its shape and placement ([`TensorArg`]).

use std::fmt;

use serde::Serialize;

use crate::ttnn::{DataType, MemoryConfig};

/// What a tensor an op reads or writes is: a weight the model holds once, a weight or KV cache
/// each decoder layer holds, a RoPE operand or input the step is handed, or a local the step
/// computes. Code generation places each kind (a field of the model, of its layer, an argument,
/// a `let`) by matching on it; its text (`self.lm_head`, `layer.wqkv`, `rope.cos`, `step.ids`,
/// `qkv`) is how the manifest and the graph name it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TensorRef {
    /// A weight the model holds once.
    Model(ModelWeight),
    /// A weight each decoder layer holds.
    Layer(LayerWeight),
    /// A decoder layer's KV cache, written in place.
    Cache(KvCache),
    /// A RoPE operand of the step.
    Rope(RopeInput),
    /// An input of the step.
    Step(StepInput),
    /// The weight (or, `bias`, the bias) of a `#[linear]` layer, by the field that holds it.
    LinearField {
        /// The field.
        field: String,
        /// The bias rather than the weight (an `Option` in the field: `None` when undeclared).
        bias: bool,
    },
    /// A value the step computes, by its name there.
    Local(String),
    /// User `user`'s rows of the local `local` (a per-user view of a batched prefill: TT-NN's
    /// `fill_cache` takes one user per call).
    UserRows {
        /// The batched local.
        local: String,
        /// The user.
        user: u32,
    },
}

/// A weight the model holds once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ModelWeight {
    /// The token-embedding table.
    EmbedTokens,
    /// The final norm's gamma.
    Norm,
    /// The LM head, whole.
    LmHead,
    /// One column piece of an LM head split into several.
    LmHeadPiece(u32),
}

/// A weight each decoder layer holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LayerWeight {
    /// The attention norm's gamma.
    AttentionNorm,
    /// The fused q/k/v projection.
    Wqkv,
    /// The fused q/k/v bias.
    WqkvBias,
    /// The attention output projection.
    Wo,
    /// The MLP norm's gamma.
    FfnNorm,
    /// The gate projection.
    W1,
    /// The down projection.
    W2,
    /// The up projection.
    W3,
}

/// Which of a layer's two caches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum KvCache {
    /// Keys.
    K,
    /// Values.
    V,
}

/// A RoPE operand.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RopeInput {
    /// The cosine table.
    Cos,
    /// The sine table.
    Sin,
    /// The rotation matrix.
    TransMat,
}

/// An input of a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum StepInput {
    /// The token ids.
    Ids,
}

impl ModelWeight {
    /// Its field in the model struct.
    pub fn field(self) -> String {
        match self {
            ModelWeight::EmbedTokens => "embed_tokens".into(),
            ModelWeight::Norm => "norm".into(),
            ModelWeight::LmHead => "lm_head".into(),
            ModelWeight::LmHeadPiece(i) => format!("lm_head_{i}"),
        }
    }

    /// Whether it is the LM head or a piece of it.
    pub fn is_lm_head(self) -> bool {
        matches!(self, ModelWeight::LmHead | ModelWeight::LmHeadPiece(_))
    }
}

impl LayerWeight {
    /// Its field in the layer struct.
    pub fn field(self) -> &'static str {
        match self {
            LayerWeight::AttentionNorm => "attention_norm",
            LayerWeight::Wqkv => "wqkv",
            LayerWeight::WqkvBias => "wqkv_bias",
            LayerWeight::Wo => "wo",
            LayerWeight::FfnNorm => "ffn_norm",
            LayerWeight::W1 => "w1",
            LayerWeight::W2 => "w2",
            LayerWeight::W3 => "w3",
        }
    }
}

impl KvCache {
    /// Its field in the layer struct.
    pub fn field(self) -> &'static str {
        match self {
            KvCache::K => "k_cache",
            KvCache::V => "v_cache",
        }
    }
}

impl RopeInput {
    /// Its field in the RoPE operands the step is handed.
    pub fn field(self) -> &'static str {
        match self {
            RopeInput::Cos => "cos",
            RopeInput::Sin => "sin",
            RopeInput::TransMat => "trans_mat",
        }
    }
}

impl StepInput {
    /// Its field in the step's uploaded inputs.
    pub fn field(self) -> &'static str {
        match self {
            StepInput::Ids => "ids",
        }
    }
}

impl TensorRef {
    /// A local of the step.
    pub fn local(name: impl Into<String>) -> Self {
        TensorRef::Local(name.into())
    }

    /// The local's name, if the tensor is a local of the step.
    pub fn as_local(&self) -> Option<&str> {
        match self {
            TensorRef::Local(n) => Some(n),
            _ => None,
        }
    }

    /// Whether the tensor is a local of the step (not a weight, cache, step input or view).
    pub fn is_local(&self) -> bool {
        matches!(self, TensorRef::Local(_))
    }

    /// Whether the device holds it for the model's lifetime (a weight or a KV cache), loaded or
    /// zeroed at load.
    pub fn is_resident(&self) -> bool {
        matches!(self, TensorRef::Model(_) | TensorRef::Layer(_) | TensorRef::Cache(_) | TensorRef::LinearField { .. })
    }
}

impl From<ModelWeight> for TensorRef {
    fn from(w: ModelWeight) -> Self {
        TensorRef::Model(w)
    }
}

impl From<LayerWeight> for TensorRef {
    fn from(w: LayerWeight) -> Self {
        TensorRef::Layer(w)
    }
}

impl From<KvCache> for TensorRef {
    fn from(c: KvCache) -> Self {
        TensorRef::Cache(c)
    }
}

impl From<RopeInput> for TensorRef {
    fn from(r: RopeInput) -> Self {
        TensorRef::Rope(r)
    }
}

impl From<StepInput> for TensorRef {
    fn from(s: StepInput) -> Self {
        TensorRef::Step(s)
    }
}

impl From<&str> for TensorRef {
    /// A local of the step.
    fn from(name: &str) -> Self {
        TensorRef::Local(name.to_owned())
    }
}

impl From<&String> for TensorRef {
    /// A local of the step.
    fn from(name: &String) -> Self {
        TensorRef::Local(name.clone())
    }
}

impl fmt::Display for TensorRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TensorRef::Model(w) => write!(f, "self.{}", w.field()),
            TensorRef::Layer(w) => write!(f, "layer.{}", w.field()),
            TensorRef::Cache(c) => write!(f, "layer.{}", c.field()),
            TensorRef::Rope(r) => write!(f, "rope.{}", r.field()),
            TensorRef::Step(s) => write!(f, "step.{}", s.field()),
            TensorRef::LinearField { field, bias } => {
                write!(f, "self.{field}.{}", if *bias { "bias" } else { "weight" })
            }
            TensorRef::Local(n) => f.write_str(n),
            TensorRef::UserRows { local, user } => write!(f, "{local}.user{user}"),
        }
    }
}

impl Serialize for TensorRef {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// A tensor an op reads or writes: what it is, and its shape and placement there.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TensorArg {
    /// What the tensor is.
    pub tensor: TensorRef,
    /// Logical 4-D shape.
    pub shape: [u32; 4],
    /// dtype.
    pub dtype: DataType,
    /// Memory config.
    pub memory_config: MemoryConfig,
}

impl TensorArg {
    /// Whether the tensor is a local of the step (not a weight, cache or step input).
    pub fn is_local(&self) -> bool {
        self.tensor.is_local()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The manifest and the graph name tensors as generated code writes them.
    #[test]
    fn tensors_print_as_generated_code_names_them() {
        let cases: [(TensorRef, &str); 8] = [
            (ModelWeight::EmbedTokens.into(), "self.embed_tokens"),
            (ModelWeight::LmHeadPiece(2).into(), "self.lm_head_2"),
            (LayerWeight::WqkvBias.into(), "layer.wqkv_bias"),
            (KvCache::V.into(), "layer.v_cache"),
            (RopeInput::TransMat.into(), "rope.trans_mat"),
            (StepInput::Ids.into(), "step.ids"),
            ("qkv".into(), "qkv"),
            (TensorRef::UserRows { local: "k_rot".into(), user: 3 }, "k_rot.user3"),
        ];
        for (t, text) in cases {
            assert_eq!(t.to_string(), text);
            assert_eq!(serde_json::to_value(&t).unwrap(), text);
        }
    }
}
