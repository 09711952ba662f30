//! Safetensors reader: the bytes are written to a file and opened as a checkpoint; every tensor
//! is read. Any input gives weights or an error naming the file or tensor, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tttv2::nn::{SafetensorsWeights, WeightSource};

fuzz_target!(|data: &[u8]| {
    let path = std::env::temp_dir().join(format!("tttv2-fuzz-{}.safetensors", std::process::id()));
    std::fs::write(&path, data).unwrap();
    if let Ok(w) = SafetensorsWeights::open(&path) {
        let names: Vec<String> = w.names().map(str::to_owned).collect();
        for name in names {
            let _ = w.weight(&name);
        }
        let _ = w.weight("model.embed_tokens.weight");
    }
});
