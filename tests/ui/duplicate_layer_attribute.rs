use tttv2::ttt_model;

#[ttt_model(device = "wormhole_b0")]
struct Mlp {
    #[linear(in = 64, out = 64)]
    #[linear(in = 64, out = 128)]
    proj: Linear,
}

fn main() {}
