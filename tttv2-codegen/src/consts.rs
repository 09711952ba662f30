use proc_macro2::{Literal, TokenStream};
use quote::{format_ident, quote};

use tttv2_core::hf::{LlamaConfig, RopeScaling};
use tttv2_core::op::LinearConfig;
use tttv2_core::ttnn::{
    BufferType, ComputeKernelConfig, CoreCoord, CoreRange, DataType, MathFidelity, MatmulProgramConfig, MemoryConfig,
    ShardGrid, ShardOrientation, ShardSpec, TensorMemoryLayout, UnaryOpType, UnaryWithParam,
};
use tttv2_core::ttnn::{
    LayerNormDefaultProgramConfig, LayerNormProgramConfig, LayerNormShardedMultiCoreProgramConfig, SDPAProgramConfig,
};

/// Renders a value as a Rust constant expression. Paths are unqualified: the generated plan
/// module imports `::tttv2::ttnn::*`.
pub trait ConstExpr {
    /// The expression.
    fn const_expr(&self) -> TokenStream;
}

fn u(v: u32) -> Literal {
    Literal::u32_unsuffixed(v)
}

impl ConstExpr for bool {
    fn const_expr(&self) -> TokenStream {
        quote!(#self)
    }
}

impl<T: ConstExpr> ConstExpr for Option<T> {
    fn const_expr(&self) -> TokenStream {
        match self {
            Some(v) => {
                let v = v.const_expr();
                quote!(Some(#v))
            }
            None => quote!(None),
        }
    }
}

impl ConstExpr for DataType {
    fn const_expr(&self) -> TokenStream {
        let v = format_ident!("{}", format!("{self:?}"));
        quote!(DataType::#v)
    }
}

impl ConstExpr for MathFidelity {
    fn const_expr(&self) -> TokenStream {
        let v = format_ident!("{}", format!("{self:?}"));
        quote!(MathFidelity::#v)
    }
}

impl ConstExpr for TensorMemoryLayout {
    fn const_expr(&self) -> TokenStream {
        let v = format_ident!("{}", format!("{self:?}"));
        quote!(TensorMemoryLayout::#v)
    }
}

impl ConstExpr for BufferType {
    fn const_expr(&self) -> TokenStream {
        let v = format_ident!("{}", format!("{self:?}"));
        quote!(BufferType::#v)
    }
}

impl ConstExpr for ShardOrientation {
    fn const_expr(&self) -> TokenStream {
        let v = format_ident!("{}", format!("{self:?}"));
        quote!(ShardOrientation::#v)
    }
}

impl ConstExpr for UnaryOpType {
    fn const_expr(&self) -> TokenStream {
        let v = format_ident!("{}", format!("{self:?}"));
        quote!(UnaryOpType::#v)
    }
}

impl ConstExpr for f32 {
    fn const_expr(&self) -> TokenStream {
        let l = Literal::f32_suffixed(*self);
        quote!(#l)
    }
}

impl ConstExpr for f64 {
    fn const_expr(&self) -> TokenStream {
        let l = Literal::f64_suffixed(*self);
        quote!(#l)
    }
}

impl ConstExpr for String {
    fn const_expr(&self) -> TokenStream {
        let l = Literal::string(self);
        quote!(#l.to_owned())
    }
}

impl ConstExpr for Vec<u32> {
    fn const_expr(&self) -> TokenStream {
        let v = self.iter().map(|&x| u(x));
        quote!(vec![#(#v),*])
    }
}

impl ConstExpr for RopeScaling {
    fn const_expr(&self) -> TokenStream {
        match *self {
            RopeScaling::Llama3 { factor, low_freq_factor, high_freq_factor, original_max_position_embeddings } => {
                let (f, lo, hi, o) = (
                    factor.const_expr(),
                    low_freq_factor.const_expr(),
                    high_freq_factor.const_expr(),
                    original_max_position_embeddings.const_expr(),
                );
                quote!(::tttv2::hf::RopeScaling::Llama3 { factor: #f, low_freq_factor: #lo, high_freq_factor: #hi, original_max_position_embeddings: #o })
            }
            RopeScaling::Linear { factor } => {
                let f = factor.const_expr();
                quote!(::tttv2::hf::RopeScaling::Linear { factor: #f })
            }
            RopeScaling::Dynamic { factor } => {
                let f = factor.const_expr();
                quote!(::tttv2::hf::RopeScaling::Dynamic { factor: #f })
            }
        }
    }
}

impl ConstExpr for LlamaConfig {
    /// Every field, so that adding one to [`LlamaConfig`] fails to compile here until generated
    /// code states it too.
    fn const_expr(&self) -> TokenStream {
        let LlamaConfig {
            hidden_size,
            intermediate_size,
            num_attention_heads,
            num_key_value_heads,
            head_dim,
            num_hidden_layers,
            vocab_size,
            rms_norm_eps,
            rope_theta,
            rope_scaling,
            tie_word_embeddings,
            max_position_embeddings,
            torch_dtype,
            bos_token_id,
            eos_token_id,
            sliding_window,
            qkv_bias,
        } = self;
        let (h, i, q, kv, d, l, v) = (
            hidden_size.const_expr(),
            intermediate_size.const_expr(),
            num_attention_heads.const_expr(),
            num_key_value_heads.const_expr(),
            head_dim.const_expr(),
            num_hidden_layers.const_expr(),
            vocab_size.const_expr(),
        );
        let (eps, theta, scaling, tie, maxp) = (
            rms_norm_eps.const_expr(),
            rope_theta.const_expr(),
            rope_scaling.const_expr(),
            tie_word_embeddings.const_expr(),
            max_position_embeddings.const_expr(),
        );
        let (dtype, bos, eos, window, bias) = (
            torch_dtype.const_expr(),
            bos_token_id.const_expr(),
            eos_token_id.const_expr(),
            sliding_window.const_expr(),
            qkv_bias.const_expr(),
        );
        quote! {
            ::tttv2::hf::LlamaConfig {
                hidden_size: #h,
                intermediate_size: #i,
                num_attention_heads: #q,
                num_key_value_heads: #kv,
                head_dim: #d,
                num_hidden_layers: #l,
                vocab_size: #v,
                rms_norm_eps: #eps,
                rope_theta: #theta,
                rope_scaling: #scaling,
                tie_word_embeddings: #tie,
                max_position_embeddings: #maxp,
                torch_dtype: #dtype,
                bos_token_id: #bos,
                eos_token_id: #eos,
                sliding_window: #window,
                qkv_bias: #bias,
            }
        }
    }
}

impl ConstExpr for UnaryWithParam {
    fn const_expr(&self) -> TokenStream {
        let op = self.op_type.const_expr();
        match self.param {
            None => quote!(UnaryWithParam::new(#op)),
            Some(p) => {
                let p = p.const_expr();
                quote!(UnaryWithParam { op_type: #op, param: Some(#p) })
            }
        }
    }
}

impl ConstExpr for CoreCoord {
    fn const_expr(&self) -> TokenStream {
        let (x, y) = (u(self.x), u(self.y));
        quote!(CoreCoord::new(#x, #y))
    }
}

impl ConstExpr for CoreRange {
    fn const_expr(&self) -> TokenStream {
        let (s, e) = (self.start.const_expr(), self.end.const_expr());
        quote!(CoreRange { start: #s, end: #e })
    }
}

impl ConstExpr for ShardGrid {
    fn const_expr(&self) -> TokenStream {
        let b = self.bounding_box.const_expr();
        let n = u(self.num_cores);
        quote!(ShardGrid { bounding_box: #b, num_cores: #n })
    }
}

impl ConstExpr for ShardSpec {
    fn const_expr(&self) -> TokenStream {
        let g = self.grid.const_expr();
        let (h, w) = (u(self.shape[0]), u(self.shape[1]));
        let o = self.orientation.const_expr();
        quote!(ShardSpec { grid: #g, shape: [#h, #w], orientation: #o })
    }
}

impl ConstExpr for MemoryConfig {
    fn const_expr(&self) -> TokenStream {
        if *self == MemoryConfig::DRAM_INTERLEAVED {
            return quote!(MemoryConfig::DRAM_INTERLEAVED);
        }
        if *self == MemoryConfig::L1_INTERLEAVED {
            return quote!(MemoryConfig::L1_INTERLEAVED);
        }
        let l = self.memory_layout.const_expr();
        let b = self.buffer_type.const_expr();
        let s = self.shard_spec.const_expr();
        quote!(MemoryConfig { memory_layout: #l, buffer_type: #b, shard_spec: #s })
    }
}

impl ConstExpr for ComputeKernelConfig {
    fn const_expr(&self) -> TokenStream {
        let f = self.math_fidelity.const_expr();
        let (a, d, p, s) = (self.math_approx_mode, self.fp32_dest_acc_en, self.packer_l1_acc, self.dst_full_sync_en);
        quote!(ComputeKernelConfig {
            math_fidelity: #f,
            math_approx_mode: #a,
            fp32_dest_acc_en: #d,
            packer_l1_acc: #p,
            dst_full_sync_en: #s,
        })
    }
}

impl ConstExpr for MatmulProgramConfig {
    fn const_expr(&self) -> TokenStream {
        match self {
            MatmulProgramConfig::MultiCore(_) => {
                quote!(MatmulProgramConfig::MultiCore(MatmulMultiCoreProgramConfig {}))
            }
            MatmulProgramConfig::Reuse(p) => {
                let g = p.compute_with_storage_grid_size.const_expr();
                let f = [p.in0_block_w, p.out_subblock_h, p.out_subblock_w, p.per_core_M, p.per_core_N].map(u);
                let [a, b, c, d, e] = f;
                quote!(MatmulProgramConfig::Reuse(MatmulMultiCoreReuseProgramConfig {
                    compute_with_storage_grid_size: #g,
                    in0_block_w: #a,
                    out_subblock_h: #b,
                    out_subblock_w: #c,
                    per_core_M: #d,
                    per_core_N: #e,
                }))
            }
            MatmulProgramConfig::MultiCast2D(p) => {
                let g = p.compute_with_storage_grid_size.const_expr();
                let [a, b, c, d, e, f, h] = [
                    p.in0_block_w,
                    p.out_subblock_h,
                    p.out_subblock_w,
                    p.out_block_h,
                    p.out_block_w,
                    p.per_core_M,
                    p.per_core_N,
                ]
                .map(u);
                let t = p.transpose_mcast;
                let act = p.fused_activation.const_expr();
                let fb = p.fuse_batch;
                quote!(MatmulProgramConfig::MultiCast2D(MatmulMultiCoreReuseMultiCastProgramConfig {
                    compute_with_storage_grid_size: #g,
                    in0_block_w: #a,
                    out_subblock_h: #b,
                    out_subblock_w: #c,
                    out_block_h: #d,
                    out_block_w: #e,
                    per_core_M: #f,
                    per_core_N: #h,
                    transpose_mcast: #t,
                    fused_activation: #act,
                    fuse_batch: #fb,
                }))
            }
            MatmulProgramConfig::MultiCast1D(p) => {
                let g = p.compute_with_storage_grid_size.const_expr();
                let [a, b, c, d, e, f, h] = [
                    p.in0_block_w,
                    p.out_subblock_h,
                    p.out_subblock_w,
                    p.out_block_h,
                    p.out_block_w,
                    p.per_core_M,
                    p.per_core_N,
                ]
                .map(u);
                let fb = p.fuse_batch;
                let act = p.fused_activation.const_expr();
                let m = p.mcast_in0;
                quote!(MatmulProgramConfig::MultiCast1D(MatmulMultiCoreReuseMultiCast1DProgramConfig {
                    compute_with_storage_grid_size: #g,
                    in0_block_w: #a,
                    out_subblock_h: #b,
                    out_subblock_w: #c,
                    out_block_h: #d,
                    out_block_w: #e,
                    per_core_M: #f,
                    per_core_N: #h,
                    fuse_batch: #fb,
                    fused_activation: #act,
                    mcast_in0: #m,
                }))
            }
            MatmulProgramConfig::DramSharded(p) => {
                let [a, b, c] = [p.in0_block_w, p.per_core_M, p.per_core_N].map(u);
                let act = p.fused_activation.const_expr();
                quote!(MatmulProgramConfig::DramSharded(MatmulMultiCoreReuseMultiCastDRAMShardedProgramConfig {
                    in0_block_w: #a,
                    per_core_M: #b,
                    per_core_N: #c,
                    fused_activation: #act,
                }))
            }
        }
    }
}

impl ConstExpr for LinearConfig {
    fn const_expr(&self) -> TokenStream {
        // With no hoisted names, every field is written out.
        super::program::Names::default().linear(self)
    }
}

impl ConstExpr for u32 {
    fn const_expr(&self) -> TokenStream {
        let l = u(*self);
        quote!(#l)
    }
}

impl<A: ConstExpr, B: ConstExpr, C: ConstExpr, D: ConstExpr> ConstExpr for (A, B, C, D) {
    fn const_expr(&self) -> TokenStream {
        let (a, b, c, d) = (self.0.const_expr(), self.1.const_expr(), self.2.const_expr(), self.3.const_expr());
        quote!((#a, #b, #c, #d))
    }
}

impl ConstExpr for SDPAProgramConfig {
    fn const_expr(&self) -> TokenStream {
        let g = self.compute_with_storage_grid_size.const_expr();
        let [q, k, m] = [self.q_chunk_size, self.k_chunk_size, self.max_cores_per_head_batch].map(u);
        let e = self.exp_approx_mode.const_expr();
        quote!(SDPAProgramConfig {
            compute_with_storage_grid_size: #g,
            q_chunk_size: #q,
            k_chunk_size: #k,
            exp_approx_mode: #e,
            max_cores_per_head_batch: #m,
        })
    }
}

/// `Struct { field: value, … }` from `(field, value)` pairs.
macro_rules! struct_expr {
    ($ty:ident { $($field:ident),* $(,)? } of $v:expr) => {{
        let v = $v;
        $(let $field = v.$field.const_expr();)*
        quote!($ty { $($field: #$field,)* })
    }};
}

impl ConstExpr for LayerNormDefaultProgramConfig {
    fn const_expr(&self) -> TokenStream {
        struct_expr!(LayerNormDefaultProgramConfig { legacy_reduction, legacy_rsqrt, use_welford } of self)
    }
}

impl ConstExpr for LayerNormShardedMultiCoreProgramConfig {
    fn const_expr(&self) -> TokenStream {
        struct_expr!(LayerNormShardedMultiCoreProgramConfig {
            compute_with_storage_grid_size, subblock_w, block_h, block_w, inplace, legacy_reduction, legacy_rsqrt, use_welford
        } of self)
    }
}

impl ConstExpr for LayerNormProgramConfig {
    fn const_expr(&self) -> TokenStream {
        match self {
            LayerNormProgramConfig::Default(c) => {
                let c = c.const_expr();
                quote!(LayerNormProgramConfig::Default(#c))
            }
            LayerNormProgramConfig::Sharded(c) => {
                let c = c.const_expr();
                quote!(LayerNormProgramConfig::Sharded(#c))
            }
        }
    }
}
