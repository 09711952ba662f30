use tttv2::ttt_model;

#[ttt_model(device = "wormhole_b0", devices = ["wormhole_b0", "blackhole"])]
struct Mlp {
    #[linear(in = 64, out = 64)]
    proj: Linear,
}

fn main() {}
