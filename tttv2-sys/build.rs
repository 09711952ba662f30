//! Builds the cxx bridge with one backend: the host backend by default, the TT-NN backend with
//! the `ttnn` feature (which needs a tt-metal install: see `ttnn_build`).

use std::env;
use std::path::PathBuf;

const HOST_SOURCES: &[&str] = &["cpp/host/backend.cc", "cpp/host/numerics.cc", "cpp/host/gemm.cc"];

fn main() {
    println!("cargo:rerun-if-changed=src/bridge.rs");
    println!("cargo:rerun-if-changed=include/tttv2/shim.h");
    println!("cargo:rerun-if-changed=cpp");
    println!("cargo:rerun-if-env-changed=TT_METAL_HOME");

    let mut build = cxx_build::bridge("src/bridge.rs");
    build.include("include").flag_if_supported("-Wno-unused-parameter").opt_level(3);
    if env::var_os("CARGO_FEATURE_TTNN").is_some() {
        ttnn_build();
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

/// The TT-NN backend: C++20 against tt-metal's headers and `_ttnncpp.so`, found from
/// `TT_METAL_HOME`.
fn ttnn_build() {
    let Some(home) = env::var_os("TT_METAL_HOME").map(PathBuf::from) else {
        panic!(
            "tttv2-sys: the `ttnn` feature builds against a tt-metal install, but TT_METAL_HOME is not set.\n\
             Set TT_METAL_HOME to a tt-metal checkout or install of commit 13adda80c119631d18b0bc06163416ba148c25ab,\n\
             or build without `--features ttnn` to use the host backend."
        );
    };
    panic!(
        "tttv2-sys: the TT-NN backend is not implemented yet (TT_METAL_HOME = {}); build without `--features ttnn`.",
        home.display()
    );
}
