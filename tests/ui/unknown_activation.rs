use tttv2::ttt_model;

#[ttt_model(device = "wormhole_b0")]
struct Mlp {
    #[linear(in = 64, out = 256, activation = "swiglu")]
    up: Linear,
    #[linear(in = 256, out = 64)]
    down: Linear,
}

fn main() {}
