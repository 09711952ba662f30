use tttv2::ttt_model;

#[ttt_model(device = "wormhole_b0", batch = 32..=1)]
struct Mlp {
    #[linear(in = 64, out = 64)]
    proj: Linear,
}

fn main() {}
