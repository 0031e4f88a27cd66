#!/usr/bin/env bash
# Builds flow in release mode and measures the daily-update data path; prints a markdown table.
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --product flow >&2
exec python3 scripts/bench_daily_update.py .build/release/flow
