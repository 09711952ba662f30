use tttv2::ttt_model;

#[ttt_model(device = "wormhole_b0", config = "../../models/Llama-3.2-1B/config.json", mode = "decode", batch = 32, seq_len = 4096, memory_budget = "512MB")]
struct Llama;

fn main() {}
