use tttv2::ttt_model;

#[ttt_model(device = "wormhole_b0", config = "../../models/Llama-3.2-1B/config.json", memory_budget = "lots")]
struct Llama;

fn main() {}
