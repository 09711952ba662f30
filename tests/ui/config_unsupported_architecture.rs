use tttv2::ttt_model;

#[ttt_model(device = "wormhole_b0", config = "configs/gpt2.json")]
struct Gpt2;

fn main() {}
