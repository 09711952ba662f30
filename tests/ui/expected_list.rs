use tttv2::ttt_model;

#[ttt_model(devices = "wormhole_b0")]
struct Mlp {
    #[linear(in = 64, out = 64)]
    proj: Linear,
}

fn main() {}
