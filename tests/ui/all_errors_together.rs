use tttv2::ttt_model;

// Every problem is reported in one build, each at its own token.
#[ttt_model(device = "wormhole_b0", policy = "fastest")]
struct Mlp {
    #[linear(in = 64, out = 256, activation = "tanh")]
    up: Linear,
    #[linear(in = 256, outt = 64)]
    down: Linear,
}

fn main() {}
