//! Emits a planned [`Program`] as Rust: one statement per planned op (a `::tttv2::ops` call named
//! as TT-NN names the op), its configs as named consts, `drop`s at the plan's deallocation
//! points. Configs used by several ops (memory configs, compute-kernel configs, norm and SDPA
//! program configs) are hoisted into consts named after what they are.

use std::collections::BTreeMap;

use proc_macro2::{Ident, Literal, TokenStream};
use quote::{format_ident, quote};

use super::ConstExpr;
use tttv2_core::op::LinearConfig;
use tttv2_core::plan::llama::{Call, PlannedOp, TensorArg};
use tttv2_core::ttnn::{
    BufferType, ComputeKernelConfig, LayerNormProgramConfig, MemoryConfig, SDPAProgramConfig, TensorMemoryLayout,
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

    fn ckc(&self, c: &ComputeKernelConfig) -> TokenStream {
        match self.ckcs.iter().find(|(k, _)| k == c) {
            Some((_, n)) => quote!(#n),
            None => c.const_expr(),
        }
    }

    fn norm(&self, c: &LayerNormProgramConfig) -> TokenStream {
        let (_, n) = self.norms.iter().find(|(k, _)| k == c).expect("collected");
        quote!(#n)
    }

    fn sdpa(&self, c: &SDPAProgramConfig) -> TokenStream {
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
        let m = Literal::u32_unsuffixed(c.m);
        let k = Literal::u32_unsuffixed(c.k);
        let n = Literal::u32_unsuffixed(c.n);
        let bias = c.bias;
        let (idt, wdt, dt) = (c.input_dtype.const_expr(), c.weight_dtype.const_expr(), c.dtype.const_expr());
        let (imc, wmc, mc) =
            (self.mc(&c.input_memory_config), self.mc(&c.weight_memory_config), self.mc(&c.memory_config));
        let pc = c.program_config.const_expr();
        let ckc = self.ckc(&c.compute_kernel_config);
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

/// The const name of a linear op: `attention.wqkv` → `WQKV`, `lm_head.1` → `LM_HEAD_1`.
pub fn linear_const(op: &PlannedOp, prefix: &str) -> Ident {
    let last = op.name.rsplit_once("attention.").or(op.name.rsplit_once("mlp.")).map_or(op.name.as_str(), |(_, l)| l);
    format_ident!("{}{}", prefix, last.replace('.', "_").to_uppercase())
}

/// The Rust expression of a tensor argument.
fn arg(t: &TensorArg, mutable: bool) -> TokenStream {
    let path: TokenStream = t.name.parse().expect("tensor names are Rust paths");
    if mutable { quote!(&mut #path) } else { quote!(&#path) }
}

/// The statements of `ops` in order. `consts` names the module holding the linear consts and
/// `prefix` their prefix; `positions`, `user` and `last` are locals of the emitting function.
pub fn statements(ops: &[PlannedOp], names: &Names, consts: &TokenStream, prefix: &str) -> TokenStream {
    let mut out = TokenStream::new();
    for op in ops {
        let a = |i: usize| arg(&op.inputs[i], false);
        let lets = |outs: &[TensorArg]| -> TokenStream {
            let ids: Vec<Ident> = outs.iter().map(|t| format_ident!("{}", t.name)).collect();
            match ids.as_slice() {
                [one] => quote!(let #one =),
                many => quote!(let (#(#many),*) =),
            }
        };
        let bind = lets(&op.outputs);
        let call = match &op.call {
            Call::Embedding { memory_config, dtype } => {
                let (ids, w, mc, dt) = (a(0), a(1), names.mc(memory_config), dtype.const_expr());
                quote!(#bind ops::embedding(#ids, #w, &#mc, #dt, Layout::Tile)?;)
            }
            Call::Reshape { shape, memory_config } => {
                let (x, mc) = (a(0), names.mc(memory_config));
                let s = shape.map(Literal::u32_unsuffixed);
                quote!(#bind ops::reshape(#x, &[#(#s),*], &#mc)?;)
            }
            Call::ToMemoryConfig { memory_config } => {
                let (x, mc) = (a(0), names.mc(memory_config));
                quote!(#bind ops::to_memory_config(#x, &#mc)?;)
            }
            Call::RmsNorm { epsilon, program_config, memory_config, compute_kernel_config } => {
                let (x, w) = (a(0), a(1));
                let (eps, pc, mc, ckc) = (
                    epsilon.const_expr(),
                    names.norm(program_config),
                    names.mc(memory_config),
                    names.ckc(compute_kernel_config),
                );
                quote!(#bind ops::rms_norm(#x, #eps, #w, &#pc, &#mc, &#ckc)?;)
            }
            Call::Linear(c) => {
                let (x, w, k) = (a(0), a(1), linear_const(op, prefix));
                let bias = if c.bias {
                    let b = a(2);
                    quote!(Some(#b))
                } else {
                    quote!(None)
                };
                quote!(#bind ops::linear(#x, #w, #bias, &#consts::#k)?;)
            }
            Call::NlpCreateQkvHeads { num_q_heads, num_kv_heads, memory_config } => {
                let (x, mc) = (a(0), names.mc(memory_config));
                let (q, kv) = (Literal::u32_unsuffixed(*num_q_heads), Literal::u32_unsuffixed(*num_kv_heads));
                quote!(#bind ops::nlp_create_qkv_heads(#x, #q, #kv, false, &#mc)?;)
            }
            Call::NlpCreateQkvHeadsDecode { num_q_heads, num_kv_heads } => {
                let x = a(0);
                let (q, kv) = (Literal::u32_unsuffixed(*num_q_heads), Literal::u32_unsuffixed(*num_kv_heads));
                quote!(#bind ops::nlp_create_qkv_heads_decode(#x, #q, #kv)?;)
            }
            Call::RotaryEmbeddingLlama { is_decode_mode, memory_config, compute_kernel_config } => {
                let (x, cos, sin, tm) = (a(0), a(1), a(2), a(3));
                let (mc, ckc) = (names.mc(memory_config), names.ckc(compute_kernel_config));
                quote!(#bind ops::rotary_embedding_llama(#x, #cos, #sin, #tm, #is_decode_mode, &#mc, &#ckc)?;)
            }
            Call::Typecast { dtype, memory_config } => {
                let (x, dt, mc) = (a(0), dtype.const_expr(), names.mc(memory_config));
                quote!(#bind ops::typecast(#x, #dt, &#mc)?;)
            }
            Call::FillCache => {
                let (cache, x) = (arg(&op.inputs[0], true), a(1));
                quote!(ops::fill_cache(#cache, #x, user, 0)?;)
            }
            Call::PagedUpdateCache => {
                let (cache, x) = (arg(&op.inputs[0], true), a(1));
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
                let (s, pc, mc, ckc) = (
                    scale.const_expr(),
                    names.sdpa(program_config),
                    names.mc(memory_config),
                    names.ckc(compute_kernel_config),
                );
                quote!(#bind ops::scaled_dot_product_attention(#q, #k, #v, None, #is_causal, Some(#s), &#pc, &#mc, &#ckc)?;)
            }
            Call::ScaledDotProductAttentionDecode { scale, program_config, memory_config, compute_kernel_config } => {
                let (q, k, v) = (a(0), a(1), a(2));
                let (s, pc, mc, ckc) = (
                    scale.const_expr(),
                    names.sdpa(program_config),
                    names.mc(memory_config),
                    names.ckc(compute_kernel_config),
                );
                quote!(#bind ops::scaled_dot_product_attention_decode(#q, #k, #v, positions, Some(#s), &#pc, &#mc, &#ckc)?;)
            }
            Call::NlpConcatHeads { memory_config } => {
                let (x, mc) = (a(0), names.mc(memory_config));
                quote!(#bind ops::nlp_concat_heads(#x, &#mc)?;)
            }
            Call::NlpConcatHeadsDecode { num_heads } => {
                let (x, h) = (a(0), Literal::u32_unsuffixed(*num_heads));
                quote!(#bind ops::nlp_concat_heads_decode(#x, #h)?;)
            }
            Call::Add { memory_config, dtype } => {
                let (x, y, mc, dt) = (a(0), a(1), names.mc(memory_config), dtype.const_expr());
                quote!(#bind ops::add(#x, #y, &#mc, #dt)?;)
            }
            Call::Multiply { memory_config, dtype, lhs_activation } => {
                let (x, y, mc, dt, act) =
                    (a(0), a(1), names.mc(memory_config), dtype.const_expr(), lhs_activation.const_expr());
                quote!(#bind ops::multiply(#x, #y, &#mc, #dt, #act)?;)
            }
            Call::SliceLastToken { memory_config } => {
                let (x, mc) = (a(0), names.mc(memory_config));
                let w = Literal::u32_unsuffixed(op.inputs[0].shape[3]);
                quote!(#bind ops::slice(#x, &[0, 0, last, 0], &[1, 1, last + 1, #w], &#mc)?;)
            }
            Call::AllReduce | Call::AllGather => unreachable!("multi-chip plans are not emitted as programs"),
        };
        let drops = op.deallocate.iter().map(|t| format_ident!("{}", t));
        out.extend(quote! {
            #call
            #(drop(#drops);)*
        });
    }
    out
}

/// The linear consts of `ops`, documented with shape, family and estimate.
pub fn linear_consts(ops: &[PlannedOp], names: &Names, prefix: &str) -> TokenStream {
    let mut seen = BTreeMap::new();
    let mut out = TokenStream::new();
    for op in ops {
        let Call::Linear(c) = &op.call else { continue };
        let ident = linear_const(op, prefix);
        if seen.insert(ident.to_string(), ()).is_some() {
            continue;
        }
        let doc = format!(
            " `{}`: [{}, {}] × [{}, {}], {}; {} cores, {} B L1 per core, est. {:.2} µs.",
            op.name,
            c.m,
            c.k,
            c.k,
            c.n,
            c.program_config.ttnn_name(),
            op.cores,
            op.l1_peak_bytes_per_core,
            op.estimate_us
        );
        let v = names.linear(c);
        out.extend(quote! {
            #[doc = #doc]
            pub const #ident: LinearConfig = #v;
        });
    }
    out
}
