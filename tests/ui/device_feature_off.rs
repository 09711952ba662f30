use tttv2::ttt_model;

// `blackhole` is not a default feature of tttv2.
#[ttt_model(device = "blackhole")]
struct Mlp {
    #[linear(in = 64, out = 64)]
    proj: Linear,
}

fn main() {}
