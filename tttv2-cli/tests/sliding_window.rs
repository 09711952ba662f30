//! `tttv2 plan` refuses a context longer than the model's sliding window (Mistral), naming the
//! field and the fix, as the `#[ttt_model]` macro does at compile time.

use std::path::PathBuf;
use std::process::Command;

fn plan(seq_len: u32) -> std::process::Output {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_owned();
    let seq_len = seq_len.to_string();
    Command::new(env!("CARGO_BIN_EXE_tttv2"))
        .current_dir(root)
        .args([
            "plan",
            "--config",
            "tests/models/tiny-mistral/config.json",
            "--device",
            "n150",
            "--mode",
            "decode",
            "--batch",
            "1",
        ])
        .args(["--seq-len", &seq_len])
        .output()
        .expect("the tttv2 binary runs")
}

#[test]
fn a_seq_len_past_the_sliding_window_is_refused_naming_the_field_and_the_fix() {
    let ok = plan(256);
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
    let refused = plan(257);
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success());
    assert!(err.contains("sliding_window") && err.contains("fix: plan at most seq_len = 256"), "{err}");
}
