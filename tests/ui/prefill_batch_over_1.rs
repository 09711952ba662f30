use tttv2::ttt_model;

#[ttt_model(device = "wormhole_b0", config = "../../models/Llama-3.2-1B/config.json", mode = "prefill", batch = 4, seq_len = 128)]
pub struct Prefill4;

fn main() {}
