//! `docs/plans.md` (the chosen configs of Llama-3.2-1B, 3.1-8B and 3.1-70B on n150 / n300 / t3k,
//! and the calibration table against TT's measurements) is what `docs/gen-plans.sh` writes with
//! this build's planner: a change to the planner or the cost model that moves a figure fails here
//! until the document is regenerated, so it cannot go stale.

use std::path::PathBuf;
use std::process::Command;

#[test]
fn docs_plans_md_is_current() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_owned();
    let out = Command::new("bash")
        .arg("docs/gen-plans.sh")
        .current_dir(&root)
        .env("TTTV2_BIN", env!("CARGO_BIN_EXE_tttv2"))
        .output()
        .expect("bash runs");
    assert!(out.status.success(), "docs/gen-plans.sh failed: {}", String::from_utf8_lossy(&out.stderr));
    let want = String::from_utf8(out.stdout).unwrap();
    let have = std::fs::read_to_string(root.join("docs/plans.md")).unwrap();
    if have != want {
        let line = have.lines().zip(want.lines()).position(|(a, b)| a != b).unwrap_or(0) + 1;
        panic!(
            "docs/plans.md is stale from line {line}; regenerate it with `docs/gen-plans.sh > docs/plans.md` and review the diff"
        );
    }
}
