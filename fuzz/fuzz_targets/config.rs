//! `config.json` reader: any bytes give a config or an `HfError`, never a panic; an accepted
//! config's derived values (RoPE frequencies, parameter count, context check) are computed too.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use tttv2::hf::LlamaConfig;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(cfg) = LlamaConfig::parse(&text, Path::new("fuzz/config.json")) {
        let _ = cfg.rope_inv_freq();
        let _ = cfg.num_parameters();
        let _ = cfg.check_context(cfg.max_position_embeddings);
    }
});
