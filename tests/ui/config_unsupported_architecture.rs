use tttv2::ttt_model;

#[ttt_model(device = "wormhole_b0", config = "configs/mistral.json")]
struct Mistral;

fn main() {}
