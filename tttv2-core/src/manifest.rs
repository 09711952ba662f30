//! The deployment manifest: what a plan needs from the hardware, and every op's TT-NN configs,
//! as serde data (`Model::manifest()` in generated code, `tttv2 plan --json`).

use serde::Serialize;

use crate::plan::llama::LlamaPlan;
use crate::program::PlannedOp;
use crate::ttnn::TT_METAL_COMMIT;

/// What the hardware must provide for a plan.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Requirements {
    /// Cores the widest op uses (per chip).
    pub min_cores: u32,
    /// Largest L1 any op needs per core (circular buffers plus L1 tensors), bytes.
    pub peak_l1_bytes_per_core: u64,
    /// DRAM per chip, bytes.
    pub dram: DramBytes,
    /// DRAM bandwidth the plan's estimate assumes: bytes read per call / estimated time.
    pub dram_bandwidth_bytes_per_s: f64,
    /// Bytes crossing the NoC per call, counting DRAM traffic (which always crosses it); a
    /// lower bound, multicast traffic between cores is not counted.
    pub noc_bytes_per_call_lower_bound: u64,
    /// Estimated time of one call (a decode step or a prefill), µs.
    pub latency_us: f64,
    /// Estimated prefill time per sequence bucket `(seq_len, µs)`, when prefill buckets were planned.
    pub prefill_buckets_us: Vec<(u32, f64)>,
    /// Estimated size of a captured trace of one call, bytes: our estimate of 4 KiB of dispatch
    /// commands per op plus 256 B of runtime arguments per core it uses (not measured on
    /// hardware); give at least this as `trace_region_size` when opening the device.
    pub trace_region_bytes: u64,
}

/// DRAM per chip by use.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct DramBytes {
    /// Weights as stored on the device.
    pub weights: u64,
    /// KV cache for the planned batch and sequence length.
    pub kv_cache: u64,
    /// The largest DRAM-resident activation one op reads plus writes (our estimate of the
    /// activation working set).
    pub activations: u64,
    /// The DRAM budget the plan was fitted to.
    pub budget: u64,
}

/// The manifest of a Llama plan.
#[derive(Debug, Clone, Serialize)]
pub struct Manifest<'a> {
    /// The model's name (the plan's `model` field holds its configuration).
    pub name: String,
    /// The tt-metal commit the configs target.
    pub tt_metal_commit: &'static str,
    /// The plan (system, options, ops, totals).
    #[serde(flatten)]
    pub plan: &'a LlamaPlan,
    /// What the hardware must provide.
    pub requirements: Requirements,
    /// A stable hash of everything above: equal fingerprints mean equal plans.
    pub fingerprint: String,
}

/// FNV-1a, 64-bit: small, stable across platforms and Rust versions.
fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= *b as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

fn activation_bytes(op: &PlannedOp) -> u64 {
    op.dram_bytes.saturating_sub(op.weight_bytes)
}

impl<'a> Manifest<'a> {
    /// Builds the manifest of `plan` for the model called `name`. `prefill_buckets_us` are the
    /// estimates of the prefill buckets planned alongside (empty when none).
    pub fn new(name: impl Into<String>, plan: &'a LlamaPlan, prefill_buckets_us: Vec<(u32, f64)>) -> Self {
        let t = &plan.totals;
        let ops = &plan.ops;
        let read: u64 = ops.iter().map(|o| o.dram_bytes).sum();
        let requirements = Requirements {
            min_cores: ops.iter().map(|o| o.cores).max().unwrap_or(0),
            peak_l1_bytes_per_core: t.l1_peak_bytes_per_core,
            dram: DramBytes {
                weights: t.weight_bytes_per_chip,
                kv_cache: t.kv_cache_bytes_per_chip,
                activations: ops.iter().map(activation_bytes).max().unwrap_or(0),
                budget: t.memory_budget_bytes,
            },
            dram_bandwidth_bytes_per_s: if t.estimate_us > 0.0 { read as f64 / (t.estimate_us * 1e-6) } else { 0.0 },
            noc_bytes_per_call_lower_bound: read,
            latency_us: t.estimate_us,
            prefill_buckets_us,
            trace_region_bytes: ops.iter().map(|o| 4096 + 256 * o.cores as u64).sum::<u64>().next_multiple_of(1 << 20),
        };
        let mut m = Manifest {
            name: name.into(),
            tt_metal_commit: TT_METAL_COMMIT,
            plan,
            requirements,
            fingerprint: String::new(),
        };
        let body = serde_json::to_string(&m).expect("a manifest serializes");
        m.fingerprint = format!("{:016x}", fnv1a(body.as_bytes()));
        m
    }

    /// Pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a manifest serializes")
    }
}
