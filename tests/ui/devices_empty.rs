use tttv2::ttt_model;

#[ttt_model(devices = [])]
struct Mlp {
    #[linear(in = 64, out = 64)]
    proj: Linear,
}

fn main() {}
