//! Builds the cxx bridge with one backend: the host backend by default, the TT-NN backend with
//! the `ttnn` feature (which needs a tt-metal install: see `ttnn_build`).

use std::env;
use std::fs;
use std::path::{Path, PathBuf};

const HOST_SOURCES: &[&str] = &[
    "cpp/host/ops_tensor.cc",
    "cpp/host/ops_matmul.cc",
    "cpp/host/ops_eltwise.cc",
    "cpp/host/ops_transformer.cc",
    "cpp/host/numerics.cc",
    "cpp/host/gemm.cc",
    "cpp/host/gemv.cc",
];

fn main() {
    println!("cargo:rerun-if-changed=src/bridge.rs");
    println!("cargo:rerun-if-changed=include/tttv2/shim.h");
    println!("cargo:rerun-if-changed=cpp");
    println!("cargo:rerun-if-env-changed=TT_METAL_HOME");

    let mut build = cxx_build::bridge("src/bridge.rs");
    build.include("include").flag_if_supported("-Wno-unused-parameter").opt_level(3);
    if env::var_os("CARGO_FEATURE_TTNN").is_some() {
        ttnn_build(build);
    } else {
        build.std("c++17");
        for src in HOST_SOURCES {
            build.file(src);
        }
        build.compile("tttv2_host");
    }
    // The host GEMM uses both cores through std::thread.
    println!("cargo:rustc-link-lib=pthread");
}

/// The tt-metal commit the TT-NN backend is written against.
const TT_METAL_COMMIT: &str = "13adda80c119631d18b0bc06163416ba148c25ab";

const TTNN_SOURCES: &[&str] = &["cpp/ttnn/backend.cc", "cpp/ttnn/ops.cc", "cpp/host/numerics.cc", "cpp/host/gemm.cc"];

fn ttnn_help(problem: &str) -> ! {
    panic!(
        "tttv2-sys (feature `ttnn`): {problem}\n\
         Set:\n\
         \x20 TT_METAL_HOME=<tt-metal checkout or install of commit {TT_METAL_COMMIT}, built (build/ or build_Release/)>\n\
         Optional:\n\
         \x20 TTTV2_SKIP_COMMIT_CHECK=1        build against another tt-metal commit (the C++ API drifts; expect errors)\n\
         \x20 TTTV2_TT_METAL_COMMIT=<sha>      the commit of TT_METAL_HOME when it has no .git (an install tree)\n\
         \x20 TTTV2_TTNN_INCLUDE=<dir:dir>     extra include dirs (third-party headers: fmt >= 11, spdlog >= 1.15, reflect,\n\
         \x20                                  enchantum, nlohmann/json, tt-umd, tt-logger)\n\
         \x20 TTTV2_TTNN_LIB=<dir:dir>         extra library dirs (holding _ttnncpp.so and libtt_metal.so)\n\
         \x20 TTTV2_TTNN_CXXFLAGS=<flags>      extra compiler flags\n\
         Or build without `--features ttnn` to use the host backend."
    )
}

/// The commit of a tt-metal tree: `.git/HEAD` (a sha, or a ref resolved through `.git/<ref>` or
/// `packed-refs`; `.git` may be a `gitdir:` file for submodules), else `TTTV2_TT_METAL_COMMIT`.
fn tt_metal_commit(home: &Path) -> Option<String> {
    if let Ok(c) = env::var("TTTV2_TT_METAL_COMMIT") {
        return Some(c.trim().to_owned());
    }
    let mut git = home.join(".git");
    if git.is_file() {
        let text = fs::read_to_string(&git).ok()?;
        let dir = text.trim().strip_prefix("gitdir:")?.trim();
        git = home.join(dir);
    }
    let head = fs::read_to_string(git.join("HEAD")).ok()?;
    let head = head.trim();
    let Some(r) = head.strip_prefix("ref:") else { return Some(head.to_owned()) };
    let r = r.trim();
    if let Ok(sha) = fs::read_to_string(git.join(r)) {
        return Some(sha.trim().to_owned());
    }
    let packed = fs::read_to_string(git.join("packed-refs")).ok()?;
    packed.lines().find(|l| l.ends_with(r)).and_then(|l| l.split_whitespace().next()).map(str::to_owned)
}

fn split_paths(var: &str) -> Vec<PathBuf> {
    env::var_os(var).map(|v| env::split_paths(&v).collect()).unwrap_or_default()
}

/// The TT-NN backend: C++20 against tt-metal's headers and `_ttnncpp.so` / `libtt_metal.so`,
/// found from `TT_METAL_HOME` (source tree with build/ or build_Release/, or an install tree).
fn ttnn_build(mut build: cc::Build) {
    for v in ["TTTV2_SKIP_COMMIT_CHECK", "TTTV2_TT_METAL_COMMIT", "TTTV2_TTNN_INCLUDE", "TTTV2_TTNN_LIB", "TTTV2_TTNN_CXXFLAGS"] {
        println!("cargo:rerun-if-env-changed={v}");
    }
    let Some(home) = env::var_os("TT_METAL_HOME").map(PathBuf::from) else {
        ttnn_help("TT_METAL_HOME is not set.");
    };
    if !home.is_dir() {
        ttnn_help(&format!("TT_METAL_HOME = {} is not a directory.", home.display()));
    }
    if env::var("TTTV2_SKIP_COMMIT_CHECK").as_deref() != Ok("1") {
        match tt_metal_commit(&home) {
            Some(c) if c.starts_with(TT_METAL_COMMIT) || (c.len() >= 8 && TT_METAL_COMMIT.starts_with(&c)) => {}
            Some(c) => ttnn_help(&format!(
                "TT_METAL_HOME = {} is at commit {c}, but the TT-NN backend is written against {TT_METAL_COMMIT}.",
                home.display()
            )),
            None => ttnn_help(&format!("cannot read the tt-metal commit of TT_METAL_HOME = {} (no .git).", home.display())),
        }
    }
    // Source-tree and install-tree include dirs (ttnn-api.md; CMake's TT-NN targets).
    let mut includes: Vec<PathBuf> = [
        "tt_metal/api",
        "tt_metal/hostdevcommon/api",
        "tt_metal",
        "ttnn/api",
        "ttnn/cpp",
        "ttnn",
        ".",
        "tt_metal/third_party/umd/device/api",
        "tt_metal/third_party/tracy/public",
        "include",
        "build/include",
        "build_Release/include",
    ]
    .iter()
    .map(|d| home.join(d))
    .filter(|d| d.is_dir())
    .collect();
    // CPM-fetched header-only dependencies (fmt, spdlog, reflect, enchantum, nlohmann_json, ...).
    for cache in [home.join(".cpmcache"), home.join("build/_deps"), home.join("build_Release/_deps")] {
        if let Ok(entries) = fs::read_dir(&cache) {
            for e in entries.flatten() {
                for sub in [e.path().join("include"), e.path()] {
                    if let Ok(inner) = fs::read_dir(&sub) {
                        for i in inner.flatten() {
                            if i.path().join("include").is_dir() {
                                includes.push(i.path().join("include"));
                            }
                        }
                    }
                    if sub.is_dir() && sub.ends_with("include") {
                        includes.push(sub);
                    }
                }
            }
        }
    }
    includes.extend(split_paths("TTTV2_TTNN_INCLUDE"));
    if !includes.iter().any(|d| d.join("ttnn/tensor/tensor.hpp").is_file()) {
        ttnn_help(&format!(
            "no ttnn/tensor/tensor.hpp under TT_METAL_HOME = {} (looked in ttnn/api, include, build*/include) or TTTV2_TTNN_INCLUDE.",
            home.display()
        ));
    }
    let mut libs: Vec<PathBuf> = ["build/lib", "build_Release/lib", "build/ttnn", "build_Release/ttnn", "lib", "ttnn/ttnn"]
        .iter()
        .map(|d| home.join(d))
        .filter(|d| d.is_dir())
        .collect();
    libs.extend(split_paths("TTTV2_TTNN_LIB"));
    let ttnn_lib = libs.iter().find(|d| d.join("_ttnncpp.so").is_file()).cloned();
    let Some(ttnn_lib) = ttnn_lib else {
        ttnn_help(&format!(
            "no _ttnncpp.so under TT_METAL_HOME = {} (build/lib, build_Release/lib, build*/ttnn, lib) or TTTV2_TTNN_LIB; build tt-metal first (./build_metal.sh).",
            home.display()
        ));
    };
    for i in &includes {
        build.include(i);
    }
    build.std("c++20").define("FMT_HEADER_ONLY", None).define("SPDLOG_FMT_EXTERNAL", None).flag_if_supported("-Wno-c++11-narrowing");
    if let Ok(flags) = env::var("TTTV2_TTNN_CXXFLAGS") {
        for f in flags.split_whitespace() {
            build.flag(f);
        }
    }
    for src in TTNN_SOURCES {
        build.file(src);
    }
    build.compile("tttv2_ttnn");
    for l in &libs {
        println!("cargo:rustc-link-search=native={}", l.display());
        println!("cargo:rustc-link-arg=-Wl,-rpath,{}", l.display());
    }
    // _ttnncpp.so has no `lib` prefix, so it is linked by file name.
    println!("cargo:rustc-link-arg=-l:_ttnncpp.so");
    println!("cargo:rustc-link-lib=dylib=tt_metal");
    println!("cargo:rustc-env=TTTV2_TTNN_LIB_DIR={}", ttnn_lib.display());
}
