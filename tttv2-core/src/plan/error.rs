use std::fmt;

use crate::rules::{Rule, RuleViolation};

/// Why the planner could not produce a plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlanError {
    /// A config forced by the user breaks a TT-NN rule.
    Forced(RuleViolation),
    /// No candidate config passes the rules; the violation of the closest candidate.
    NoValidConfig {
        /// The op being planned.
        op: String,
        /// Why the last candidate failed.
        violation: RuleViolation,
    },
    /// The request itself is invalid (zero sizes, unsupported dtype…).
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

impl fmt::Display for PlanError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PlanError::Forced(v) => write!(f, "the forced config breaks rule {v}"),
            PlanError::NoValidConfig { op, violation } => {
                write!(f, "no valid config for `{op}`: {violation}")
            }
            PlanError::InvalidRequest(v) => write!(f, "invalid op: {v}"),
        }
    }
}

impl std::error::Error for PlanError {}
