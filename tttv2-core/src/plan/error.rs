use crate::rules::{Rule, RuleViolation};

/// Why the planner could not produce a plan.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    /// A config forced by the user breaks a TT-NN rule.
    #[error("the forced config breaks rule {0}")]
    Forced(RuleViolation),
    /// No candidate config passes the rules; the violation of the closest candidate.
    #[error("no valid config for `{op}`: {violation}")]
    NoValidConfig {
        /// The op being planned.
        op: String,
        /// Why the last candidate failed.
        violation: RuleViolation,
    },
    /// The request itself is invalid (zero sizes, unsupported dtype…).
    #[error("invalid op: {0}")]
    InvalidRequest(RuleViolation),
}

impl PlanError {
    /// The rule that was broken.
    pub fn rule(&self) -> Rule {
        match self {
            PlanError::Forced(v) | PlanError::InvalidRequest(v) => v.rule,
            PlanError::NoValidConfig { violation, .. } => violation.rule,
        }
    }
}
