//! Crates by lifetime: what generated code and the bridge need at run time — the `tttv2` facade,
//! `tttv2-core` (TT-NN config types, device profiles) and `tttv2-sys` — does not pull in the code
//! generator's `syn`/`quote`/`proc-macro2`/`prettyplease`. Those belong to `tttv2-codegen`, which
//! only the `#[ttt_model]` proc-macro and the `tttv2` CLI (`tttv2-cli`) depend on.
//!
//! Walks `cargo metadata`'s resolved graph (all features on, so every optional dependency counts)
//! from each run-time crate along normal dependencies. Proc-macro crates are not entered: they run
//! in the compiler, and nothing of theirs is linked into the user's program. The same check by
//! hand prints nothing:
//!
//! ```sh
//! cargo tree -p tttv2 -p tttv2-core -p tttv2-sys -e normal,no-proc-macro --all-features --prefix none \
//!     | grep -E '^(syn|quote|proc-macro2|prettyplease) '
//! ```

use std::collections::{BTreeMap, VecDeque};
use std::process::Command;

const BUILD_TIME_ONLY: &[&str] = &["syn", "quote", "proc-macro2", "prettyplease"];
const RUN_TIME: &[&str] = &["tttv2", "tttv2-core", "tttv2-sys"];

struct Graph {
    /// Package id → (name, is a proc-macro).
    packages: BTreeMap<String, (String, bool)>,
    /// Package id → the ids of its normal (not dev-, not build-) dependencies.
    normal_deps: BTreeMap<String, Vec<String>>,
}

fn metadata() -> Graph {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--all-features", "--manifest-path"])
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml"))
        .output()
        .expect("cargo metadata runs");
    assert!(out.status.success(), "cargo metadata failed: {}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let packages = v["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let proc_macro = p["targets"]
                .as_array()
                .unwrap()
                .iter()
                .any(|t| t["kind"].as_array().unwrap().iter().any(|k| k == "proc-macro"));
            (p["id"].as_str().unwrap().to_owned(), (p["name"].as_str().unwrap().to_owned(), proc_macro))
        })
        .collect();
    let normal_deps = v["resolve"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            let deps = n["deps"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|d| d["dep_kinds"].as_array().unwrap().iter().any(|k| k["kind"].is_null()))
                .map(|d| d["pkg"].as_str().unwrap().to_owned())
                .collect();
            (n["id"].as_str().unwrap().to_owned(), deps)
        })
        .collect();
    Graph { packages, normal_deps }
}

impl Graph {
    fn id(&self, name: &str) -> String {
        let ids: Vec<_> = self.packages.iter().filter(|(_, (n, _))| n == name).map(|(id, _)| id.clone()).collect();
        assert_eq!(ids.len(), 1, "one package named {name}: {ids:?}");
        ids[0].clone()
    }

    /// Every crate linked into a program that depends on `root`, each with the chain of names
    /// that pulls it in.
    fn linked(&self, root: &str) -> BTreeMap<String, Vec<String>> {
        let mut seen = BTreeMap::new();
        let mut queue = VecDeque::from([(self.id(root), vec![root.to_owned()])]);
        while let Some((id, path)) = queue.pop_front() {
            if seen.contains_key(&id) {
                continue;
            }
            for dep in &self.normal_deps[&id] {
                let (name, proc_macro) = &self.packages[dep];
                if !proc_macro && !seen.contains_key(dep) {
                    let mut p = path.clone();
                    p.push(name.clone());
                    queue.push_back((dep.clone(), p));
                }
            }
            seen.insert(id, path);
        }
        seen.into_iter().map(|(id, path)| (self.packages[&id].0.clone(), path)).collect()
    }
}

#[test]
fn run_time_crates_do_not_link_the_code_generator() {
    let g = metadata();
    // The walk sees what it should: the code generator does pull the four in.
    let codegen = g.linked("tttv2-codegen");
    for name in BUILD_TIME_ONLY {
        assert!(codegen.contains_key(*name), "tttv2-codegen links {name}: the check would be vacuous otherwise");
    }
    assert!(g.linked("tttv2").contains_key("tttv2-sys"));
    let mut bad = Vec::new();
    for root in RUN_TIME {
        let linked = g.linked(root);
        for name in BUILD_TIME_ONLY.iter().chain(&["tttv2-codegen"]) {
            if let Some(path) = linked.get(*name) {
                bad.push(path.join(" -> "));
            }
        }
    }
    assert!(bad.is_empty(), "run-time crates link build-time-only crates:\n{}", bad.join("\n"));
}
