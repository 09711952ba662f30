#!/usr/bin/env bash
# usage: corpus.sh run [OUT.json]   the refusal corpus through TT-NN on the mock N150
#        corpus.sh compare HOST.json TTNN.json
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export VENV=${VENV:-/tmp/ttnn-replay-venv} MOCK_DIR=${MOCK_DIR:-/tmp/ttnn-replay-mock} MOCK_DESC=${MOCK_DESC:-wormhole_N150}
export TT_LOGGER_LEVEL=${TT_LOGGER_LEVEL:-fatal} LOGURU_LEVEL=${LOGURU_LEVEL:-ERROR}
TTNN_MOCK=${TTNN_MOCK:-$(cd "$HERE/../../../.." && pwd)/shared/tools/ttnn-mock}
if [ "$1" = run ]; then exec "$TTNN_MOCK/run.sh" fake python "$HERE/corpus.py" "$@"; fi
exec python3 "$HERE/corpus.py" "$@"
