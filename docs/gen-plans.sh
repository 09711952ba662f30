#!/usr/bin/env bash
# Regenerates docs/plans.md from the `tttv2 plan` CLI. Run from the repository root:
#   docs/gen-plans.sh > docs/plans.md
set -euo pipefail
cargo build -q --bin tttv2
BIN="${CARGO_TARGET_DIR:-target}/debug/tttv2"
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
