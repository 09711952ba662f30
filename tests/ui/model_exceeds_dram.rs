use tttv2::ttt_model;

// Llama-3.1-70B needs ~35 GB even in block floats; an n150 has 12 GB.
#[ttt_model(device = "wormhole_b0", config = "../../models/Llama-3.1-70B/config.json", mode = "decode", batch = 32)]
struct Llama70B;

fn main() {}
