#!/usr/bin/env bash
# Regenerates docs/plans.md from the `tttv2 plan` CLI. Run from the repository root:
#   docs/gen-plans.sh > docs/plans.md
set -euo pipefail
# TTTV2_BIN: an already built `tttv2` (the test that keeps this file current passes its own).
if [ -z "${TTTV2_BIN:-}" ]; then
  cargo build -q --bin tttv2
fi
BIN="${TTTV2_BIN:-${CARGO_TARGET_DIR:-target}/debug/tttv2}"
cat <<'HEAD'
# Chosen configs and estimates: Llama-3.2-1B, 3.1-8B, 3.1-70B on n150 / n300 / t3k

Regenerate with (from the repository root):

```sh
docs/gen-plans.sh > docs/plans.md
```

Every figure is the cost model's estimate (`tttv2-core/src/cost/`), not a measurement: no device
was available. Multi-chip systems (n300 = mesh 1x2, t3k = mesh 1x8) are planned **per chip** with
1D tensor parallelism over all chips (q/kv heads, MLP width and vocabulary split; an all-reduce
after `wo` and `w2` and an all-gather of the logits, costed on one 12.5 GB/s Ethernet link per
hop). Each table shows the ops outside the decoder layers and those of layer 0; the other layers
use the same configs (the planner plans identical layers once). Decode uses batch 32 and a
128-position KV cache (`--seq-len 128`), prefill batch 1 with a 2048-token prompt. Policy
`performance` (bfp8 attention and w2 weights with HiFi2, bfp4 w1/w3 with LoFi, bfp8 KV cache).
The memory budget is each chip's DRAM; combinations that do not fit show the planner's error.

"reaches x % of it" compares the estimate with the time to read the model's weights once at the
chip's peak DRAM bandwidth (288 GB/s on Wormhole). DRAM-sharded matmuls are modelled as streaming
their (bank-padded) weights at the 267 GB/s TT measured with one reader per bank
(`tech_reports/Saturating_DRAM_bandwidth`), plus a 1.7 µs kernel ramp fitted to TT's per-shape
DRAM-sharded read benchmark; every op also pays a 0.8 µs op-to-op gap (traced decode, from TT's
Llama-70B Galaxy decoder perf targets). So the weight matmuls alone cap an 8B decode near 89 % of
that roofline; KV-cache reads and writes, norms and head ops take the rest.

`--json` prints the same plan as JSON: `{model, system, chip, mesh, parallelism, options, ops:
[{name, op, ttnn_op, mode, layer?, weights, shapes: {m?, k?, n?, tensors}, program_config:
{"type": <TT-NN struct>, <fields>} | null, compute_kernel_config | null, memory_configs: {role:
MemoryConfig}, dtypes: {role: DataType}, l1_peak_bytes_per_core, estimate_us, cores, dram_bytes,
weight_bytes}], totals: {...}, notes}`.
HEAD

# Calibration: the estimates beside what TT measured on silicon for the same model, system and
# batch (docs/cost/tt-measured-b32.csv, from tt-transformers' PERF.md at 13adda80).
cat <<'CAL'

## Calibration: estimates against TT's measurements

TT's figures: tt-transformers `PERF.md` at tt-metal 13adda80, lines 149-169 (its only batch-32
table: batch-32 decode tokens/s/user and the average per-user TTFT of 128-token prompts, bfp4
FF1/FF3; `docs/cost/tt-measured.md` §1c). Ours: `tttv2 plan --mode decode --batch 32 --seq-len 128`
and `--mode prefill --batch 1 --seq-len 128`, policy performance. "ratio" is ours / TT's for
decode and TT's / ours for TTFT, so above 1 always means the model is more optimistic than the
silicon. The reuse factory's weight re-reads (every M-block's core reads the whole weight; no
multicast) are modelled (`docs/cost/traffic.md` §4), which retired its prefill choices. Not yet
modelled: re-reads of 2D/1D configs whose output block is smaller than a core's, real CCL latency
and ethernet efficiency, fixed per-op costs per op type, host overhead in TT's figures (issue 22).

| model | system | TT decode t/s/u | ours | ratio | TT TTFT ms | ours | ratio |
|---|---|---|---|---|---|---|---|
CAL
grep -v '^#' "$(dirname "$0")/cost/tt-measured-b32.csv" | while IFS=, read -r model dev tps ttft _line; do
  ours_tps=$("$BIN" plan --config "models/$model/config.json" --device "$dev" --mode decode --batch 32 --seq-len 128 --policy performance 2>&1 \
    | sed -n 's/^totals: .* us per call, \([0-9.]*\) tokens\/s\/user.*/\1/p' || true)
  ours_us=$("$BIN" plan --config "models/$model/config.json" --device "$dev" --mode prefill --batch 1 --seq-len 128 --policy performance 2>&1 \
    | sed -n 's/^totals: [0-9]* ops, \([0-9.]*\) us per call.*/\1/p' || true)
  awk -v m="$model" -v d="$dev" -v tps="$tps" -v o="${ours_tps:-0}" -v ttft="$ttft" -v us="${ours_us:-0}" 'BEGIN {
    r1 = (o > 0) ? sprintf("%.2f", o / tps) : "-"; oo = (o > 0) ? o : "plan fails";
    ms = us / 1000; r2 = (us > 0) ? sprintf("%.2f", ttft / ms) : "-"; om = (us > 0) ? sprintf("%.1f", ms) : "plan fails";
    printf "| %s | %s | %s | %s | %s | %s | %s | %s |\n", m, d, tps, oo, r1, ttft, om, r2 }'
done

for model in Llama-3.2-1B Llama-3.1-8B Llama-3.1-70B; do
  echo
  echo "## $model"
  for dev in n150 n300 t3k; do
    for mode in "decode --batch 32 --seq-len 128" "prefill --batch 1 --seq-len 2048"; do
      echo
      echo "### $model, $dev, ${mode%% *}"
      echo
      echo '```text'
      echo "\$ tttv2 plan --config models/$model/config.json --device $dev --mode $mode --policy performance --layers 1"
      "$BIN" plan --config "models/$model/config.json" --device "$dev" --mode $mode --policy performance --layers 1 2>&1 || true
      echo '```'
    done
  done
done
