//! Builds the cxx bridge with one backend: the host backend by default, the TT-NN backend with
//! the `ttnn` feature (which needs a built tt-metal source tree or an installed tree: see
//! `ttnn_build`).

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

/// Build directories of a source tree, in the order they are tried (`build_metal.sh` writes
/// `build_<type>` and links `build` to it).
const BUILD_DIRS: &[&str] = &["build", "build_Release", "build_RelWithDebInfo", "build_Debug"];

fn ttnn_help(problem: &str) -> ! {
    panic!(
        "tttv2-sys (feature `ttnn`): {problem}\n\
         Set:\n\
         \x20 TT_METAL_HOME=<tt-metal at commit {TT_METAL_COMMIT}>, either\n\
         \x20   - a source tree (a checkout: tt_metal/api, ttnn/api, tt_stl, tt_metal/third_party/umd, ...) built with\n\
         \x20     ./build_metal.sh, so that build/ (or build_Release/, or TTTV2_TT_METAL_BUILD_DIR) holds the libraries and\n\
         \x20     .cpmcache/ (or CPM_SOURCE_CACHE, or build/_deps) the header-only dependencies; or\n\
         \x20   - an installed tree (cmake --install: include/tt-metalium, include/ttnn, include/tt_stl,\n\
         \x20     include/metalium-thirdparty, lib/)\n\
         Optional:\n\
         \x20 TTTV2_TT_METAL_BUILD_DIR=<dir>   the build dir of a source tree (absolute, or relative to TT_METAL_HOME)\n\
         \x20 TTTV2_SKIP_COMMIT_CHECK=1        build against another tt-metal commit (the C++ API drifts; expect errors)\n\
         \x20 TTTV2_TT_METAL_COMMIT=<sha>      the commit of TT_METAL_HOME when it has no .git (an installed tree)\n\
         \x20 TTTV2_TTNN_INCLUDE=<dir:dir>     extra include dirs, searched for the header-only dependencies too (fmt 11.1,\n\
         \x20                                  spdlog 1.15, reflect, enchantum, nlohmann/json, tt-logger, tt-umd, tracy)\n\
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
    let Some(r) = head.strip_prefix("ref:") else {
        return Some(head.to_owned());
    };
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

/// A header-only dependency TT-NN's public headers include: how to recognise its include dir
/// (`marker`, a path under it), its CPM package name (tt-metal 13adda80 `third_party/CMakeLists.txt`)
/// and its include dir inside the package's sources.
struct Dep {
    name: &'static str,
    marker: &'static str,
    cpm: &'static str,
    subdirs: &'static [&'static str],
}

const DEPS: &[Dep] = &[
    Dep { name: "fmt 11.1", marker: "fmt/core.h", cpm: "fmt", subdirs: &["include"] },
    Dep { name: "spdlog 1.15", marker: "spdlog/spdlog.h", cpm: "spdlog", subdirs: &["include"] },
    Dep {
        name: "nlohmann/json",
        marker: "nlohmann/json.hpp",
        cpm: "nlohmann_json",
        subdirs: &["include", "single_include"],
    },
    // reflect's target has its source dir itself as include dir (the header is `reflect`).
    Dep { name: "reflect", marker: "reflect", cpm: "reflect", subdirs: &[""] },
    Dep { name: "enchantum", marker: "enchantum/enchantum.hpp", cpm: "enchantum", subdirs: &["enchantum/include"] },
    Dep { name: "tt-logger", marker: "tt-logger/tt-logger.hpp", cpm: "tt-logger", subdirs: &["include"] },
    // Submodules of a source tree (tt_metal/third_party); installed under include/ or
    // include/metalium-thirdparty.
    Dep { name: "tt-umd", marker: "umd/device/types/arch.hpp", cpm: "umd", subdirs: &["device/api"] },
    Dep { name: "tracy", marker: "tracy/Tracy.hpp", cpm: "tracy", subdirs: &["public"] },
];

/// The compiler's default include dirs, where an installed tree's consumer has nlohmann/json
/// (`cmake/packaging.cmake` @ 13adda80: the metalium-dev package depends on `nlohmann-json3-dev`).
const SYSTEM_INCLUDE: &[&str] = &["/usr/include", "/usr/local/include"];

/// What `ttnn_build` compiles and links against.
struct Tree {
    kind: &'static str,
    root: PathBuf,
    includes: Vec<PathBuf>,
    libs: Vec<PathBuf>,
}

fn existing(root: &Path, rel: &[&str]) -> Vec<PathBuf> {
    rel.iter().map(|d| if d.is_empty() { root.to_path_buf() } else { root.join(d) }).filter(|d| d.is_dir()).collect()
}

/// The build dirs of a source tree, `TTTV2_TT_METAL_BUILD_DIR` first.
fn build_dirs(home: &Path) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = env::var_os("TTTV2_TT_METAL_BUILD_DIR").map(|d| home.join(d)).into_iter().collect();
    dirs.extend(BUILD_DIRS.iter().map(|d| home.join(d)));
    dirs.retain(|d| d.is_dir());
    dirs.dedup();
    dirs
}

/// A tt-metal source tree with build output. Include dirs as tt-metal's CMake targets export them
/// with `BUILD_INTERFACE` (13adda80): `tt_metal/CMakeLists.txt` (TT::Metalium: `tt_metal/api` and
/// the build dir's generated `tt_metal/api`), `tt_metal/hostdevcommon/CMakeLists.txt` (`api`, and
/// the `hostdev_headers` file set based at the source root: `tt_metal/hw/inc/hostdev/...`),
/// `tt_stl/CMakeLists.txt` (base dir `tt_stl`), `ttnn/CMakeLists.txt` (ttnn_core: `ttnn/api`;
/// ttnncpp: `ttnn/api`, `ttnn/cpp`); plus `ttnn` (headers included as `ttnn/cpp/ttnn/...`).
fn source_tree(home: &Path) -> Option<Tree> {
    let markers = ["tt_metal/api/tt-metalium/device.hpp", "ttnn/api/ttnn/tensor/tensor.hpp", "tt_stl/tt_stl/span.hpp"];
    if !markers.iter().all(|m| home.join(m).is_file()) {
        return None;
    }
    let mut includes = existing(
        home,
        &[
            "",
            "ttnn/api",
            "ttnn/cpp",
            "ttnn",
            "tt_metal/api",
            "tt_metal/hostdevcommon/api",
            "tt_stl",
            "tt_metal/third_party/umd/device/api",
            "tt_metal/third_party/tracy/public",
        ],
    );
    let builds = build_dirs(home);
    let mut libs = Vec::new();
    for b in &builds {
        includes.extend(existing(b, &["tt_metal/api"]));
        // Where the targets' own outputs land (BUILD_RPATH in ttnn/CMakeLists.txt), and lib/ after
        // build_metal.sh's install into the build dir.
        libs.extend(existing(b, &["lib", "tt_metal", "ttnn", "tt_stl"]));
    }
    Some(Tree { kind: "source tree", root: home.to_path_buf(), includes, libs })
}

/// An installed tree (`cmake --install`; `build_metal.sh` installs into its build dir). Install
/// destinations (13adda80): the `api` file sets of tt_metal, tt_stl, hostdevcommon and ttnncpp go to
/// `include/`; reflect, enchantum, TracyClient and tt-logger to `include/metalium-thirdparty`
/// (`tt_metal/CMakeLists.txt`); hostdevcommon's `hostdev_headers` to `libexec/tt-metalium`
/// (`tt_metal/hostdevcommon/CMakeLists.txt`); libraries to `lib/`.
fn installed_tree(prefix: &Path) -> Option<Tree> {
    let markers = ["include/tt-metalium/device.hpp", "include/ttnn/tensor/tensor.hpp", "include/tt_stl/span.hpp"];
    if !markers.iter().all(|m| prefix.join(m).is_file()) {
        return None;
    }
    let includes = existing(prefix, &["include", "include/metalium-thirdparty", "libexec/tt-metalium"]);
    let libs = existing(prefix, &["lib", "lib64"]);
    Some(Tree { kind: "installed tree", root: prefix.to_path_buf(), includes, libs })
}

/// The include dir of a header-only dependency: one of `dirs` if it already has it, else the
/// package's sources in a build dir (`_deps/<name>-src`) or the CPM source cache
/// (`CPM_SOURCE_CACHE`, default `<source root>/.cpmcache`, tt-metal's `cmake/CPM.cmake`; the
/// newest of several versions there).
fn find_dep(dep: &Dep, dirs: &[PathBuf], home: &Path) -> Option<PathBuf> {
    if let Some(d) = dirs
        .iter()
        .chain(&SYSTEM_INCLUDE.iter().map(PathBuf::from).collect::<Vec<_>>())
        .find(|d| d.join(dep.marker).exists())
    {
        return Some(d.clone());
    }
    let mut roots: Vec<PathBuf> =
        build_dirs(home).iter().map(|b| b.join("_deps").join(format!("{}-src", dep.cpm.to_lowercase()))).collect();
    let mut caches: Vec<PathBuf> = env::var_os("CPM_SOURCE_CACHE").map(PathBuf::from).into_iter().collect();
    caches.push(home.join(".cpmcache"));
    for cache in caches {
        let mut versions: Vec<(std::time::SystemTime, PathBuf)> = fs::read_dir(cache.join(dep.cpm))
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| Some((e.metadata().ok()?.modified().ok()?, e.path())))
            .collect();
        versions.sort();
        roots.extend(versions.into_iter().rev().map(|(_, p)| p));
    }
    roots.iter().flat_map(|r| existing(r, dep.subdirs)).find(|d| d.join(dep.marker).exists())
}

/// The TT-NN backend: C++20 against tt-metal's headers and `_ttnncpp.so` / `libtt_metal.so` /
/// `libtt_stl.so`, found from `TT_METAL_HOME` (a source tree with build output, or an installed
/// tree), with the compile definitions tt-metal's CMake targets export.
fn ttnn_build(mut build: cc::Build) {
    for v in [
        "TTTV2_TT_METAL_BUILD_DIR",
        "TTTV2_SKIP_COMMIT_CHECK",
        "TTTV2_TT_METAL_COMMIT",
        "TTTV2_TTNN_INCLUDE",
        "TTTV2_TTNN_LIB",
        "TTTV2_TTNN_CXXFLAGS",
        "CPM_SOURCE_CACHE",
    ] {
        println!("cargo:rerun-if-env-changed={v}");
    }
    let Some(home) = env::var_os("TT_METAL_HOME").filter(|h| !h.is_empty()).map(PathBuf::from) else {
        ttnn_help("TT_METAL_HOME is not set.");
    };
    if !home.is_dir() {
        ttnn_help(&format!("TT_METAL_HOME = {} is not a directory.", home.display()));
    }
    // A source tree first (CMake's BUILD_INTERFACE dirs); else an installed tree at TT_METAL_HOME or
    // in a build dir.
    let tree = source_tree(&home)
        .or_else(|| installed_tree(&home))
        .or_else(|| build_dirs(&home).iter().find_map(|b| installed_tree(b)));
    let Some(mut tree) = tree else {
        ttnn_help(&format!(
            "TT_METAL_HOME = {} is neither a tt-metal source tree (no tt_metal/api/tt-metalium/device.hpp, \
             ttnn/api/ttnn/tensor/tensor.hpp, tt_stl/tt_stl/span.hpp) nor an installed tree (no include/tt-metalium/device.hpp, \
             include/ttnn/tensor/tensor.hpp, include/tt_stl/span.hpp, there or in {}).",
            home.display(),
            BUILD_DIRS.join(", ")
        ));
    };
    if env::var("TTTV2_SKIP_COMMIT_CHECK").as_deref() != Ok("1") {
        match tt_metal_commit(&home) {
            Some(c) if c.starts_with(TT_METAL_COMMIT) || (c.len() >= 8 && TT_METAL_COMMIT.starts_with(&c)) => {}
            Some(c) => ttnn_help(&format!(
                "TT_METAL_HOME = {} is at commit {c}, but the TT-NN backend is written against {TT_METAL_COMMIT}.",
                home.display()
            )),
            None => ttnn_help(&format!(
                "cannot read the tt-metal commit of TT_METAL_HOME = {} (no .git; set TTTV2_TT_METAL_COMMIT for an installed tree).",
                home.display()
            )),
        }
    }
    let extra = split_paths("TTTV2_TTNN_INCLUDE");
    let mut searched = tree.includes.clone();
    searched.extend(extra.iter().cloned());
    let mut missing = Vec::new();
    for dep in DEPS {
        match find_dep(dep, &searched, &home) {
            Some(d) if !tree.includes.contains(&d) && !SYSTEM_INCLUDE.iter().any(|s| d == Path::new(s)) => {
                tree.includes.push(d)
            }
            Some(_) => {}
            None => missing.push(format!("{} ({})", dep.name, dep.marker)),
        }
    }
    if !missing.is_empty() {
        ttnn_help(&format!(
            "TT_METAL_HOME = {} ({}): no include dir holds {}. Build tt-metal once (its CPM cache then holds them), \
             install them (an installed tree's metalium-dev package depends on nlohmann-json3-dev), or list their include \
             dirs in TTTV2_TTNN_INCLUDE.",
            home.display(),
            tree.kind,
            missing.join(", ")
        ));
    }
    tree.includes.extend(extra);
    tree.libs.extend(split_paths("TTTV2_TTNN_LIB"));
    let lib_dir = |file: &str| tree.libs.iter().find(|d| d.join(file).is_file()).cloned();
    let Some(ttnn_lib) = lib_dir("_ttnncpp.so") else {
        ttnn_help(&format!(
            "no _ttnncpp.so in {} ({}: {}) or TTTV2_TTNN_LIB; build tt-metal first (./build_metal.sh).",
            tree.root.display(),
            tree.kind,
            if tree.libs.is_empty() { "no library dirs".to_owned() } else { join(&tree.libs) }
        ));
    };
    if lib_dir("libtt_metal.so").is_none() {
        ttnn_help(&format!("no libtt_metal.so in {} or TTTV2_TTNN_LIB.", join(&tree.libs)));
    }
    println!("cargo:warning=tttv2-sys: TT-NN backend against the {} {}", tree.kind, tree.root.display());
    // As system include dirs, as a CMake consumer of the exported (imported) TT::Metalium / TTNN
    // targets gets them: tt-metal's headers are not -Wall -Wextra clean (-Wnarrowing and
    // -Wsign-compare in ttnn/cpp/ttnn/operations/ccl and functions.hpp at 13adda80); errors still show.
    for i in &tree.includes {
        build.flag("-isystem").flag(i);
    }
    // Compile definitions and options tt-metal's targets export to consumers (13adda80):
    // FMT_HEADER_ONLY: fmt::fmt-header-only (fmt 11.1.4 CMakeLists.txt), linked by TT::Metalium, TT::STL,
    //   TTNN (tt_metal/CMakeLists.txt, tt_stl/CMakeLists.txt, ttnn/CMakeLists.txt);
    // SPDLOG_FMT_EXTERNAL: spdlog built with SPDLOG_FMT_EXTERNAL_HO (third_party/CMakeLists.txt; spdlog's
    //   CMakeLists.txt then defines it on its targets);
    // NTEST: the reflect target (third_party/CMakeLists.txt);
    // DISABLE_NAMESPACE_STATIC_ASSERT: ttnn_core and ttnncpp, GCC only (ttnn/CMakeLists.txt);
    // TT_ENABLE_LIGHT_METAL_TRACE=0: the root CMakeLists.txt's default (directory-wide, so what
    //   tt-metal's own sources were compiled with);
    // -Wno-int-to-pointer-cast: TT::Metalium PUBLIC (tt_metal/CMakeLists.txt);
    // -Wno-deprecated-declarations: tt-metal's own warning set (CMakeLists.txt); its headers deprecate
    //   tt::stl, the global CoreCoord, ...
    build
        .std("c++20")
        .define("FMT_HEADER_ONLY", None)
        .define("SPDLOG_FMT_EXTERNAL", None)
        .define("NTEST", None)
        .define("TT_ENABLE_LIGHT_METAL_TRACE", "0")
        .flag_if_supported("-Wno-int-to-pointer-cast")
        .flag_if_supported("-Wno-deprecated-declarations");
    if !build.get_compiler().is_like_clang() {
        build.define("DISABLE_NAMESPACE_STATIC_ASSERT", None);
    }
    if let Ok(flags) = env::var("TTTV2_TTNN_CXXFLAGS") {
        for f in flags.split_whitespace() {
            build.flag(f);
        }
    }
    for src in TTNN_SOURCES {
        build.file(src);
    }
    build.compile("tttv2_ttnn");
    for l in &tree.libs {
        println!("cargo:rustc-link-search=native={}", l.display());
        println!("cargo:rustc-link-arg=-Wl,-rpath,{}", l.display());
    }
    // _ttnncpp.so has no `lib` prefix (ttnn/CMakeLists.txt: PREFIX "_"), so it is linked by file name.
    println!("cargo:rustc-link-arg=-l:_ttnncpp.so");
    println!("cargo:rustc-link-lib=dylib=tt_metal");
    // tt_stl is a shared library at 13adda80 (tt_stl/CMakeLists.txt: SmallVector's out-of-line code).
    if lib_dir("libtt_stl.so").is_some() {
        println!("cargo:rustc-link-lib=dylib=tt_stl");
    }
    println!("cargo:rustc-env=TTTV2_TTNN_LIB_DIR={}", ttnn_lib.display());
}

fn join(dirs: &[PathBuf]) -> String {
    dirs.iter().map(|d| d.display().to_string()).collect::<Vec<_>>().join(", ")
}
