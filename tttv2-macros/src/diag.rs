//! The codes of the macro's own diagnostics (parsing and cross-field checks): the `[code]` every
//! message opens with, so users can search for it and tests can name it. Rules the planner checks
//! (TT-NN's validation, L1, DRAM) are core's [`tttv2_core::rules::Rule`], whose codes are written
//! the same way.

use std::fmt;

/// A diagnostic the macro raises before planning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Diag {
    ActivationNotFusable,
    AttributeSyntax,
    ConfigAndFields,
    ConfigJson,
    DeviceFeature,
    DeviceOrDevices,
    DevicesEmpty,
    DimensionRange,
    DuplicateDevice,
    DuplicateKey,
    DuplicateLayer,
    DuplicateLayerAttribute,
    ExpectedBool,
    ExpectedInteger,
    ExpectedList,
    ExpectedNumber,
    ExpectedString,
    FieldType,
    GenericModel,
    HeadDimConsistent,
    HeadDimTile,
    HeadsDivideHidden,
    IncompleteDecoder,
    KvHeadsDivideHeads,
    MemoryBudgetSyntax,
    MissingKey,
    MissingLayerAttribute,
    MissingProgramConfigField,
    MixedLayers,
    NamedFields,
    NoLayers,
    NormDim,
    PositiveNumber,
    ProgramConfigSyntax,
    RangeEmpty,
    RangeSyntax,
    RopeScaling,
    SeqLenRange,
    StructOnly,
    UnknownActivation,
    UnknownDevice,
    UnknownFidelity,
    UnknownKey,
    UnknownMode,
    UnknownOptimizeFor,
    UnknownPolicy,
    UnknownProgramConfig,
    UnknownProgramConfigField,
    UnsupportedActivation,
    UnsupportedDtype,
    VocabConsistent,
}

impl Diag {
    /// Every code, for the tests that keep the list and the UI cases in step.
    #[cfg(test)]
    pub(crate) const ALL: [Diag; 51] = [
        Diag::ActivationNotFusable,
        Diag::AttributeSyntax,
        Diag::ConfigAndFields,
        Diag::ConfigJson,
        Diag::DeviceFeature,
        Diag::DeviceOrDevices,
        Diag::DevicesEmpty,
        Diag::DimensionRange,
        Diag::DuplicateDevice,
        Diag::DuplicateKey,
        Diag::DuplicateLayer,
        Diag::DuplicateLayerAttribute,
        Diag::ExpectedBool,
        Diag::ExpectedInteger,
        Diag::ExpectedList,
        Diag::ExpectedNumber,
        Diag::ExpectedString,
        Diag::FieldType,
        Diag::GenericModel,
        Diag::HeadDimConsistent,
        Diag::HeadDimTile,
        Diag::HeadsDivideHidden,
        Diag::IncompleteDecoder,
        Diag::KvHeadsDivideHeads,
        Diag::MemoryBudgetSyntax,
        Diag::MissingKey,
        Diag::MissingLayerAttribute,
        Diag::MissingProgramConfigField,
        Diag::MixedLayers,
        Diag::NamedFields,
        Diag::NoLayers,
        Diag::NormDim,
        Diag::PositiveNumber,
        Diag::ProgramConfigSyntax,
        Diag::RangeEmpty,
        Diag::RangeSyntax,
        Diag::RopeScaling,
        Diag::SeqLenRange,
        Diag::StructOnly,
        Diag::UnknownActivation,
        Diag::UnknownDevice,
        Diag::UnknownFidelity,
        Diag::UnknownKey,
        Diag::UnknownMode,
        Diag::UnknownOptimizeFor,
        Diag::UnknownPolicy,
        Diag::UnknownProgramConfig,
        Diag::UnknownProgramConfigField,
        Diag::UnsupportedActivation,
        Diag::UnsupportedDtype,
        Diag::VocabConsistent,
    ];

    /// The kebab-case code, as written between brackets.
    pub(crate) fn code(self) -> &'static str {
        match self {
            Diag::ActivationNotFusable => "activation-not-fusable",
            Diag::AttributeSyntax => "attribute-syntax",
            Diag::ConfigAndFields => "config-and-fields",
            Diag::ConfigJson => "config-json",
            Diag::DeviceFeature => "device-feature",
            Diag::DeviceOrDevices => "device-or-devices",
            Diag::DevicesEmpty => "devices-empty",
            Diag::DimensionRange => "dimension-range",
            Diag::DuplicateDevice => "duplicate-device",
            Diag::DuplicateKey => "duplicate-key",
            Diag::DuplicateLayer => "duplicate-layer",
            Diag::DuplicateLayerAttribute => "duplicate-layer-attribute",
            Diag::ExpectedBool => "expected-bool",
            Diag::ExpectedInteger => "expected-integer",
            Diag::ExpectedList => "expected-list",
            Diag::ExpectedNumber => "expected-number",
            Diag::ExpectedString => "expected-string",
            Diag::FieldType => "field-type",
            Diag::GenericModel => "generic-model",
            Diag::HeadDimConsistent => "head-dim-consistent",
            Diag::HeadDimTile => "head-dim-tile",
            Diag::HeadsDivideHidden => "heads-divide-hidden",
            Diag::IncompleteDecoder => "incomplete-decoder",
            Diag::KvHeadsDivideHeads => "kv-heads-divide-heads",
            Diag::MemoryBudgetSyntax => "memory-budget-syntax",
            Diag::MissingKey => "missing-key",
            Diag::MissingLayerAttribute => "missing-layer-attribute",
            Diag::MissingProgramConfigField => "missing-program-config-field",
            Diag::MixedLayers => "mixed-layers",
            Diag::NamedFields => "named-fields",
            Diag::NoLayers => "no-layers",
            Diag::NormDim => "norm-dim",
            Diag::PositiveNumber => "positive-number",
            Diag::ProgramConfigSyntax => "program-config-syntax",
            Diag::RangeEmpty => "range-empty",
            Diag::RangeSyntax => "range-syntax",
            Diag::RopeScaling => "rope-scaling",
            Diag::SeqLenRange => "seq-len-range",
            Diag::StructOnly => "struct-only",
            Diag::UnknownActivation => "unknown-activation",
            Diag::UnknownDevice => "unknown-device",
            Diag::UnknownFidelity => "unknown-fidelity",
            Diag::UnknownKey => "unknown-key",
            Diag::UnknownMode => "unknown-mode",
            Diag::UnknownOptimizeFor => "unknown-optimize-for",
            Diag::UnknownPolicy => "unknown-policy",
            Diag::UnknownProgramConfig => "unknown-program-config",
            Diag::UnknownProgramConfigField => "unknown-program-config-field",
            Diag::UnsupportedActivation => "unsupported-activation",
            Diag::UnsupportedDtype => "unsupported-dtype",
            Diag::VocabConsistent => "vocab-consistent",
        }
    }

    /// The message `[code] text`.
    pub(crate) fn with(self, text: impl fmt::Display) -> String {
        format!("[{self}] {text}")
    }
}

impl fmt::Display for Diag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

#[cfg(test)]
mod tests {
    use super::Diag;

    /// Each code is used by the macro's sources and shown by a compile-fail case in tests/ui/,
    /// so a code nothing raises or nothing tests does not linger.
    #[test]
    fn every_code_is_raised_and_has_a_ui_case() {
        let src = concat!(env!("CARGO_MANIFEST_DIR"), "/src");
        let mut sources = String::new();
        for entry in walk(std::path::Path::new(src)) {
            sources.push_str(&std::fs::read_to_string(entry).unwrap());
        }
        let ui = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/ui");
        let mut stderr = String::new();
        for entry in std::fs::read_dir(&ui).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "stderr") {
                stderr.push_str(&std::fs::read_to_string(path).unwrap());
            }
        }
        let mut untested = Vec::new();
        for d in Diag::ALL {
            let raised = sources
                .match_indices(&format!("Diag::{d:?}"))
                .any(|(at, m)| !sources[at + m.len()..].starts_with(|c: char| c.is_ascii_alphanumeric()));
            assert!(raised, "{d:?} is never raised");
            if !stderr.contains(&format!("[{d}]")) {
                untested.push(d.code());
            }
        }
        assert!(untested.is_empty(), "codes without a tests/ui case: {untested:?}");
    }

    fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
        let mut out = Vec::new();
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                out.extend(walk(&path));
            } else if path.extension().is_some_and(|e| e == "rs") && !path.ends_with("diag.rs") {
                out.push(path);
            }
        }
        out
    }
}
