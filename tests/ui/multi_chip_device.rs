use tttv2::ttt_model;

// n300 is two chips: the plan exists (`tttv2 plan --device n300`), generated code does not run
// it yet, and the error says so at the device.
#[ttt_model(device = "n300", config = "../../models/Llama-3.2-1B/config.json", mode = "decode", batch = 32)]
pub struct Llama1BN300;

fn main() {
    // The fallback keeps the methods, so only the device error is reported.
    let device = tttv2::Device::open(&llama1_b_n300_plan::DEVICE).unwrap();
    let _ = Llama1BN300::load(&device, &tttv2::nn::Weights::new());
}
