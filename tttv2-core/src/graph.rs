//! The compute graph of a plan: one node per op with its shapes, dtypes and configs, and the
//! data-flow edges between them, as serde data and as Graphviz DOT.

use std::fmt::Write as _;

use serde::Serialize;

use std::collections::HashMap;

use crate::plan::llama::LlamaPlan;
use crate::program::{Call, OpKind, PlannedOp, TensorRef};

/// One op.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Node {
    /// Index in execution order.
    pub id: usize,
    /// The op's name in the plan.
    pub name: String,
    /// The TT-NN op it calls.
    pub ttnn_op: String,
    /// Its kind.
    pub op: OpKind,
    /// `m × k × n` for matmuls.
    pub mkn: Option<[u32; 3]>,
    /// dtypes by role.
    pub dtypes: Vec<(String, String)>,
    /// The program config's TT-NN type, if any.
    pub program_config: Option<String>,
    /// Math fidelity, if the op has a compute-kernel config.
    pub math_fidelity: Option<String>,
    /// Estimated time, µs.
    pub estimate_us: f64,
}

/// Why one op feeds another.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EdgeKind {
    /// The output of one op is the next op's input.
    Data,
    /// The residual stream skipping a block into its add.
    Residual,
}

/// A data-flow edge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Edge {
    /// Producer node.
    pub from: usize,
    /// Consumer node.
    pub to: usize,
    /// Kind.
    pub kind: EdgeKind,
}

/// A plan's compute graph.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Graph {
    /// Ops in execution order.
    pub nodes: Vec<Node>,
    /// Data flow.
    pub edges: Vec<Edge>,
}

fn node(id: usize, op: &PlannedOp) -> Node {
    let mkn = match (op.shapes.m, op.shapes.k, op.shapes.n) {
        (Some(m), Some(k), Some(n)) => Some([m, k, n]),
        _ => None,
    };
    let program_config = op.program_config.as_ref().and_then(|pc| {
        serde_json::to_value(pc).ok().and_then(|v| v.get("type").and_then(|t| t.as_str()).map(str::to_owned))
    });
    Node {
        id,
        name: op.name.clone(),
        ttnn_op: op.ttnn_op().to_owned(),
        op: op.kind(),
        mkn,
        dtypes: op.dtypes.iter().map(|(k, v)| (k.to_string(), v.ttnn_name().to_owned())).collect(),
        program_config,
        math_fidelity: op.compute_kernel_config.map(|c| format!("{:?}", c.math_fidelity)),
        estimate_us: op.estimate_us,
    }
}

impl Graph {
    /// The graph of a Llama plan, from its data flow: an edge from the op that last wrote a
    /// tensor to each op that reads it (a decoder layer's input `h` is the previous layer's
    /// `h_out`, or the prologue's output; a KV-cache write feeds the attention that reads the
    /// cache). Edges into a residual `add` from the residual stream (`h`, `h_attn`) are marked.
    pub fn from_llama(plan: &LlamaPlan) -> Graph {
        let nodes: Vec<Node> = plan.ops.iter().enumerate().map(|(i, op)| node(i, op)).collect();
        let mut edges = Vec::new();
        let mut producer: HashMap<&TensorRef, usize> = HashMap::new();
        let h = TensorRef::local("h");
        let mut hidden: Option<usize> = None;
        for (i, op) in plan.ops.iter().enumerate() {
            let starts_part = i > 0 && plan.ops[i - 1].layer != op.layer;
            if starts_part && let Some(hidden) = hidden {
                producer.insert(&h, hidden);
            }
            for t in &op.inputs {
                if let Some(&p) = producer.get(&t.tensor) {
                    let residual = op.kind() == OpKind::Add && matches!(t.tensor.as_local(), Some("h" | "h_attn"));
                    edges.push(Edge {
                        from: p,
                        to: i,
                        kind: if residual { EdgeKind::Residual } else { EdgeKind::Data },
                    });
                }
            }
            for t in &op.outputs {
                producer.insert(&t.tensor, i);
                if matches!(t.tensor.as_local(), Some("h" | "h_sharded" | "h_out")) {
                    hidden = Some(i);
                }
            }
            if matches!(op.call, Call::FillCache | Call::PagedUpdateCache) {
                producer.insert(&op.inputs[0].tensor, i);
            }
        }
        Graph { nodes, edges }
    }

    /// Graphviz DOT: one box per op labelled with its TT-NN op, shapes, dtypes and configs;
    /// residual edges dashed.
    pub fn to_dot(&self, title: &str) -> String {
        let esc = |s: &str| s.replace('\\', "\\\\").replace('"', "\\\"");
        let mut out = String::new();
        let _ = writeln!(out, "digraph \"{}\" {{", esc(title));
        let _ = writeln!(out, "  rankdir=TB;\n  node [shape=box, fontname=\"monospace\", fontsize=10];");
        for n in &self.nodes {
            let mut label = format!("{}\\n{}", esc(&n.name), esc(&n.ttnn_op));
            if let Some([m, k, nn]) = n.mkn {
                let _ = write!(label, "\\n[{m}x{k}] x [{k}x{nn}]");
            }
            if !n.dtypes.is_empty() {
                let d: Vec<String> = n.dtypes.iter().map(|(r, t)| format!("{r}={t}")).collect();
                let _ = write!(label, "\\n{}", esc(&d.join(" ")));
            }
            if let Some(pc) = &n.program_config {
                let _ = write!(label, "\\n{}", esc(pc));
            }
            if let Some(f) = &n.math_fidelity {
                let _ = write!(label, " {f}");
            }
            let _ = write!(label, "\\n{:.2} us", n.estimate_us);
            let _ = writeln!(out, "  n{} [label=\"{}\"];", n.id, label);
        }
        for e in &self.edges {
            let style = match e.kind {
                EdgeKind::Data => "",
                EdgeKind::Residual => " [style=dashed, label=\"residual\"]",
            };
            let _ = writeln!(out, "  n{} -> n{}{};", e.from, e.to, style);
        }
        out.push_str("}\n");
        out
    }
}
