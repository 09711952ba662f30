#!/usr/bin/env bash
# Installs what replay.sh needs: the `ttnn` 0.81.1 wheel in a venv with TT-NN's mock device
# prepared by the shared tool (../shared/tools/ttnn-mock/setup.sh: wheel, cluster descriptors, SFPI
# stand-in, RISC-V binutils), plus one descriptor of our own: blackhole_P150a.yaml, the shared
# P150 descriptor with no harvested Tensix columns. The shared one is tt-umd's example board
# (harvest_mask 192: 2 columns off, compute grid 11x10); tttv2's `p150` profile is the unharvested
# p150a (13x10, `tttv2-core/src/device/profile.rs`), which this descriptor opens as 13x10.
# env: VENV (/tmp/ttnn-replay-venv)  MOCK_DIR (/tmp/ttnn-replay-mock)  TTNN_MOCK (shared tool dir)
# Needs PyPI and Debian package access. About 1-2 min on a warm pip cache, plus the wheel download.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export VENV=${VENV:-/tmp/ttnn-replay-venv}
export MOCK_DIR=${MOCK_DIR:-/tmp/ttnn-replay-mock}
TTNN_MOCK=${TTNN_MOCK:-$(cd "$HERE/../../.." && pwd)/shared/tools/ttnn-mock}
[ -x "$TTNN_MOCK/setup.sh" ] || { echo "the shared ttnn-mock tool is not at $TTNN_MOCK: set TTNN_MOCK" >&2; exit 2; }
# The wheel is cp310. setup.sh asks `pyenv root`, which a fresh non-login root shell may not have on
# PATH: look in pyenv's default root too.
if [ -z "${PYTHON:-}" ]; then
  PYTHON=$(ls -d "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.10*/bin/python3.10 2>/dev/null | tail -1 || true)
  [ -n "$PYTHON" ] || PYTHON=$(command -v python3.10 || true)
  [ -n "$PYTHON" ] || { echo "no Python 3.10 (pyenv or PATH): set PYTHON" >&2; exit 2; }
  export PYTHON
fi
"$TTNN_MOCK/setup.sh"
sed 's/^\(    harvest_mask:\) 192$/\1 0/' "$MOCK_DIR/cluster_descs/blackhole_P150.yaml" > "$MOCK_DIR/cluster_descs/blackhole_P150a.yaml"
grep -q 'harvest_mask: 0' "$MOCK_DIR/cluster_descs/blackhole_P150a.yaml" || { echo "could not derive blackhole_P150a.yaml" >&2; exit 1; }
MOCK_DESC=blackhole_P150a "$TTNN_MOCK/run.sh" fail python -c '
import ttnn
d = ttnn.open_device(device_id=0)
g = d.compute_with_storage_grid_size()
print("P150a mock opened:", d.arch(), f"{g.x}x{g.y}")
assert (g.x, g.y) == (13, 10), "expected a 13x10 compute grid"
ttnn.close_device(d)' 2>&1 | grep -E 'P150a mock|Error|error'
echo "install OK"
