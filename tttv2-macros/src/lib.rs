//! The `#[ttt_model]` attribute: declare a model once, get TT-NN code specialised for a device
//! at compile time.
//!
//! The expansion runs in four steps, each its own module: [`ast`] reads the struct and
//! [`attr`] its attributes, [`lower`] turns them into tttv2-core's model IR, and [`emit`] runs
//! the optimizer and code generator. Every step reports through one [`ctxt::Ctxt`], so all
//! errors in a declaration are reported together, each pointing at its token.
#![deny(missing_docs)]

use proc_macro::TokenStream;

mod ast;
mod attr;
mod check;
mod ctxt;
mod diag;
mod emit;
#[cfg(test)]
mod expand_tests;
mod features;
mod forced;
mod llama;
mod lower;

/// Declares a model for a Tenstorrent device. See the `tttv2` crate for the syntax.
#[proc_macro_attribute]
pub fn ttt_model(args: TokenStream, input: TokenStream) -> TokenStream {
    emit::expand(args.into(), input.into()).into()
}
