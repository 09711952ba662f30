use tttv2::ttt_model;

#[ttt_model(device = "wormhole_b0")]
struct Mlp<T> {
    #[linear(in = 64, out = 64)]
    proj: T,
}

fn main() {}
