#!/usr/bin/env bash
# Does the TT-NN backend (tttv2-sys/cpp/ttnn/*.cc) compile against tt-metal's headers?
#
# Compiles each file syntax-only (g++ -std=c++20 -fsyntax-only; `-c` with MODE=obj) with the include
# dirs and definitions tttv2-sys/build.rs uses for feature `ttnn`, so no tt-metal build and no
# device are needed: only the headers of tt-metal at the pinned commit and of the header-only
# dependencies TT-NN's public headers include. Prints per file OK or FAIL with its first errors,
# then `ttnn backend: N/M files compile, E errors`; exits 0 only when every file compiles.
#
# usage: scripts/check-ttnn-backend.sh            (from anywhere; checks this checkout)
#
# Environment:
#   TT_METAL_HOME       tt-metal at 13adda80: a source tree (tt_metal/api, ttnn/api, tt_stl, the
#                       tt_metal/third_party submodules) or an installed tree (include/tt-metalium, ...). Required.
#   TTTV2_TTNN_INCLUDE  ':'-separated include dirs of the header-only dependencies when they are not in
#                       TT_METAL_HOME's CPM cache (.cpmcache or CPM_SOURCE_CACHE) or build dir (build*/_deps):
#                       fmt 11.1, spdlog 1.15, nlohmann/json, reflect, enchantum, tt-logger (and tt-umd's
#                       device/api, tracy's public/ for a source tree without submodules)
#   BRIDGE_INCLUDE      a cxxbridge include dir (rust/cxx.h, tttv2-sys/src/bridge.rs.h); default: generated
#                       by a `cxxbridge` CLI on PATH, else taken from a host-backend cargo build of this
#                       checkout (run here when missing or older than src/bridge.rs)
#   CXX                 compiler (default g++; tt-metal needs GCC >= 12 or Clang >= 17)
#   MODE                syntax (default) or obj (compile to objects in a temporary dir)
#   SHOW                error lines shown per failing file (default 20)
#   EXTRA_FLAGS         more compiler flags
#
# The flags below mirror build.rs's `ttnn_build` (source_tree / installed_tree / DEPS); change both together.
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
SYS="$ROOT/tttv2-sys"
CXX=${CXX:-g++}
MODE=${MODE:-syntax}
SHOW=${SHOW:-20}
die() { echo "check-ttnn-backend: $*" >&2; exit 2; }

H=${TT_METAL_HOME:-}
[ -n "$H" ] || die "set TT_METAL_HOME to a tt-metal 13adda80 source tree or installed tree (see the header of this script)"
[ -d "$H" ] || die "TT_METAL_HOME = $H is not a directory"
H=$(cd "$H" && pwd)

INC=()
add() { for d in "$@"; do [ -d "$d" ] && INC+=("$d"); done; return 0; }
BUILDS=()
for b in ${TTTV2_TT_METAL_BUILD_DIR:+"$TTTV2_TT_METAL_BUILD_DIR"} build build_Release build_RelWithDebInfo build_Debug; do
  case $b in /*) ;; *) b="$H/$b" ;; esac
  [ -d "$b" ] && BUILDS+=("$b")
done

if [ -f "$H/tt_metal/api/tt-metalium/device.hpp" ] && [ -f "$H/ttnn/api/ttnn/tensor/tensor.hpp" ] && [ -f "$H/tt_stl/tt_stl/span.hpp" ]; then
  KIND="source tree"
  add "$H" "$H/ttnn/api" "$H/ttnn/cpp" "$H/ttnn" "$H/tt_metal/api" "$H/tt_metal/hostdevcommon/api" "$H/tt_stl" \
    "$H/tt_metal/third_party/umd/device/api" "$H/tt_metal/third_party/tracy/public"
  for b in "${BUILDS[@]}"; do add "$b/tt_metal/api"; done
else
  KIND=""
  for p in "$H" "${BUILDS[@]}"; do
    if [ -f "$p/include/tt-metalium/device.hpp" ] && [ -f "$p/include/ttnn/tensor/tensor.hpp" ] && [ -f "$p/include/tt_stl/span.hpp" ]; then
      KIND="installed tree"; H=$p
      add "$p/include" "$p/include/metalium-thirdparty" "$p/libexec/tt-metalium"
      break
    fi
  done
  [ -n "$KIND" ] || die "TT_METAL_HOME = $H is neither a tt-metal source tree nor an installed tree"
fi

# Header-only dependencies: name marker cpm-package subdirs...
EXTRA_INC=()
IFS=: read -r -a EXTRA_INC <<<"${TTTV2_TTNN_INCLUDE:-}"
find_dep() {
  local marker=$1 cpm=$2; shift 2
  local d r s
  for d in "${INC[@]}" "${EXTRA_INC[@]}"; do [ -n "$d" ] && [ -e "$d/$marker" ] && { echo "$d"; return 0; }; done
  local roots=()
  for b in "${BUILDS[@]}"; do roots+=("$b/_deps/${cpm,,}-src"); done
  for c in ${CPM_SOURCE_CACHE:+"$CPM_SOURCE_CACHE"} "$H/.cpmcache"; do
    [ -d "$c/$cpm" ] || continue
    while IFS= read -r r; do roots+=("$r"); done < <(ls -1dt "$c/$cpm"/*/ 2>/dev/null)
  done
  for r in "${roots[@]}"; do
    for s in "$@"; do
      d=${r%/}${s:+/$s}
      [ -e "$d/$marker" ] && { echo "$d"; return 0; }
    done
  done
  return 1
}
missing=()
while read -r name marker cpm subs; do
  # shellcheck disable=SC2086
  if d=$(find_dep "$marker" "$cpm" $subs); then
    case " ${INC[*]} " in *" $d "*) ;; *) INC+=("$d") ;; esac
  else
    missing+=("$name ($marker)")
  fi
done <<'EOF'
fmt fmt/core.h fmt include
spdlog spdlog/spdlog.h spdlog include
nlohmann/json nlohmann/json.hpp nlohmann_json include single_include
reflect reflect reflect .
enchantum enchantum/enchantum.hpp enchantum enchantum/include
tt-logger tt-logger/tt-logger.hpp tt-logger include
tt-umd umd/device/types/arch.hpp umd device/api
tracy tracy/Tracy.hpp tracy public
EOF
[ ${#missing[@]} -eq 0 ] || die "no include dir holds: ${missing[*]}; set TTTV2_TTNN_INCLUDE (':'-separated)"
for d in "${EXTRA_INC[@]}"; do [ -n "$d" ] && INC+=("$d"); done

# --- the cxx bridge header -------------------------------------------------------------------
STAGE=$(mktemp -d "${TMPDIR:-/tmp}/tttv2-ttnn-check.XXXXXX")
trap 'rm -rf "$STAGE"' EXIT
mkdir -p "$STAGE/include/rust" "$STAGE/include/tttv2-sys/src" "$STAGE/crate" "$STAGE/obj"
ln -s "$SYS" "$STAGE/crate/tttv2-sys"  # "tttv2-sys/include/tttv2/shim.h", as cxx_build lays it out
if [ -n "${BRIDGE_INCLUDE:-}" ]; then
  cp "$BRIDGE_INCLUDE/rust/cxx.h" "$STAGE/include/rust/" && cp "$BRIDGE_INCLUDE/tttv2-sys/src/bridge.rs.h" "$STAGE/include/tttv2-sys/src/" ||
    die "BRIDGE_INCLUDE = $BRIDGE_INCLUDE lacks rust/cxx.h or tttv2-sys/src/bridge.rs.h"
  from="BRIDGE_INCLUDE"
elif command -v cxxbridge >/dev/null 2>&1; then
  (cd "$ROOT" && cxxbridge tttv2-sys/src/bridge.rs --header -o "$STAGE/include/tttv2-sys/src/bridge.rs.h") &&
    cxxbridge --header -o "$STAGE/include/rust/cxx.h" || die "cxxbridge failed"
  from="$(cxxbridge --version | head -1)"
else
  T=${CARGO_TARGET_DIR:-$ROOT/target}
  newest() { ls -1t "$T"/debug/build/tttv2-sys-*/out/cxxbridge/include/tttv2-sys/src/bridge.rs.h 2>/dev/null | head -1; }
  h=$(newest)
  if [ -z "$h" ] || [ "$SYS/src/bridge.rs" -nt "$h" ]; then
    echo "generating the bridge header: cargo build -p tttv2-sys (host backend)" >&2
    (cd "$ROOT" && cargo build -q -p tttv2-sys) || die "cargo build -p tttv2-sys failed"
    h=$(newest)
  fi
  [ -n "$h" ] || die "no bridge header under $T; set BRIDGE_INCLUDE or put cxxbridge on PATH"
  inc=${h%/tttv2-sys/src/bridge.rs.h}
  cp "$inc/rust/cxx.h" "$STAGE/include/rust/" && cp "$h" "$STAGE/include/tttv2-sys/src/"
  from="$inc"
fi

# --- flags: as build.rs (ttnn_build) --------------------------------------------------------------
FLAGS=(-std=c++20 -DFMT_HEADER_ONLY -DSPDLOG_FMT_EXTERNAL -DNTEST -DTT_ENABLE_LIGHT_METAL_TRACE=0
  -Wno-int-to-pointer-cast -Wno-deprecated-declarations)
$CXX --version 2>/dev/null | head -1 | grep -qi clang || FLAGS+=(-DDISABLE_NAMESPACE_STATIC_ASSERT)
case $MODE in syntax) FLAGS+=(-fsyntax-only) ;; obj) FLAGS+=(-c -O0) ;; *) die "MODE is syntax or obj" ;; esac
for d in "${INC[@]}"; do FLAGS+=("-I$d"); done
FLAGS+=("-I$SYS/include" "-I$STAGE/include" "-I$STAGE/crate")

echo "tt-metal: $H ($KIND)"
echo "bridge header: $from"
echo "compiler: $($CXX --version | head -1)"
n=0 ok=0 errs=0
for src in "$SYS"/cpp/ttnn/*.cc; do
  n=$((n + 1))
  f=$(basename "$src")
  out=()
  [ "$MODE" = obj ] && out=(-o "$STAGE/obj/$f.o")
  # shellcheck disable=SC2086
  $CXX "${FLAGS[@]}" ${EXTRA_FLAGS:-} "$src" "${out[@]}" >"$STAGE/$f.log" 2>&1
  rc=$?
  e=$(grep -cE ': (fatal )?error:' "$STAGE/$f.log")
  if [ $rc -eq 0 ]; then
    ok=$((ok + 1)); echo "$f: OK"
  else
    [ "$e" -eq 0 ] && e=1
    errs=$((errs + e)); echo "$f: FAIL, $e errors"
    grep -E ': (fatal )?error:' "$STAGE/$f.log" | head -n "$SHOW" | sed "s|$ROOT/||g; s|^|    |"
  fi
done
echo "ttnn backend: $ok/$n files compile, $errs errors"
[ "$n" -gt 0 ] && [ "$ok" -eq "$n" ]
