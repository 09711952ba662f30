use tttv2::ttt_model;

#[ttt_model(device = "wormhole_b0")]
struct Mlp {
    #[linear(in = 64, out = 64, bias = "yes")]
    proj: Linear,
}

fn main() {}
