//! The program vocabulary every model family, mesh and trace shares: the typed TT-NN call of an
//! op ([`Call`]), the tensors it reads and writes ([`TensorRef`], [`TensorArg`]), a planned op with its configs
//! and estimates ([`PlannedOp`]), and a program of them ([`Program`]: prologue, distinct layer
//! plans, epilogue). A planner (`plan::llama`) produces it; `graph`, `manifest` and the code
//! generator read it.

mod call;
mod op;
mod role;
mod tensor;

pub use call::Call;
pub use op::{LayerPlan, OpKind, OpShapes, PlannedOp, Program, TracedCall, op_trace};
pub use role::Role;
pub use tensor::{KvCache, LayerWeight, ModelWeight, RopeInput, StepInput, TensorArg, TensorRef};
