use tttv2::ttt_model;

#[ttt_model(device = "wormhole_b0", config = "configs/invalid.json")]
struct Llama;

fn main() {}
