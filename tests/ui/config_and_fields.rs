use tttv2::ttt_model;

#[ttt_model(device = "wormhole_b0", config = "../../models/Llama-3.2-1B/config.json")]
struct Llama {
    #[linear(in = 64, out = 64)]
    proj: Linear,
}

fn main() {}
