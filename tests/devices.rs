//! `devices = [...]`: one plan per device, compiled in only when tttv2's feature for the device's
//! architecture is on. The default build has `wormhole_b0` only; `cargo test --features blackhole
//! --test devices` checks the other half.

use tttv2::ttt_model;

#[ttt_model(devices = ["wormhole_b0", "blackhole"], batch = 32)]
pub struct Mlp {
    #[linear(in = 256, out = 1024, activation = "silu")]
    up: Linear,
    #[linear(in = 1024, out = 256)]
    down: Linear,
}

#[ttt_model(devices = ["blackhole", "wormhole_b0"], config = "models/small-llama/config.json", mode = "decode", batch = 8, seq_len = 256)]
pub struct SmallLlama;

#[test]
fn the_first_enabled_device_backs_the_methods() {
    assert_eq!(mlp_plan::wormhole_b0::DEVICE.name, "n150");
    assert_eq!(mlp_plan::wormhole_b0::UP, mlp_plan::UP);
    #[cfg(feature = "blackhole")]
    assert_eq!(mlp_plan::blackhole::DEVICE.name, "p150");
    // Blackhole is listed first for the Llama: it backs the methods when its feature is on.
    let expected = if cfg!(feature = "blackhole") { "p150" } else { "n150" };
    assert_eq!(small_llama_plan::DEVICE.name, expected);
    assert_eq!(SmallLlama::manifest()["system"], expected);
    assert!(small_llama_plan::wormhole_b0::MANIFEST_JSON.contains("\"system\": \"n150\""));
}
