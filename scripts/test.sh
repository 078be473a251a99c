#!/usr/bin/env bash
# Set up (if needed) and run the whole test suite offline.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false
# the benchmark quick mode (tests/bench) runs where the data folder sits beside the checkout
if [ -z "${BENCH_DATA:-}" ] && [ -d ../shared/bench-data ]; then export BENCH_DATA="$PWD/../shared/bench-data"; fi
exec .venv/bin/python -m pytest "$@"
