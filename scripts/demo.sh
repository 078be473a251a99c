#!/usr/bin/env bash
# Set up (if needed) and run the main job: select the code relevant to a query from a Python file
# that ships with the repository, and print it with its token figures.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
export HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false
exec .venv/bin/scaledown select scaledown_core/compressor/client.py \
  -q "How are 429 and 5xx responses retried, and how is Retry-After honoured?" --budget 800 "$@"
