use tttv2::ttt_model;

#[ttt_model(device = "wormhole_b0", config = "../../models/Llama-3.2-1B/config.json", mode = "decode", batch = 64)]
pub struct Llama64;

fn main() {
    // The fallback keeps the methods, so only the batch error is reported.
    let device = tttv2::Device::open(&llama64_plan::DEVICE).unwrap();
    let _ = Llama64::load(&device, &tttv2::nn::Weights::new());
}
