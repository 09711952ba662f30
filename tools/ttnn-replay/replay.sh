#!/usr/bin/env bash
# usage: replay.sh MANIFEST.json [replay.py options]
# Runs replay.py against TT-NN's mock device in the shared tool's `fake` mode (empty stand-in
# kernels, so programs are created and their circular buffers measured). Picks the mock
# descriptor from the manifest's device (Wormhole N150 / Blackhole P150) unless MOCK_DESC is set.
# env: VENV (/tmp/ttnn-replay-venv)  MOCK_DIR (/tmp/ttnn-replay-mock)  TTNN_MOCK (the shared
#      ttnn-mock tool dir, default ../../../shared/tools/ttnn-mock from the repo root)
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export VENV=${VENV:-/tmp/ttnn-replay-venv}
export MOCK_DIR=${MOCK_DIR:-/tmp/ttnn-replay-mock}
TTNN_MOCK=${TTNN_MOCK:-$(cd "$HERE/../../.." && pwd)/shared/tools/ttnn-mock}
[ -x "$VENV/bin/python" ] || { echo "no venv at $VENV: run $HERE/install.sh" >&2; exit 2; }
MANIFEST=${1:?usage: replay.sh MANIFEST.json [options]}
if [ -z "${MOCK_DESC:-}" ]; then
  dev=$("$VENV/bin/python" -c 'import json,sys; m=json.load(open(sys.argv[1])); c=m.get("chip"); print((c.get("name") if isinstance(c,dict) else c) or "")' "$MANIFEST" 2>/dev/null || true)
  case "$dev" in
    p150|p150a|*blackhole*) MOCK_DESC=blackhole_P150a ;;   # tttv2 p150 = unharvested p150a (install.sh)
    p100) MOCK_DESC=blackhole_P150 ;;
    *) MOCK_DESC=wormhole_N150 ;;
  esac
fi
export MOCK_DESC
# quiet: TT-NN logs every TT_FATAL at "critical" and much at "info"; the report carries the texts
export TT_LOGGER_LEVEL=${TT_LOGGER_LEVEL:-fatal} LOGURU_LEVEL=${LOGURU_LEVEL:-ERROR}
exec "$TTNN_MOCK/run.sh" fake python "$HERE/replay.py" "$@"
