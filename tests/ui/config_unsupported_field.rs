use tttv2::ttt_model;

#[ttt_model(device = "wormhole_b0", config = "configs/llama_o_proj_bias.json")]
struct BiasedLlama;

fn main() {}
