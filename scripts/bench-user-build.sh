#!/usr/bin/env bash
# Build time of a user crate holding Llama-3.2-1B decode (batch 32, seq_len 2048), two ways side by
# side: declared with `#[ttt_model(config = ...)]` (the macro plans and emits at every build) and
# as the crate `tttv2 generate` writes (plain source, no planning at build time).
#
# For each profile (dev, release): builds both crates once so that tttv2 and its dependencies are
# built, then RUNS times touches the crate's src/lib.rs and times `cargo build` (only the user crate
# recompiles), and prints the median and all runs.
#
# usage: scripts/bench-user-build.sh            (from anywhere; uses this checkout's tttv2 by path)
#
# Environment:
#   BENCH_DIR         where the two crates are written (default: $TMPDIR/tttv2-user-build)
#   CARGO_TARGET_DIR  shared by both crates (default: $BENCH_DIR/target)
#   RUNS              timed rebuilds per crate and profile (default 5)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BENCH_DIR="${BENCH_DIR:-${TMPDIR:-/tmp}/tttv2-user-build}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$BENCH_DIR/target}"
RUNS="${RUNS:-5}"
CONFIG=models/Llama-3.2-1B/config.json

mkdir -p "$BENCH_DIR"
# The crate a user writes.
M="$BENCH_DIR/macro_user"
mkdir -p "$M/src" "$M/$(dirname "$CONFIG")"
cp "$ROOT/$CONFIG" "$M/$CONFIG"
cat > "$M/Cargo.toml" <<TOML
[package]
name = "macro_user"
version = "0.1.0"
edition = "2024"
publish = false

[dependencies]
tttv2 = { path = "$ROOT", default-features = false, features = ["wormhole_b0"] }

[workspace]
TOML
cat > "$M/src/lib.rs" <<'RS'
//! Llama-3.2-1B decode, declared from its config.json.
use tttv2::ttt_model;

#[ttt_model(device = "wormhole_b0", config = "models/Llama-3.2-1B/config.json", mode = "decode", batch = 32, seq_len = 2048)]
pub struct Llama32_1B;
RS
# The same model as generated source.
G="$BENCH_DIR/generated_user"
(cd "$ROOT" && cargo run -q --release --bin tttv2 -- generate --config "$CONFIG" --device n150 --mode decode \
  --batch 32 --seq-len 2048 --name Llama32_1B --tttv2-path "$ROOT" --out "$G" >/dev/null)
echo "generated_user/src/lib.rs: $(wc -l < "$G/src/lib.rs") lines"

median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }

for profile in dev release; do
  flag=(); [ "$profile" = release ] && flag=(--release)
  for crate in "$M" "$G"; do
    start=$(date +%s.%N)
    cargo build -q "${flag[@]}" --manifest-path "$crate/Cargo.toml"
    first=$(echo "$(date +%s.%N) - $start" | bc)
    times=()
    for _ in $(seq "$RUNS"); do
      touch "$crate/src/lib.rs"
      start=$(date +%s.%N)
      cargo build -q "${flag[@]}" --manifest-path "$crate/Cargo.toml"
      times+=("$(echo "$(date +%s.%N) - $start" | bc)")
    done
    med=$(printf '%s\n' "${times[@]}" | median)
    printf '%-8s %-15s first build %7.2f s; rebuild after touch: median %6.2f s of %s\n' \
      "$profile" "$(basename "$crate")" "$first" "$med" "$(printf '%.2f ' "${times[@]}")"
  done
done
