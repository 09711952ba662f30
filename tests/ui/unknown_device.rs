use tttv2::ttt_model;

#[ttt_model(device = "wormhole_c0")]
struct Mlp {
    #[linear(in = 64, out = 64)]
    proj: Linear,
}

fn main() {}
