use serde::{Deserialize, Serialize};

/// The unary ops tttv2 can fuse or run, a subset of `ttnn::operations::unary::UnaryOpType`.
///
/// TT-NN's enum has 116 implicitly numbered members whose values move between commits
/// (ttnn-api.md §3), so we never share integers with it: the TT-NN backend maps by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum UnaryOpType {
    /// max(x, 0)
    Relu,
    /// x · sigmoid(x)
    Silu,
    /// Gaussian error linear unit (erf form; `param = 1.0` selects the tanh approximation).
    Gelu,
    /// 1 / (1 + e^-x)
    Sigmoid,
}

impl UnaryOpType {
    /// Parses the names users write in `activation = "..."`.
    pub fn parse(s: &str) -> Option<UnaryOpType> {
        Some(match s {
            "relu" => UnaryOpType::Relu,
            "silu" | "swish" => UnaryOpType::Silu,
            "gelu" => UnaryOpType::Gelu,
            "sigmoid" => UnaryOpType::Sigmoid,
            _ => return None,
        })
    }

    /// Every name accepted by [`UnaryOpType::parse`], for error messages.
    pub const NAMES: &'static [&'static str] = &["relu", "silu", "gelu", "sigmoid"];
}

/// `ttnn::operations::unary::UnaryWithParam` (= `BasicUnaryWithParam<float>`): the type of every
/// matmul `fused_activation`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct UnaryWithParam {
    /// Which op.
    pub op_type: UnaryOpType,
    /// Its optional parameter (e.g. GELU's approximate flag).
    pub param: Option<f32>,
}

impl UnaryWithParam {
    /// An op without parameter.
    pub const fn new(op_type: UnaryOpType) -> Self {
        UnaryWithParam { op_type, param: None }
    }
}
