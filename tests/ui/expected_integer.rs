use tttv2::ttt_model;

#[ttt_model(device = "wormhole_b0")]
struct Mlp {
    #[linear(in = "1024", out = 64)]
    proj: Linear,
}

fn main() {}
