//! Emits a planned [`Program`] as Rust: one statement per planned op (a `::tttv2::ops` call named
//! as TT-NN names the op), its configs as named consts, `drop`s at the plan's deallocation
//! points. Configs used by several ops (memory configs, compute-kernel configs, norm and SDPA
//! program configs) are hoisted into consts named after what they are.

use proc_macro2::{Ident, Literal, TokenStream};
use quote::{format_ident, quote};

use super::ConstExpr;
use tttv2_core::op::LinearConfig;
use tttv2_core::program::{Call, PlannedOp, TensorArg, TensorRef};
use tttv2_core::ttnn::{
    BufferType, ComputeKernelConfig, DataType, LayerNormProgramConfig, MemoryConfig, SDPAProgramConfig,
    TensorMemoryLayout,
};

/// Names of the hoisted configs, shared by every step of a model.
#[derive(Default)]
pub struct Names {
    mcs: Vec<(MemoryConfig, Ident)>,
    ckcs: Vec<(ComputeKernelConfig, Ident)>,
    norms: Vec<(LayerNormProgramConfig, Ident)>,
    sdpas: Vec<(SDPAProgramConfig, Ident)>,
}

fn unique<T: PartialEq>(list: &[(T, Ident)], base: String) -> Ident {
    let taken = |n: &str| list.iter().any(|(_, i)| i == n);
    if !taken(&base) {
        return format_ident!("{}", base);
    }
    (2..).map(|k| format!("{base}_{k}")).find(|n| !taken(n)).map(|n| format_ident!("{}", n)).expect("a free name")
}

impl Names {
    /// Registers every config `ops` use.
    pub fn collect<'a>(&mut self, ops: impl IntoIterator<Item = &'a PlannedOp>) {
        for op in ops {
            for t in op.inputs.iter().chain(&op.outputs) {
                self.add_mc(t.memory_config);
            }
            match &op.call {
                Call::Linear(c) => {
                    for mc in [c.input_memory_config, c.weight_memory_config, c.memory_config] {
                        self.add_mc(mc);
                    }
                    self.add_ckc(c.compute_kernel_config);
                }
                Call::RmsNorm { program_config, compute_kernel_config, .. } => {
                    self.add_ckc(*compute_kernel_config);
                    if !self.norms.iter().any(|(c, _)| c == program_config) {
                        let base = match program_config {
                            LayerNormProgramConfig::Default(_) => "NORM_DEFAULT".to_string(),
                            LayerNormProgramConfig::Sharded(s) => format!("NORM_SHARDED_{}X{}", s.block_h, s.block_w),
                        };
                        let n = unique(&self.norms, base);
                        self.norms.push((*program_config, n));
                    }
                }
                Call::RotaryEmbeddingLlama { compute_kernel_config, .. } => self.add_ckc(*compute_kernel_config),
                Call::ScaledDotProductAttention { program_config, compute_kernel_config, .. }
                | Call::ScaledDotProductAttentionDecode { program_config, compute_kernel_config, .. } => {
                    self.add_ckc(*compute_kernel_config);
                    if !self.sdpas.iter().any(|(c, _)| c == program_config) {
                        let base = match (program_config.q_chunk_size, program_config.k_chunk_size) {
                            (0, 0) => "SDPA_DECODE".to_string(),
                            (q, k) => format!("SDPA_Q{q}_K{k}"),
                        };
                        let n = unique(&self.sdpas, base);
                        self.sdpas.push((*program_config, n));
                    }
                }
                _ => {}
            }
        }
    }

    fn add_mc(&mut self, mc: MemoryConfig) {
        if mc == MemoryConfig::DRAM_INTERLEAVED
            || mc == MemoryConfig::L1_INTERLEAVED
            || self.mcs.iter().any(|(m, _)| *m == mc)
        {
            return;
        }
        let buf = match mc.buffer_type {
            BufferType::Dram => "DRAM",
            BufferType::L1 => "L1",
        };
        let layout = match mc.memory_layout {
            TensorMemoryLayout::Interleaved => "INTERLEAVED",
            TensorMemoryLayout::HeightSharded => "HEIGHT_SHARDED",
            TensorMemoryLayout::WidthSharded => "WIDTH_SHARDED",
            TensorMemoryLayout::BlockSharded => "BLOCK_SHARDED",
        };
        let base = match mc.shard_spec {
            Some(s) => format!("{buf}_{layout}_{}_CORES_{}X{}", s.grid.num_cores, s.shape[0], s.shape[1]),
            None => format!("{buf}_{layout}"),
        };
        let n = unique(&self.mcs, base);
        self.mcs.push((mc, n));
    }

    fn add_ckc(&mut self, c: ComputeKernelConfig) {
        if self.ckcs.iter().any(|(k, _)| *k == c) {
            return;
        }
        let mut base = format!("COMPUTE_{:?}", c.math_fidelity).to_uppercase();
        for (on, what) in [
            (c.math_approx_mode, "APPROX"),
            (c.fp32_dest_acc_en, "FP32_DEST_ACC"),
            (c.packer_l1_acc, "PACKER_L1_ACC"),
            (c.dst_full_sync_en, "DST_FULL_SYNC"),
        ] {
            if on {
                base.push('_');
                base.push_str(what);
            }
        }
        let n = unique(&self.ckcs, base);
        self.ckcs.push((c, n));
    }

    /// A memory config: its const's name, or TT-NN's own const for the interleaved ones.
    pub fn mc(&self, mc: &MemoryConfig) -> TokenStream {
        match self.mcs.iter().find(|(m, _)| m == mc) {
            Some((_, n)) => quote!(#n),
            None => mc.const_expr(),
        }
    }

    pub fn ckc(&self, c: &ComputeKernelConfig) -> TokenStream {
        match self.ckcs.iter().find(|(k, _)| k == c) {
            Some((_, n)) => quote!(#n),
            None => c.const_expr(),
        }
    }

    pub fn norm(&self, c: &LayerNormProgramConfig) -> TokenStream {
        let (_, n) = self.norms.iter().find(|(k, _)| k == c).expect("collected");
        quote!(#n)
    }

    pub fn sdpa(&self, c: &SDPAProgramConfig) -> TokenStream {
        let (_, n) = self.sdpas.iter().find(|(k, _)| k == c).expect("collected");
        quote!(#n)
    }

    /// The hoisted consts, documented.
    pub fn consts(&self) -> TokenStream {
        let mcs = self.mcs.iter().map(|(m, n)| {
            let v = m.const_expr();
            quote!(pub const #n: MemoryConfig = #v;)
        });
        let ckcs = self.ckcs.iter().map(|(c, n)| {
            let v = c.const_expr();
            quote!(pub const #n: ComputeKernelConfig = #v;)
        });
        let norms = self.norms.iter().map(|(c, n)| {
            let v = c.const_expr();
            quote!(pub const #n: LayerNormProgramConfig = #v;)
        });
        let sdpas = self.sdpas.iter().map(|(c, n)| {
            let v = c.const_expr();
            quote!(pub const #n: SDPAProgramConfig = #v;)
        });
        quote! {
            #(#mcs)*
            #(#ckcs)*
            #(#norms)*
            #(#sdpas)*
        }
    }

    /// A linear's config with its memory and compute-kernel configs by name.
    pub fn linear(&self, c: &LinearConfig) -> TokenStream {
        self.linear_with(c, &mut |_, _, v| v)
    }

    /// A linear's config, each field's value passed through `field(name, type, value)`.
    fn linear_with(
        &self,
        c: &LinearConfig,
        field: &mut dyn FnMut(&str, TokenStream, TokenStream) -> TokenStream,
    ) -> TokenStream {
        let u = |v: u32| {
            let l = Literal::u32_unsuffixed(v);
            quote!(#l)
        };
        let m = field("m", quote!(u32), u(c.m));
        let k = field("k", quote!(u32), u(c.k));
        let n = field("n", quote!(u32), u(c.n));
        let bias = field("bias", quote!(bool), c.bias.const_expr());
        let idt = field("input_dtype", quote!(DataType), c.input_dtype.const_expr());
        let imc = field("input_memory_config", quote!(MemoryConfig), self.mc(&c.input_memory_config));
        let wdt = field("weight_dtype", quote!(DataType), c.weight_dtype.const_expr());
        let wmc = field("weight_memory_config", quote!(MemoryConfig), self.mc(&c.weight_memory_config));
        let pc = field("program_config", quote!(MatmulProgramConfig), c.program_config.const_expr());
        let ckc = field("compute_kernel_config", quote!(ComputeKernelConfig), self.ckc(&c.compute_kernel_config));
        let mc = field("memory_config", quote!(MemoryConfig), self.mc(&c.memory_config));
        let dt = field("dtype", quote!(DataType), c.dtype.const_expr());
        quote!(LinearConfig {
            m: #m,
            k: #k,
            n: #n,
            bias: #bias,
            input_dtype: #idt,
            input_memory_config: #imc,
            weight_dtype: #wdt,
            weight_memory_config: #wmc,
            program_config: #pc,
            compute_kernel_config: #ckc,
            memory_config: #mc,
            dtype: #dt,
        })
    }
}

/// One config an emitted statement passes, as [`Cx::slot`] records it.
#[derive(Clone)]
pub struct Slot {
    /// What holds it (`WQKV`, `ATTN`; empty for the step's own `LEN`).
    pub owner: String,
    /// Its role there (`PROGRAM_CONFIG`, `LEN`): its name, when the buckets differ in it, is
    /// `{owner}_{role}`.
    pub role: String,
    /// The op it configures (`attention.wqkv`), if any.
    pub subject: String,
    /// Its Rust type.
    pub ty: TokenStream,
    /// Its value in the recorded step.
    pub value: TokenStream,
    /// The recorded step's doc of the value (a linear's estimate), if any.
    pub doc: Option<String>,
}

impl Slot {
    /// The name of its associated const.
    pub fn name(&self) -> String {
        if self.owner.is_empty() { self.role.clone() } else { format!("{}_{}", self.owner, self.role) }
    }
}

/// How [`Cx::slot`] writes a config.
pub enum Slots {
    /// By value: the code of one step.
    Values,
    /// As a placeholder, keeping the value: two steps whose records print alike run the same
    /// statements and differ only in the recorded values.
    Record(Vec<Slot>),
    /// In a function shared by buckets: the `i`th config as `{per_bucket}::{name}` where
    /// `differ[i]` names it, by value where every bucket agrees on it.
    Shared {
        /// Per config, its associated const's name if the buckets differ in it.
        differ: Vec<Option<Ident>>,
        /// The next config's index.
        next: usize,
    },
}

/// What the emitted statements of one step (or one function shared by buckets) refer to.
pub struct Cx<'a> {
    /// The hoisted configs' names.
    pub names: &'a Names,
    /// The path of the linear consts: the step's module (`prefill_128`), or `B` in a function
    /// shared by buckets.
    pub linears: TokenStream,
    /// The path of the per-bucket consts: `B` in a shared function, `Self` in the bucket trait.
    pub per_bucket: TokenStream,
    /// Tensors the emitting function already holds by reference (a `DecodeRope`'s `trans_mat`):
    /// passed on as they are, not borrowed again.
    pub refs: &'a [TensorRef],
    /// How configs are written.
    pub slots: Slots,
}

impl Cx<'_> {
    /// A config, written as [`Self::slots`] says.
    pub fn slot(&mut self, slot: Slot) -> TokenStream {
        match &mut self.slots {
            Slots::Values => slot.value,
            Slots::Record(list) => {
                list.push(slot);
                quote!(__slot)
            }
            Slots::Shared { differ, next } => {
                let i = *next;
                *next += 1;
                match &differ[i] {
                    Some(n) => {
                        let p = &self.per_bucket;
                        quote!(#p::#n)
                    }
                    None => slot.value,
                }
            }
        }
    }

    /// A config of `op`, named `{OUT}_{ROLE}` after the tensor the op makes.
    fn of(&mut self, op: &PlannedOp, role: &str, ty: TokenStream, value: TokenStream) -> TokenStream {
        let out = op.outputs.first().and_then(|t| t.tensor.as_local()).unwrap_or(op.name.as_str());
        let (owner, role, subject) = (out.to_uppercase(), role.to_uppercase(), op.name.clone());
        self.slot(Slot { owner, role, subject, ty, value, doc: None })
    }

    fn mc(&mut self, op: &PlannedOp, mc: &MemoryConfig) -> TokenStream {
        let v = self.names.mc(mc);
        self.of(op, "memory_config", quote!(MemoryConfig), v)
    }

    fn ckc(&mut self, op: &PlannedOp, c: &ComputeKernelConfig) -> TokenStream {
        let v = self.names.ckc(c);
        self.of(op, "compute_kernel_config", quote!(ComputeKernelConfig), v)
    }

    fn dtype(&mut self, op: &PlannedOp, dt: &DataType) -> TokenStream {
        self.of(op, "dtype", quote!(DataType), dt.const_expr())
    }

    fn u32(&mut self, op: &PlannedOp, role: &str, v: u32) -> TokenStream {
        let l = Literal::u32_unsuffixed(v);
        self.of(op, role, quote!(u32), quote!(#l))
    }
}

/// The const name of a linear op: `attention.wqkv` → `WQKV`, `lm_head.1` → `LM_HEAD_1`.
pub fn linear_const(op: &PlannedOp, prefix: &str) -> Ident {
    let last = op.name.rsplit_once("attention.").or(op.name.rsplit_once("mlp.")).map_or(op.name.as_str(), |(_, l)| l);
    format_ident!("{}{}", prefix, last.replace('.', "_").to_uppercase())
}

/// The field or local a tensor is in the emitted functions: a model weight is `self.x`, a layer
/// weight or cache `layer.x`, a RoPE operand `rope.x`, a step input `step.x`, a local `x`.
pub fn tensor_path(t: &TensorRef) -> TokenStream {
    let f = |name: &str| format_ident!("{}", name);
    match t {
        TensorRef::Model(w) => {
            let w = f(&w.field());
            quote!(self.#w)
        }
        TensorRef::Layer(w) => {
            let w = f(w.field());
            quote!(layer.#w)
        }
        TensorRef::Cache(c) => {
            let c = f(c.field());
            quote!(layer.#c)
        }
        TensorRef::Rope(r) => {
            let r = f(r.field());
            quote!(rope.#r)
        }
        TensorRef::Step(s) => {
            let s = f(s.field());
            quote!(step.#s)
        }
        TensorRef::LinearField { field, bias } => {
            let (field, part) = (f(field), if *bias { f("bias") } else { f("weight") });
            quote!(self.#field.#part)
        }
        TensorRef::Local(n) => {
            let n = f(n);
            quote!(#n)
        }
        TensorRef::UserRows { .. } => unreachable!("per-user views are planned for batched prefill, never emitted"),
    }
}

/// The `let` name of a local.
pub fn local_ident(t: &TensorArg) -> Ident {
    format_ident!("{}", t.tensor.as_local().expect("ops return locals"))
}

/// The Rust expression of a tensor argument.
fn arg(t: &TensorArg, mutable: bool, refs: &[TensorRef]) -> TokenStream {
    let path = tensor_path(&t.tensor);
    if mutable {
        quote!(&mut #path)
    } else if refs.contains(&t.tensor) {
        path
    } else {
        quote!(&#path)
    }
}

/// The statements of `ops` in order, their configs written as `cx` says; `positions`, `user` and
/// `last` are locals of the emitting function.
pub fn statements(ops: &[PlannedOp], cx: &mut Cx, prefix: &str) -> TokenStream {
    let mut out = TokenStream::new();
    for op in ops {
        let refs = cx.refs;
        let a = |i: usize| arg(&op.inputs[i], false, refs);
        let lets = |outs: &[TensorArg]| -> TokenStream {
            let ids: Vec<Ident> = outs.iter().map(local_ident).collect();
            match ids.as_slice() {
                [one] => quote!(let #one =),
                many => quote!(let (#(#many),*) =),
            }
        };
        let bind = lets(&op.outputs);
        let call = match &op.call {
            Call::Embedding { memory_config, dtype } => {
                let (ids, w, mc, dt) = (a(0), a(1), cx.mc(op, memory_config), cx.dtype(op, dtype));
                quote!(#bind ops::embedding(#ids, #w, &#mc, #dt, Layout::Tile)?;)
            }
            Call::Reshape { shape, memory_config } => {
                let x = a(0);
                let s: Vec<TokenStream> = (0..4).map(|i| cx.u32(op, &format!("dim_{i}"), shape[i])).collect();
                let mc = cx.mc(op, memory_config);
                quote!(#bind ops::reshape(#x, &[#(#s),*], &#mc)?;)
            }
            Call::ToMemoryConfig { memory_config } => {
                let (x, mc) = (a(0), cx.mc(op, memory_config));
                quote!(#bind ops::to_memory_config(#x, &#mc)?;)
            }
            Call::RmsNorm { epsilon, program_config, memory_config, compute_kernel_config } => {
                let (x, w) = (a(0), a(1));
                let eps = cx.of(op, "epsilon", quote!(f32), epsilon.const_expr());
                let pc = cx.of(op, "program_config", quote!(LayerNormProgramConfig), cx.names.norm(program_config));
                let (mc, ckc) = (cx.mc(op, memory_config), cx.ckc(op, compute_kernel_config));
                quote!(#bind ops::rms_norm(#x, #eps, #w, &#pc, &#mc, &#ckc)?;)
            }
            Call::Linear(c) => {
                let (x, w, k) = (a(0), a(1), linear_const(op, prefix));
                let bias = match op.inputs.get(2) {
                    // A `#[linear]` field holds its bias as an `Option`.
                    Some(t @ TensorArg { tensor: TensorRef::LinearField { .. }, .. }) => {
                        let b = tensor_path(&t.tensor);
                        quote!(#b.as_ref())
                    }
                    Some(_) if c.bias => {
                        let b = a(2);
                        quote!(Some(#b))
                    }
                    _ => quote!(None),
                };
                let consts = &cx.linears;
                quote!(#bind ops::linear(#x, #w, #bias, &#consts::#k)?;)
            }
            Call::NlpCreateQkvHeads { num_q_heads, num_kv_heads, memory_config } => {
                let x = a(0);
                let (q, kv) = (cx.u32(op, "num_q_heads", *num_q_heads), cx.u32(op, "num_kv_heads", *num_kv_heads));
                let mc = cx.mc(op, memory_config);
                quote!(#bind ops::nlp_create_qkv_heads(#x, #q, #kv, false, &#mc)?;)
            }
            Call::NlpCreateQkvHeadsDecode { num_q_heads, num_kv_heads } => {
                let x = a(0);
                let (q, kv) = (cx.u32(op, "num_q_heads", *num_q_heads), cx.u32(op, "num_kv_heads", *num_kv_heads));
                quote!(#bind ops::nlp_create_qkv_heads_decode(#x, #q, #kv)?;)
            }
            Call::RotaryEmbeddingLlama { is_decode_mode, memory_config, compute_kernel_config } => {
                let (x, cos, sin, tm) = (a(0), a(1), a(2), a(3));
                let d = cx.of(op, "is_decode_mode", quote!(bool), is_decode_mode.const_expr());
                let (mc, ckc) = (cx.mc(op, memory_config), cx.ckc(op, compute_kernel_config));
                quote!(#bind ops::rotary_embedding_llama(#x, #cos, #sin, #tm, #d, &#mc, &#ckc)?;)
            }
            Call::Typecast { dtype, memory_config } => {
                let (x, dt, mc) = (a(0), cx.dtype(op, dtype), cx.mc(op, memory_config));
                quote!(#bind ops::typecast(#x, #dt, &#mc)?;)
            }
            Call::FillCache => {
                let (cache, x) = (arg(&op.inputs[0], true, refs), a(1));
                quote!(ops::fill_cache(#cache, #x, user, 0)?;)
            }
            Call::PagedUpdateCache => {
                let (cache, x) = (arg(&op.inputs[0], true, refs), a(1));
                quote!(ops::paged_update_cache(#cache, #x, positions)?;)
            }
            Call::ScaledDotProductAttention {
                is_causal,
                scale,
                program_config,
                memory_config,
                compute_kernel_config,
            } => {
                let (q, k, v) = (a(0), a(1), a(2));
                let causal = cx.of(op, "is_causal", quote!(bool), is_causal.const_expr());
                let s = cx.of(op, "scale", quote!(f32), scale.const_expr());
                let pc = cx.of(op, "program_config", quote!(SDPAProgramConfig), cx.names.sdpa(program_config));
                let (mc, ckc) = (cx.mc(op, memory_config), cx.ckc(op, compute_kernel_config));
                quote!(#bind ops::scaled_dot_product_attention(#q, #k, #v, None, #causal, Some(#s), &#pc, &#mc, &#ckc)?;)
            }
            Call::ScaledDotProductAttentionDecode { scale, program_config, memory_config, compute_kernel_config } => {
                let (q, k, v) = (a(0), a(1), a(2));
                let s = cx.of(op, "scale", quote!(f32), scale.const_expr());
                let pc = cx.of(op, "program_config", quote!(SDPAProgramConfig), cx.names.sdpa(program_config));
                let (mc, ckc) = (cx.mc(op, memory_config), cx.ckc(op, compute_kernel_config));
                quote!(#bind ops::scaled_dot_product_attention_decode(#q, #k, #v, positions, Some(#s), &#pc, &#mc, &#ckc)?;)
            }
            Call::NlpConcatHeads { memory_config } => {
                let (x, mc) = (a(0), cx.mc(op, memory_config));
                quote!(#bind ops::nlp_concat_heads(#x, &#mc)?;)
            }
            Call::NlpConcatHeadsDecode { num_heads } => {
                let (x, h) = (a(0), cx.u32(op, "num_heads", *num_heads));
                quote!(#bind ops::nlp_concat_heads_decode(#x, #h)?;)
            }
            Call::Add { memory_config, dtype } => {
                let (x, y, mc, dt) = (a(0), a(1), cx.mc(op, memory_config), cx.dtype(op, dtype));
                quote!(#bind ops::add(#x, #y, &#mc, #dt)?;)
            }
            Call::Multiply { memory_config, dtype, lhs_activation } => {
                let (x, y, mc, dt) = (a(0), a(1), cx.mc(op, memory_config), cx.dtype(op, dtype));
                let act = cx.of(op, "lhs_activation", quote!(Option<UnaryOpType>), lhs_activation.const_expr());
                quote!(#bind ops::multiply(#x, #y, &#mc, #dt, #act)?;)
            }
            Call::SliceLastToken { memory_config } => {
                let (x, mc) = (a(0), cx.mc(op, memory_config));
                let w = cx.u32(op, "width", op.inputs[0].shape[3]);
                quote!(#bind ops::slice(#x, &[0, 0, last, 0], &[1, 1, last + 1, #w], &#mc)?;)
            }
            Call::AllReduce { .. } | Call::AllGather { .. } => {
                unreachable!("multi-chip plans are not emitted as programs")
            }
        };
        let drops = op.deallocate.iter().map(|t| format_ident!("{}", t));
        out.extend(quote! {
            #call
            #(drop(#drops);)*
        });
    }
    out
}

/// The linear consts of `ops`, documented with shape, family and estimate, written as `cx` says:
/// `pub const`s of a step's module, or the provided consts of a bucket trait, whose fields the
/// buckets differ in are the bucket's (`Self::WQKV_PROGRAM_CONFIG`). A linear configured as an
/// earlier one of the same list (`w3` as `w1`) is written as that one.
pub fn linear_consts(ops: &[PlannedOp], cx: &mut Cx, prefix: &str) -> TokenStream {
    let shared = matches!(cx.slots, Slots::Shared { .. });
    let vis = if shared { quote!() } else { quote!(pub) };
    let this = if shared { quote!(Self::) } else { quote!() };
    let mut written: Vec<(String, Ident)> = Vec::new();
    let mut out = TokenStream::new();
    for op in ops {
        let Call::Linear(c) = &op.call else { continue };
        let ident = linear_const(op, prefix);
        if written.iter().any(|(_, i)| *i == ident) {
            continue;
        }
        let estimate = format!(
            "{}; {} cores, {} B L1 per core, est. {:.2} µs.",
            c.program_config.ttnn_name(),
            op.cores,
            op.l1_peak_bytes_per_core,
            op.estimate_us
        );
        let base = ident.to_string();
        let names = cx.names;
        // The fields the buckets differ in, and `m` as the doc shows it (`LEN` when theirs).
        let (mut differs, mut m_text) = (false, c.m.to_string());
        let v = names.linear_with(c, &mut |field, ty, value| {
            let plain = value.to_string();
            let doc = (field == "program_config").then(|| format!(" `{}`: {estimate}", op.name));
            let (owner, role, subject) = (base.clone(), field.to_uppercase(), op.name.clone());
            let v = cx.slot(Slot { owner, role, subject, ty, value, doc });
            if v.to_string() != plain {
                differs = true;
                if field == "m" {
                    m_text = v.clone().into_iter().last().map_or(m_text.clone(), |t| t.to_string());
                }
            }
            v
        });
        let doc = if differs {
            format!(
                " `{}`: [{m_text}, {}] × [{}, {}]; each bucket's estimate is on its program config.",
                op.name, c.k, c.k, c.n
            )
        } else {
            format!(" `{}`: [{}, {}] × [{}, {}], {estimate}", op.name, c.m, c.k, c.k, c.n)
        };
        let key = v.to_string();
        let v = match written.iter().find(|(k, _)| *k == key) {
            Some((_, same)) => quote!(#this #same),
            None => v,
        };
        written.push((key, ident.clone()));
        out.extend(quote! {
            #[doc = #doc]
            #vis const #ident: LinearConfig = #v;
        });
    }
    out
}
