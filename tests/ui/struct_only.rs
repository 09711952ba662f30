use tttv2::ttt_model;

#[ttt_model(device = "wormhole_b0")]
enum Mlp {
    Proj,
}

fn main() {}
