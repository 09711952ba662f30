//! `tttv2 generate`: the committed example under `generated/` is what the generator writes today.
//! (That it compiles and runs is checked by the root crate's `tests/generate.rs`, which has the
//! runtime.)

use std::path::{Path, PathBuf};
use std::process::Command;

const EXAMPLE: &str = "generated/small_llama_n150";
const CONFIG: &str = "models/small-llama/config.json";
/// The arguments the committed example was generated with (its header states them too; the
/// root crate's `tests/generate.rs` holds the same list).
const ARGS: &[&str] = &[
    "generate",
    "--config",
    CONFIG,
    "--device",
    "n150",
    "--mode",
    "decode",
    "--batch",
    "4",
    "--seq-len",
    "256",
    "--tttv2-path",
    "../..",
];

/// The workspace root: the example's paths are relative to it.
fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_owned()
}

fn regenerate_hint() -> String {
    format!("regenerate it with `cargo run --bin tttv2 -- {} --out {EXAMPLE}` and review the diff", ARGS.join(" "))
}

#[test]
fn committed_example_is_what_the_generator_writes() {
    // The same directory name as the example's: the package name comes from it.
    let tmp = std::env::temp_dir().join(format!("tttv2-generate-test-{}", std::process::id()));
    let out = tmp.join(Path::new(EXAMPLE).file_name().unwrap());
    let _ = std::fs::remove_dir_all(&tmp);
    let run = Command::new(env!("CARGO_BIN_EXE_tttv2"))
        .current_dir(root())
        .args(ARGS)
        .arg("--out")
        .arg(&out)
        .output()
        .expect("the tttv2 binary runs");
    assert!(run.status.success(), "tttv2 generate failed: {}", String::from_utf8_lossy(&run.stderr));
    for file in ["src/lib.rs", "Cargo.toml", "manifest.json", "graph.json", "graph.dot"] {
        let fresh = std::fs::read_to_string(out.join(file)).unwrap();
        let committed = std::fs::read_to_string(root().join(EXAMPLE).join(file))
            .unwrap_or_else(|e| panic!("{EXAMPLE}/{file}: {e}; {}", regenerate_hint()));
        if fresh != committed {
            let line = fresh.lines().zip(committed.lines()).position(|(a, b)| a != b).map_or(0, |i| i + 1);
            panic!("{EXAMPLE}/{file} is stale (first difference at line {line}); {}", regenerate_hint());
        }
    }
    let _ = std::fs::remove_dir_all(&tmp);
}
