//! Compile-time diagnostics of `#[ttt_model]`: each case in `tests/ui/` must fail to compile with
//! exactly the `.stderr` next to it (span and text). Run with the default features (wormhole_b0
//! only): `device_feature_off.rs` relies on `blackhole` being off.
//! Regenerate after an intended change with `TRYBUILD=overwrite cargo test --test ui` and review
//! the diff.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
}
