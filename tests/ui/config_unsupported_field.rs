use tttv2::ttt_model;

#[ttt_model(device = "wormhole_b0", config = "configs/qwen2.json")]
struct Qwen;

fn main() {}
