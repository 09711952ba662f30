use serde::Serialize;

use crate::device::DeviceProfile;
use crate::plan::{Mode, Policy};
use crate::ttnn::{DataType, MathFidelity, MatmulProgramConfig, UnaryOpType};

/// A whole model as declared.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelDecl {
    /// The struct's name.
    pub name: String,
    /// The target.
    pub device: DeviceProfile,
    /// dtype/fidelity policy.
    pub policy: Policy,
    /// Prefill or decode.
    pub mode: Mode,
    /// Rows per forward call (tokens × users) the plan is made for.
    pub batch: u32,
    /// Layers in execution order.
    pub layers: Vec<LayerDecl>,
}

/// One declared layer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LayerDecl {
    /// Field name; also the prefix of its weight names (`{name}.weight`).
    pub name: String,
    /// What it computes.
    pub kind: LayerKind,
}

/// The layer kinds the IR knows.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum LayerKind {
    /// `y = act(x · Wᵀ + b)` with a Hugging Face-style weight `[out, in]`.
    Linear(LinearDecl),
}

/// A linear layer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LinearDecl {
    /// Input features.
    pub in_features: u32,
    /// Output features.
    pub out_features: u32,
    /// Whether it has a bias.
    pub bias: bool,
    /// Activation applied to the output.
    pub activation: Option<UnaryOpType>,
    /// Override of the policy's weight dtype.
    pub weight_dtype: Option<DataType>,
    /// Override of the policy's math fidelity.
    pub math_fidelity: Option<MathFidelity>,
    /// A program config the user forces.
    pub program_config: Option<MatmulProgramConfig>,
}

impl LayerDecl {
    /// Features the layer consumes.
    pub fn in_features(&self) -> u32 {
        match &self.kind {
            LayerKind::Linear(l) => l.in_features,
        }
    }

    /// Features the layer produces.
    pub fn out_features(&self) -> u32 {
        match &self.kind {
            LayerKind::Linear(l) => l.out_features,
        }
    }
}
