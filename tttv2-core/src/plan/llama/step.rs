//! Building one part of a program (prologue, a decoder layer, epilogue): ops in order with their
//! tensors named, the moves between them planned where a producer leaves a tensor in another
//! memory config than its consumer reads, and the deallocation points.

use std::collections::BTreeMap;

use super::ops::{Ctx, violation};
use super::types::LlamaPlanError;
use crate::program::{PlannedOp, Role, TensorArg, TensorRef};
use crate::rules::Rule;

/// The ops of one program part, with the tensors live in it.
pub(super) struct Step<'a> {
    ctx: &'a Ctx<'a>,
    /// Prefix of op names in errors (`layers.3.` for a layer).
    prefix: String,
    ops: Vec<PlannedOp>,
    locals: BTreeMap<String, TensorArg>,
}

impl<'a> Step<'a> {
    pub fn new(ctx: &'a Ctx<'a>, prefix: impl Into<String>) -> Self {
        Step { ctx, prefix: prefix.into(), ops: Vec::new(), locals: BTreeMap::new() }
    }

    /// Declares a local the part receives (`h`).
    pub fn input(&mut self, t: TensorArg) {
        let name = t.tensor.as_local().expect("a part receives locals").to_owned();
        self.locals.insert(name, t);
    }

    /// Appends `op`, reading `args` (`(tensor, role)`: the op's role names the shape, dtype and
    /// memory config it reads) and returning the locals `outs` (`(name, role)`). A local held in another
    /// memory config than the op reads is moved first by a planned `to_memory_config`; a dtype
    /// difference is a planner error (casts are planned explicitly).
    pub fn push(
        &mut self,
        mut op: PlannedOp,
        args: &[(TensorRef, Role)],
        outs: &[(&str, Role)],
    ) -> Result<(), LlamaPlanError> {
        let role = |op: &PlannedOp, tensor: TensorRef, role: Role| -> Result<TensorArg, LlamaPlanError> {
            let (Some(&shape), Some(&dtype), Some(&memory_config)) =
                (op.shapes.tensors.get(&role), op.dtypes.get(&role), op.memory_configs.get(&role))
            else {
                return Err(violation(
                    &op.name,
                    Rule::OpConstraint,
                    format!("the planner gave no `{role}` tensor"),
                    "report this planner bug",
                ));
            };
            Ok(TensorArg { tensor, shape, dtype, memory_config })
        };
        for (tensor, r) in args {
            let want = role(&op, tensor.clone(), *r)?;
            let arg = match tensor.as_local().and_then(|l| self.locals.get(l)).cloned() {
                Some(have) => {
                    if have.dtype != want.dtype {
                        return Err(violation(
                            &format!("{}{}", self.prefix, op.name),
                            Rule::OpConstraint,
                            format!("reads `{tensor}` as {:?} but it is {:?}", want.dtype, have.dtype),
                            "plan a typecast",
                        ));
                    }
                    if have.memory_config == want.memory_config { have } else { self.reshard(&op.name, &have, want)? }
                }
                None => want,
            };
            op.inputs.push(arg);
        }
        for &(local, r) in outs {
            let t = role(&op, TensorRef::local(local), r)?;
            self.locals.insert(local.to_owned(), t.clone());
            op.outputs.push(t);
        }
        self.ops.push(op);
        Ok(())
    }

    /// Moves the local `tensor` into `to` under the name `out` (an op named `name`).
    pub fn move_to(
        &mut self,
        name: &str,
        tensor: &str,
        to: crate::ttnn::MemoryConfig,
        out: &str,
    ) -> Result<(), LlamaPlanError> {
        let have = self.locals[tensor].clone();
        let mut op = self.ctx.reshard(name.to_owned(), &have, to)?;
        op.inputs.push(have.clone());
        let t = TensorArg { tensor: TensorRef::local(out), memory_config: to, ..have };
        op.outputs.push(t.clone());
        self.locals.insert(out.to_owned(), t);
        self.ops.push(op);
        Ok(())
    }

    /// Plans the move of `have` into `want`'s memory config, as a new local.
    fn reshard(&mut self, consumer: &str, have: &TensorArg, want: TensorArg) -> Result<TensorArg, LlamaPlanError> {
        let what = if want.memory_config.is_sharded() { "sharded" } else { "interleaved" };
        let mut name = format!("{}_{what}", have.tensor);
        let mut n = 2;
        while self.locals.contains_key(&name) {
            name = format!("{}_{what}_{n}", have.tensor);
            n += 1;
        }
        let mut op = self.ctx.reshard(format!("{consumer}.to_memory_config"), have, want.memory_config)?;
        op.inputs.push(have.clone());
        let out = TensorArg { tensor: TensorRef::local(&name), ..want };
        op.outputs.push(out.clone());
        self.locals.insert(name, out.clone());
        self.ops.push(op);
        Ok(out)
    }

    /// The ops, with each local deallocated after its last use unless it is one of `keep` (the
    /// part's results).
    pub fn finish(mut self, keep: &[&str]) -> Vec<PlannedOp> {
        let mut last: BTreeMap<&str, usize> = BTreeMap::new();
        for (i, op) in self.ops.iter().enumerate() {
            for name in op.inputs.iter().filter_map(|t| t.tensor.as_local()) {
                last.insert(name, i);
            }
        }
        let frees: Vec<(usize, String)> =
            last.into_iter().filter(|(t, _)| !keep.contains(t)).map(|(t, i)| (i, t.to_owned())).collect();
        for (i, t) in frees {
            self.ops[i].deallocate.push(t);
        }
        for op in &mut self.ops {
            op.deallocate.sort_by_key(|t| op.inputs.iter().position(|a| a.tensor.as_local() == Some(t)));
        }
        self.ops
    }
}
