#!/usr/bin/env bash
# Profiles flow's own CPU time per task with perf on the 1,000-independent-task workload (-j2) and prints
# where it goes (docs/PERFORMANCE.md shows the last result). Needs perf (apt-get install linux-perf).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v perf >/dev/null || { echo "perf is not installed: apt-get install -y linux-perf" >&2; exit 1; }
swift build -c release --static-swift-stdlib --product flow >&2
flow="$PWD/.build/release/flow"
work=$(mktemp -d /tmp/flow-profile-XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/workflows"
{
    echo "name: independent"
    echo "max_parallel: 2"
    echo "tasks:"
    for i in $(seq 0 999); do printf '  t%d:\n    run: "true"\n' "$i"; done
} > "$work/workflows/independent.yaml"
cd "$work"
"$flow" run independent >/dev/null   # warm the page cache and create the state database
perf record -q -g -o perf.data "$flow" run independent --fresh >/dev/null 2>&1
perf script -i perf.data -F comm,period,ip,sym 2>/dev/null | python3 "$OLDPWD/Benchmarks/profile_categories.py" 1000
