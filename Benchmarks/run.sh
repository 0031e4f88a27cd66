#!/usr/bin/env bash
# The one benchmark entry point: builds flow (release) and the spawn baseline, then compares flow with
# ninja -j2 and GNU make -j2 on the same workloads and measures validate+plan and the daily-update data path.
# Prints markdown tables (docs/PERFORMANCE.md holds the last full run). Arguments go to bench.py:
#   --repeat N (default 5)   --only engine,plan,daily-update   --workloads layers-10x50-p2,...
set -euo pipefail
cd "$(dirname "$0")/.."
for tool in ninja make cc; do
    command -v "$tool" >/dev/null || { echo "missing $tool: apt-get install -y ninja-build make gcc" >&2; exit 1; }
done
# Static Swift runtime and Foundation: saves ~15 ms of dynamic loading per start (docs/PERFORMANCE.md).
swift build -c release --static-swift-stdlib --product flow >&2
mkdir -p .build/bench
cc -O2 -o .build/bench/spawn_baseline Benchmarks/spawn_baseline.c
cc -O2 -o .build/bench/durability_floor Benchmarks/durability_floor.c -lsqlite3
cc -O2 -o .build/bench/durable_floor_runner Benchmarks/durable_floor_runner.c -lsqlite3
echo "flow $(git rev-parse --short HEAD 2>/dev/null || echo '?'), $(ninja --version | sed 's/^/ninja /'), $(make --version | head -1), $(nproc) cores, $(date -u +%Y-%m-%dT%H:%MZ)"
echo
exec python3 Benchmarks/bench.py --flow .build/release/flow --baseline .build/bench/spawn_baseline --floor .build/bench/durability_floor \
    --floor-runner .build/bench/durable_floor_runner "$@"
