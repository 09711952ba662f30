#!/usr/bin/env bash
# Plans the model set of issue 13 with `tttv2 plan --json` and replays every plan through TT-NN on
# its mock device (replay.sh). Exits non-zero when TT-NN rejects any op of any plan or when TT-NN's
# L1 per core exceeds the plan's estimate for any op (L1_WARN=1: report L1 excess without failing).
#
# usage: tools/ttnn-replay/run-all.sh [OUT_DIR]     (run install.sh once before)
# env: MODELS ("Llama-3.2-1B Llama-3.2-3B Llama-3.1-8B small-llama tests/models/tiny-accuracy
#      tests/models/tiny-qwen2 models/corpus/Qwen2.5-0.5B tests/models/SmolLM2-135M-Instruct": a name
#      under models/, or a directory relative to the repository)  DEVICES ("n150 p150")
#      POLICIES ("performance accuracy": `tttv2 plan --policy`; accuracy plans are tagged `-acc`)
#      CARGO_TARGET_DIR  TTTV2 (a prebuilt tttv2 binary; else `cargo build --bin tttv2`)
#      L1_WARN=1         TT-NN L1 above the plan's estimate is reported, not a failure
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
OUT=${1:-${TMPDIR:-/tmp}/ttnn-replay-out}
# The issue's model set, plus the configs the tests and examples declare models from (tiny-qwen2:
# the fused q/k/v bias on every matmul family the planner gives it), and Qwen2.5-0.5B: a real
# Qwen2 (bias, 14 q / 2 kv heads, hidden 896 = 28 tiles, which pads DRAM-sharded widths), and the
# real checkpoint the tests run (SmolLM2-135M-Instruct: 9 q / 3 kv heads, hidden 576 = 18 tiles).
MODELS=${MODELS:-"Llama-3.2-1B Llama-3.2-3B Llama-3.1-8B small-llama tests/models/tiny-accuracy tests/models/tiny-qwen2 models/corpus/Qwen2.5-0.5B tests/models/SmolLM2-135M-Instruct"}
DEVICES=${DEVICES:-"n150 p150"}
# accuracy: bf16 weights, fp32 dest accumulation, HiFi3/4 and a float32 LM-head output, which
# change the CBs of the matmuls and SDPA (FINDINGS.md, "Accuracy policy").
POLICIES=${POLICIES:-"performance accuracy"}
mkdir -p "$OUT"
if [ -z "${TTTV2:-}" ]; then
  (cd "$ROOT" && cargo build -q --bin tttv2) || exit 2
  TTTV2=${CARGO_TARGET_DIR:-$ROOT/target}/debug/tttv2
fi
L1FLAG=
[ "${L1_WARN:-0}" = 1 ] && L1FLAG=--l1-warn
# decode batch 1 and 32 with a 128-position cache (`tttv2 plan`'s default is now the model's
# context, up to 2048), prefill 128 and 2048 with batch 1, and prefill batch 32
# x 128 (`tttv2 plan` allows it; on n150 its matmuls use MatmulMultiCoreReuseProgramConfig)
MODES=("decode --batch 1 --seq-len 128" "decode --batch 32 --seq-len 128" "prefill --batch 1 --seq-len 128" "prefill --batch 1 --seq-len 2048")
fail=0; t0=$(date +%s)
printf '%-44s %6s %6s %9s %6s %s\n' plan ops reject "L1>plan" secs result > "$OUT/summary.txt"
for model in $MODELS; do
  case "$model" in
    */*) cfg="$ROOT/$model/config.json" ;;
    *) cfg="$ROOT/models/$model/config.json" ;;
  esac
  [ -f "$cfg" ] || { echo "skip $model: no $cfg"; continue; }
  for policy in $POLICIES; do
  suffix=; [ "$policy" = performance ] || suffix=-${policy:0:3}
  for dev in $DEVICES; do
    modes=("${MODES[@]}" "prefill --batch 32 --seq-len 128")
    for mode in "${modes[@]}"; do
      tag="$(basename "$model")-$dev-$(echo "$mode" | sed 's/--batch /b/;s/ --seq-len /-s/;s/ /-/g')$suffix"
      if ! "$TTTV2" plan --config "$cfg" --device "$dev" --mode $mode --policy "$policy" --json > "$OUT/$tag.plan.json" 2> "$OUT/$tag.plan.err"; then
        # A prompt longer than the model's context is not a plan to check.
        if grep -q "exceeds the model's max_position_embeddings" "$OUT/$tag.plan.err"; then
          echo "skip $tag: $(head -1 "$OUT/$tag.plan.err")"; continue
        fi
        echo "PLAN FAILED $tag: $(head -1 "$OUT/$tag.plan.err")"; fail=1; continue
      fi
      s=$(date +%s)
      "$HERE/replay.sh" "$OUT/$tag.plan.json" --quiet $L1FLAG --json-out "$OUT/$tag.replay.json" > "$OUT/$tag.replay.txt" 2>&1
      rc=$?
      secs=$(( $(date +%s) - s ))
      line=$(grep '^## ' "$OUT/$tag.replay.txt" | head -1)
      ops=$(echo "$line" | sed -n 's/.*: \([0-9]*\) ops replayed.*/\1/p')
      rej=$(echo "$line" | sed -n 's/.*; \([0-9]*\) rejected.*/\1/p')
      over=$(echo "$line" | sed -n 's/.*rejected; \([0-9]*\) with.*/\1/p')
      res=ok; [ $rc -ne 0 ] && { res="FAIL(rc=$rc)"; fail=1; }
      printf '%-44s %6s %6s %9s %6s %s\n' "$tag" "${ops:-?}" "${rej:-?}" "${over:-?}" "$secs" "$res" | tee -a "$OUT/summary.txt"
    done
  done
  done
done
echo "total $(( $(date +%s) - t0 )) s; per-plan reports in $OUT/*.replay.txt" | tee -a "$OUT/summary.txt"
exit $fail
