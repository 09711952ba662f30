use tttv2::ttt_model;

#[ttt_model(device = "wormhole_b0", config = "configs/missing_field.json", mode = "prefill", seq_len = 128..=262144)]
struct Llama;

fn main() {}
