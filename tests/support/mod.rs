//! Shared helpers for integration tests. Include with `mod support;` from a file in `tests/`.
//!
//! Not every test binary uses every helper, hence the `dead_code` allowance.
#![allow(dead_code)]

pub mod family_ref;
pub mod llama_ref;
