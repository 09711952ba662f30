//! Collects every error of one expansion (serde_derive's `Ctxt` pattern), so the user sees all
//! problems of a declaration at once.

use std::cell::RefCell;
use std::fmt::Display;

use proc_macro2::{Span, TokenStream};
use quote::ToTokens;

/// The error sink of one expansion. It must be consumed ([`Ctxt::into_compile_errors`] or
/// [`Ctxt::check`]): dropping it with its errors unread panics, so no path can lose an error.
pub struct Ctxt {
    errors: RefCell<Option<Vec<syn::Error>>>,
}

impl Default for Ctxt {
    fn default() -> Self {
        Ctxt { errors: RefCell::new(Some(Vec::new())) }
    }
}

impl Drop for Ctxt {
    fn drop(&mut self) {
        if !std::thread::panicking() && self.errors.borrow().is_some() {
            panic!("a Ctxt was dropped without being checked: its errors would be lost");
        }
    }
}

impl Ctxt {
    /// An empty sink.
    pub fn new() -> Self {
        Ctxt::default()
    }

    fn push(&self, e: syn::Error) {
        self.errors.borrow_mut().as_mut().expect("a checked Ctxt takes no more errors").push(e);
    }

    /// Records an error spanning `tokens`.
    pub fn error_spanned_by<T: ToTokens, M: Display>(&self, tokens: T, msg: M) {
        self.push(syn::Error::new_spanned(tokens.into_token_stream(), msg));
    }

    /// Records an error at `span`.
    pub fn error_at<M: Display>(&self, span: Span, msg: M) {
        self.push(syn::Error::new(span, msg));
    }

    /// Records a parse error.
    pub fn syn_error(&self, err: syn::Error) {
        self.push(err);
    }

    /// Whether any error was recorded.
    pub fn has_errors(&self) -> bool {
        self.errors.borrow().as_ref().is_some_and(|e| !e.is_empty())
    }

    /// The errors as `compile_error!` invocations.
    pub fn into_compile_errors(self) -> TokenStream {
        self.errors.borrow_mut().take().unwrap_or_default().into_iter().map(|e| e.to_compile_error()).collect()
    }

    /// Consumes a sink known to be empty (`Err` with the errors otherwise).
    pub fn check(self) -> Result<(), TokenStream> {
        if self.has_errors() {
            return Err(self.into_compile_errors());
        }
        self.errors.borrow_mut().take();
        Ok(())
    }
}
