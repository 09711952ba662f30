use tttv2::ttt_model;

#[ttt_model(device = "wormhole_b0", config = "models/Llama-9-1B/config.json")]
struct Llama;

fn main() {}
