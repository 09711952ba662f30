//! The op trace: every call into [`crate::ops`] on this thread, with the configs it was handed
//! and where its tensor arguments were, so a test can compare what ran with what was planned.
//! Off unless [`start`] was called; recording costs one thread-local check per op when off.

use std::cell::RefCell;
use std::fmt::Debug;

use tttv2_core::ttnn::{DataType, MemoryConfig};

use crate::tensor::Tensor;

/// One recorded op call.
#[derive(Debug, Clone, PartialEq)]
pub struct TraceEntry {
    /// The op, as `tttv2::ops` names it (`linear`, `rms_norm`, …).
    pub op: &'static str,
    /// The `Debug` text of the tuple of its non-tensor arguments, in call order.
    pub config: String,
    /// dtype and memory config of each tensor argument, in call order.
    pub inputs: Vec<(DataType, MemoryConfig)>,
}

thread_local! {
    static TRACE: RefCell<Option<Vec<TraceEntry>>> = const { RefCell::new(None) };
}

/// Starts recording this thread's op calls (clearing any earlier record).
pub fn start() {
    TRACE.with(|t| *t.borrow_mut() = Some(Vec::new()));
}

/// Stops recording and returns what was recorded.
pub fn take() -> Vec<TraceEntry> {
    TRACE.with(|t| t.borrow_mut().take().unwrap_or_default())
}

/// Records a call when a trace is on.
pub(crate) fn record(op: &'static str, config: impl Debug, inputs: &[&Tensor]) {
    TRACE.with(|t| {
        if let Some(v) = t.borrow_mut().as_mut() {
            v.push(TraceEntry {
                op,
                config: format!("{config:?}"),
                inputs: inputs.iter().map(|x| (x.dtype(), x.memory_config())).collect(),
            });
        }
    });
}
