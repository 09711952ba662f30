use tttv2::ttt_model;

// `blackhole` is not a default feature of tttv2, so no listed device can be compiled in.
#[ttt_model(devices = ["blackhole"])]
struct Mlp {
    #[linear(in = 64, out = 64)]
    proj: Linear,
}

fn main() {}
