//! Comparing a recorded op trace ([`crate::trace`]) with the calls a plan lists
//! ([`LlamaPlan::op_trace`](tttv2_core::plan::llama::LlamaPlan::op_trace)).

use tttv2_core::plan::llama::TracedCall;
use tttv2_sys::trace::TraceEntry;

/// `Ok` when `got` is exactly `want`, call for call; else the first difference, described.
pub fn compare(want: &[TracedCall], got: &[TraceEntry]) -> Result<(), String> {
    for (i, (w, g)) in want.iter().zip(got).enumerate() {
        if w.0 != g.op {
            return Err(format!("call {i}: the plan has `{}`, the program ran `{}`", w.0, g.op));
        }
        if w.1 != g.config {
            return Err(format!("call {i} (`{}`): configs differ:\n  plan: {}\n  ran:  {}", w.0, w.1, g.config));
        }
        if w.2 != g.inputs {
            return Err(format!(
                "call {i} (`{}`): tensor arguments differ:\n  plan: {:?}\n  ran:  {:?}",
                w.0, w.2, g.inputs
            ));
        }
    }
    if want.len() != got.len() {
        return Err(format!("the plan has {} calls, the program ran {}", want.len(), got.len()));
    }
    Ok(())
}
