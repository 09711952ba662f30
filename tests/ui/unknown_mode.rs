use tttv2::ttt_model;

#[ttt_model(device = "wormhole_b0", mode = "training")]
struct Mlp {
    #[linear(in = 64, out = 64)]
    proj: Linear,
}

fn main() {}
