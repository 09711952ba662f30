//! The one rule checker: TT-NN's validation rules for the configs tttv2 emits, plus the
//! silent-wrong-result cases users reported and per-core L1 accounting.
//!
//! Every config the optimizer emits passes [`check_linear`]; a config a user forces that fails is
//! reported with the [`Rule`] it breaks. Sources: `../shared/reference/matmul-rules.md` (which
//! cites `ttnn/cpp/ttnn/operations/matmul/device/matmul_device_operation.cpp` @ 13adda80) and
//! `diagnostics-catalog.md`.

mod l1;
mod matmul;
mod rule;
mod sharding;

pub use l1::{L1Usage, linear_l1_usage};
pub use matmul::check_linear;
pub use rule::{Rule, RuleViolation};
pub use sharding::check_shard_spec;
