use tttv2::ttt_model;

// `n150` is another name of `wormhole_b0`: one device, so one plan.
#[ttt_model(devices = ["wormhole_b0", "n150"])]
struct Mlp {
    #[linear(in = 64, out = 64)]
    proj: Linear,
}

fn main() {}
