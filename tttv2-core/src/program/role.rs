//! What a tensor is to the op that reads or writes it.

use std::fmt;

use serde::Serialize;

/// A tensor's role in one op: the key of the op's shapes, dtypes and memory configs, and how a
/// planner says which of its locals an op reads (`(local, Role::Input)`). Variants are in the
/// order of their names, so maps keyed by role list them as they always have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// First operand of a binary op.
    A,
    /// Second operand of a binary op.
    B,
    /// A matmul's bias.
    Bias,
    /// The KV cache written in place.
    Cache,
    /// RoPE cosine table.
    Cos,
    /// The op's (first) input.
    Input,
    /// Keys.
    K,
    /// The key cache attention reads.
    KCache,
    /// The op's result.
    Output,
    /// Queries.
    Q,
    /// RoPE sine table.
    Sin,
    /// RoPE's rotation matrix.
    TransMat,
    /// Values.
    V,
    /// The value cache attention reads.
    VCache,
    /// A matmul's weight (or the embedding table).
    Weight,
}

impl Role {
    /// The role's name, as the manifest writes it.
    pub fn name(self) -> &'static str {
        match self {
            Role::A => "a",
            Role::B => "b",
            Role::Bias => "bias",
            Role::Cache => "cache",
            Role::Cos => "cos",
            Role::Input => "input",
            Role::K => "k",
            Role::KCache => "k_cache",
            Role::Output => "output",
            Role::Q => "q",
            Role::Sin => "sin",
            Role::TransMat => "trans_mat",
            Role::V => "v",
            Role::VCache => "v_cache",
            Role::Weight => "weight",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::Role;

    /// The derived order is the order of the names, which is what keeps the manifest's maps as
    /// they were when roles were strings.
    #[test]
    fn roles_sort_by_name() {
        let all = [
            Role::A,
            Role::B,
            Role::Bias,
            Role::Cache,
            Role::Cos,
            Role::Input,
            Role::K,
            Role::KCache,
            Role::Output,
            Role::Q,
            Role::Sin,
            Role::TransMat,
            Role::V,
            Role::VCache,
            Role::Weight,
        ];
        for pair in all.windows(2) {
            assert!(pair[0] < pair[1] && pair[0].name() < pair[1].name(), "{pair:?}");
            assert_eq!(serde_json::to_value(pair[0]).unwrap(), pair[0].name());
        }
    }
}
