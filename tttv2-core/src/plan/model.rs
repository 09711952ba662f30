use serde::Serialize;

use crate::ir::{LayerKind, ModelDecl};
use crate::rules::{Rule, RuleViolation};
use crate::ttnn::UnaryWithParam;

use super::llama::linear_op;
use super::{LinearPlan, LinearRequest, Mode, PlanError, plan_linear};
use crate::program::{PlannedOp, Program, Role, TensorArg, TensorRef};

/// The plan of a whole model: one entry per declared layer, in order.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelPlan {
    /// Per-layer plans, in the order of `ModelDecl::layers`.
    pub layers: Vec<LayerPlan>,
}

/// One layer's plan.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum LayerPlan {
    /// A linear.
    Linear(LinearPlan),
}

impl ModelPlan {
    /// Estimated time of one forward call, µs.
    pub fn estimate_us(&self) -> f64 {
        self.layers
            .iter()
            .map(|l| match l {
                LayerPlan::Linear(p) => p.cost.total_us,
            })
            .sum()
    }

    /// Largest L1 per core any op needs.
    pub fn l1_peak_bytes_per_core(&self) -> u64 {
        self.layers
            .iter()
            .map(|l| match l {
                LayerPlan::Linear(p) => p.l1.total(),
            })
            .max()
            .unwrap_or(0)
    }

    /// Most cores any op uses.
    pub fn max_cores(&self) -> u32 {
        self.layers
            .iter()
            .map(|l| match l {
                LayerPlan::Linear(p) => p.cost.cores,
            })
            .max()
            .unwrap_or(0)
    }
}

impl ModelPlan {
    /// The forward call as a program: one `linear` per layer in declaration order, from the
    /// caller's `x` to the last layer's output (a local named after the layer), each reading its
    /// field's weight and declared bias, each intermediate dropped after its one use.
    pub fn program(&self, model: &ModelDecl) -> Program {
        let mut ops: Vec<PlannedOp> = Vec::new();
        let mut input = String::from("x");
        for (layer, plan) in model.layers.iter().zip(&self.layers) {
            let LayerPlan::Linear(p) = plan;
            let mut weights = vec![format!("{}.weight", layer.name)];
            if p.config.bias {
                weights.push(format!("{}.bias", layer.name));
            }
            let mut op = linear_op(layer.name.clone(), None, weights, Mode::Prefill, p, &model.device);
            let arg = |op: &PlannedOp, tensor: TensorRef, role: Role| TensorArg {
                tensor,
                shape: op.shapes.tensors[&role],
                dtype: op.dtypes[&role],
                memory_config: op.memory_configs[&role],
            };
            let field = |bias| TensorRef::LinearField { field: layer.name.clone(), bias };
            op.inputs = vec![arg(&op, TensorRef::local(&input), Role::Input), arg(&op, field(false), Role::Weight)];
            if p.config.bias {
                op.inputs.push(arg(&op, field(true), Role::Bias));
            }
            // The caller's `x` is a parameter; a layer called `x` gets `x_out`.
            let output = if layer.name == "x" { "x_out".to_owned() } else { layer.name.clone() };
            op.outputs = vec![arg(&op, TensorRef::local(&output), Role::Output)];
            if input != "x" {
                op.deallocate.push(input);
            }
            input = output;
            ops.push(op);
        }
        Program { prologue: ops, layer_plans: Vec::new(), epilogue: Vec::new() }
    }
}

/// Where in the declaration an error belongs: the layer, and the attribute key if one is to
/// blame. The macro turns this into a span.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelError {
    /// Index into `ModelDecl::layers`; `None` for model-level errors.
    pub layer: Option<usize>,
    /// The attribute key to point at (`in`, `out`, `program_config`…), if any.
    pub key: Option<&'static str>,
    /// The broken rule.
    pub rule: Rule,
    /// The message, naming the rule and the fix.
    pub message: String,
}

/// Checks the model's structure and plans every layer. Returns every error found, not just the
/// first.
pub fn plan_model(model: &ModelDecl) -> Result<ModelPlan, Vec<ModelError>> {
    let mut errors = Vec::new();
    for (i, pair) in model.layers.windows(2).enumerate() {
        let (a, b) = (&pair[0], &pair[1]);
        if a.out_features() != b.in_features() {
            errors.push(ModelError {
                layer: Some(i + 1),
                key: Some("in"),
                rule: Rule::ShapeMismatch,
                message: format!(
                    "[{}] `{}` takes in = {} features but the previous layer `{}` produces out = {}; fix: set `in = {}` here or `out = {}` on `{}`",
                    Rule::ShapeMismatch,
                    b.name,
                    b.in_features(),
                    a.name,
                    a.out_features(),
                    a.out_features(),
                    b.in_features(),
                    a.name
                ),
            });
        }
    }
    let mut layers = Vec::new();
    for (i, layer) in model.layers.iter().enumerate() {
        match &layer.kind {
            LayerKind::Linear(l) => {
                let mut req =
                    LinearRequest::new(layer.name.clone(), model.batch, l.in_features, l.out_features, model.policy);
                req.bias = l.bias;
                req.activation = l.activation.map(UnaryWithParam::new);
                req.weight_dtype = l.weight_dtype;
                req.program_config = l.program_config;
                if let Some(f) = l.math_fidelity {
                    let wd = l.weight_dtype.unwrap_or(model.policy.matmul_weight_dtype());
                    let mut ckc = model.policy.matmul_compute_config(wd, &model.device);
                    ckc.math_fidelity = f;
                    req.compute_kernel_config = Some(ckc);
                }
                match plan_linear(&req, &model.device) {
                    Ok(p) => layers.push(LayerPlan::Linear(p)),
                    Err(e) => errors.push(ModelError {
                        layer: Some(i),
                        key: match e {
                            PlanError::Forced(_) => Some("program_config"),
                            _ => None,
                        },
                        rule: e.rule(),
                        message: describe(&layer.name, &e),
                    }),
                }
            }
        }
    }
    if errors.is_empty() { Ok(ModelPlan { layers }) } else { Err(errors) }
}

fn describe(layer: &str, e: &PlanError) -> String {
    let v: &RuleViolation = match e {
        PlanError::Forced(v) | PlanError::InvalidRequest(v) => v,
        PlanError::NoValidConfig { violation, .. } => violation,
    };
    let what = match e {
        PlanError::Forced(_) => "the forced program config",
        PlanError::NoValidConfig { .. } => "no valid config exists",
        PlanError::InvalidRequest(_) => "invalid layer",
    };
    format!("[{}] `{layer}`: {what}: {}; fix: {}", v.rule, v.message, v.fix)
}
