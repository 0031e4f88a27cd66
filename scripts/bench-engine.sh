#!/usr/bin/env bash
# Builds flow in release mode and runs the engine benchmark; prints a markdown table.
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --product flow >&2
exec python3 scripts/bench_engine.py --flow .build/release/flow "$@"
