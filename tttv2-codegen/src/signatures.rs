//! The signatures of the methods generated code gives a model, written once. The expansion puts
//! its bodies under them; a declaration with errors expands to a stub that puts `unreachable!`
//! under the same ones ([`llama_stub`], [`linear_stub`]), so code using the model type-checks
//! alike and the user sees only the real errors (thiserror's faithful fallback).

use proc_macro2::{Ident, TokenStream};
use quote::{format_ident, quote};

use super::plan_module_name;
use tttv2_core::plan::Mode;

/// `load`: every model has it.
pub fn load() -> TokenStream {
    quote!(pub fn load(device: &::tttv2::Device, weights: &impl ::tttv2::nn::WeightSource) -> ::tttv2::Result<Self>)
}

/// A Llama's `prefill`: a user's prompt in a decode model, the one prompt in a prefill model.
pub fn prefill(mode: Mode) -> TokenStream {
    match mode {
        Mode::Decode => quote!(
            pub fn prefill(&mut self, device: &::tttv2::Device, user: u32, tokens: &[u32]) -> ::tttv2::Result<Vec<f32>>
        ),
        Mode::Prefill => {
            quote!(pub fn prefill(&mut self, device: &::tttv2::Device, tokens: &[u32]) -> ::tttv2::Result<Vec<f32>>)
        }
    }
}

/// A decode model's `decode`.
pub fn decode() -> TokenStream {
    quote!(
        pub fn decode(&mut self, device: &::tttv2::Device, tokens: &[u32], positions: &[u32]) -> ::tttv2::Result<Vec<Vec<f32>>>
    )
}

/// A decode model's `generate`.
pub fn generate() -> TokenStream {
    quote! {
        pub fn generate(
            &mut self,
            device: &::tttv2::Device,
            prompts: &[Vec<u32>],
            options: &::tttv2::nn::generate::GenerateOptions,
            on_token: impl FnMut(usize, u32),
        ) -> ::tttv2::Result<::tttv2::nn::generate::Generation>
    }
}

/// A Llama's `weight_bytes`.
pub fn weight_bytes() -> TokenStream {
    quote!(pub fn weight_bytes(&self) -> u64)
}

/// `manifest()`.
pub fn manifest() -> TokenStream {
    quote!(pub fn manifest() -> ::tttv2::serde_json::Value)
}

/// `graph()`.
pub fn graph() -> TokenStream {
    quote!(pub fn graph() -> ::tttv2::serde_json::Value)
}

/// The plan module's `model_config()`.
pub fn model_config() -> TokenStream {
    quote!(pub fn model_config() -> ::tttv2::hf::LlamaConfig)
}

/// A `#[linear]` model's `input`.
pub fn input() -> TokenStream {
    quote!(pub fn input(device: &::tttv2::Device, x: &[f32]) -> ::tttv2::Result<::tttv2::Tensor>)
}

/// A `#[linear]` model's `forward`.
pub fn forward() -> TokenStream {
    quote!(pub fn forward(&self, x: &::tttv2::Tensor) -> ::tttv2::Result<::tttv2::Tensor>)
}

/// The methods of a Llama declared with `mode`, in the order the expansion emits them.
pub fn llama_methods(mode: Mode) -> Vec<TokenStream> {
    let mut m = vec![load(), prefill(mode)];
    if mode == Mode::Decode {
        m.extend([decode(), generate()]);
    }
    m.extend([weight_bytes(), manifest(), graph()]);
    m
}

const WHY: &str = "the #[ttt_model] declaration has errors";

/// The fallback of a Llama declaration with errors: the struct, its plan module's public names
/// and every method, with bodies that never run (the crate does not compile).
pub fn llama_stub(attrs: &TokenStream, vis: &TokenStream, ident: &Ident, mode: Mode) -> TokenStream {
    let plan_mod = format_ident!("{}", plan_module_name(&ident.to_string()));
    let methods = llama_methods(mode);
    let (config, why) = (model_config(), WHY);
    quote! {
        #attrs
        #vis struct #ident;
        #[allow(dead_code)]
        #vis mod #plan_mod {
            pub const DEVICE: ::tttv2::device::DeviceProfile = ::tttv2::device::DeviceProfile::N150;
            pub const BATCH: u32 = 0;
            pub const MAX_SEQ_LEN: u32 = 0;
            pub const PREFILL_BUCKETS: [u32; 0] = [];
            pub const TIE_WORD_EMBEDDINGS: bool = false;
            pub const MANIFEST_JSON: &str = "{}";
            pub const GRAPH_JSON: &str = "{}";
            pub const GRAPH_DOT: &str = "";
            #config {
                ::core::unreachable!(#why)
            }
        }
        #[allow(unused_variables)]
        impl #ident {
            #(#methods { ::core::unreachable!(#why) })*
        }
    }
}

/// The fallback of a `#[linear]` model declaration with errors: the struct with its fields and
/// every method, with bodies that never run.
pub fn linear_stub(
    attrs: &TokenStream,
    vis: &TokenStream,
    ident: &Ident,
    fields: &[(TokenStream, Ident)],
) -> TokenStream {
    let fields = fields.iter().map(|(v, i)| quote!(#v #i: ::tttv2::nn::Linear));
    let (methods, why) = ([load(), input(), forward()], WHY);
    quote! {
        #attrs
        #vis struct #ident {
            #(#fields,)*
        }
        #[allow(unused_variables)]
        impl #ident {
            #(#methods { ::core::unreachable!(#why) })*
        }
    }
}
