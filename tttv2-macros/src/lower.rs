//! Turns the parsed struct into tttv2-core's model IR, remembering where each value was written
//! so errors the optimizer finds later point at the right token.

use std::collections::BTreeMap;

use proc_macro2::Span;
use tttv2_core::device::DeviceProfile;
use tttv2_core::ir::{LayerDecl, LayerKind, LinearDecl, ModelDecl};

use crate::ast::{LayerAttr, Model};
use crate::attr::ModelAttrs;
use crate::forced::field_for_rule;
use tttv2_core::rules::Rule;
use tttv2_core::ttnn::{MatmulProgramConfig, UnaryOpType, UnaryWithParam};

/// Puts the layer's activation into a forced config's `fused_activation`, as the planner does.
fn with_activation(mut pc: MatmulProgramConfig, act: Option<UnaryOpType>) -> MatmulProgramConfig {
    let a = act.map(UnaryWithParam::new);
    match &mut pc {
        MatmulProgramConfig::MultiCast2D(c) => c.fused_activation = a,
        MatmulProgramConfig::MultiCast1D(c) => c.fused_activation = a,
        MatmulProgramConfig::DramSharded(c) => c.fused_activation = a,
        MatmulProgramConfig::MultiCore(_) | MatmulProgramConfig::Reuse(_) => {}
    }
    pc
}

/// Where each layer's values were written.
pub struct Spans {
    /// Per layer: the field name's span and each key's value span.
    pub layers: Vec<(Span, BTreeMap<String, Span>)>,
    /// The model's name.
    pub model: Span,
}

impl Spans {
    /// The best span for an error in `layer` about `key` (for a forced program config, the
    /// field `rule` is about when the user wrote it).
    pub fn locate(&self, layer: Option<usize>, key: Option<&str>, rule: Rule) -> Span {
        let Some(i) = layer else { return self.model };
        let (field, keys) = &self.layers[i];
        if key == Some("program_config") {
            if let Some(s) = field_for_rule(rule).and_then(|f| keys.get(&format!("program_config.{f}"))) {
                return *s;
            }
        }
        key.and_then(|k| keys.get(k).copied()).unwrap_or(*field)
    }
}

/// Lowers a fully parsed model. Layers whose required values are missing were already reported
/// and are skipped by returning `None`.
pub fn lower(model: &Model, attrs: &ModelAttrs, device: DeviceProfile) -> Option<(ModelDecl, Spans)> {
    let mut layers = Vec::new();
    let mut spans = Vec::new();
    for layer in &model.layers {
        match &layer.kind {
            LayerAttr::Linear(l) => {
                let (Some(i), Some(o)) = (l.in_features, l.out_features) else { return None };
                layers.push(LayerDecl {
                    name: layer.ident.to_string(),
                    kind: LayerKind::Linear(LinearDecl {
                        in_features: i.value,
                        out_features: o.value,
                        bias: l.bias,
                        activation: l.activation,
                        weight_dtype: l.dtype,
                        math_fidelity: l.fidelity,
                        program_config: l.program_config.as_ref().map(|f| with_activation(f.config, l.activation)),
                    }),
                });
                spans.push((layer.ident.span(), l.spans.clone()));
            }
        }
    }
    Some((
        ModelDecl {
            name: model.ident.to_string(),
            device,
            policy: attrs.policy,
            mode: attrs.mode,
            batch: attrs.batch,
            layers,
        },
        Spans { layers: spans, model: model.span() },
    ))
}
