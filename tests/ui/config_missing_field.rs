use tttv2::ttt_model;

#[ttt_model(device = "wormhole_b0", config = "configs/missing_field.json")]
struct Llama;

fn main() {}
