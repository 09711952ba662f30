use tttv2::ttt_model;

#[ttt_model(device = "wormhole_b0")]
struct Mlp {
    #[linear(in = 1024, out = 4096, activation = "silu")]
    up: Linear,
    #[linear(in = 2048, out = 1024)]
    down: Linear,
}

fn main() {}
