#!/usr/bin/env bash
# The fault suite at full length (docs/RELIABILITY.md). CI runs the short forms inside `swift test`.
#   scripts/faults.sh            # everything below
#   KILLS=200 scripts/faults.sh  # number of random kill -9 rounds (default 200)
set -euo pipefail
cd "$(dirname "$0")/.."
KILLS=${KILLS:-200}

echo "== build (release binary for timing, debug for tests)" >&2
swift build -c release --product flow >&2
swift build --build-tests >&2

echo "== hostile corpus through the release binary: exit 65, file:line:col, < 100 ms, < 50 MB each"
corpus=$(mktemp -d)
trap 'rm -rf "$corpus"' EXIT
mkdir -p "$corpus/workflows"
FLOW_WRITE_CORPUS="$corpus/workflows" swift test --filter HostileInput >/dev/null
python3 - "$corpus" .build/release/flow <<'PY'
import os, re, subprocess, sys, time
root, flow = sys.argv[1], os.path.abspath(sys.argv[2])
files = sorted(os.listdir(os.path.join(root, "workflows")))
worst_t, worst_m, bad = 0.0, 0, []
for f in files:
    t0 = time.perf_counter()
    p = subprocess.run(["/usr/bin/time", "-f", "%M", flow, "validate", f[:-5]], cwd=root, capture_output=True, text=True)
    t = time.perf_counter() - t0
    mem = int(p.stderr.strip().splitlines()[-1]) // 1024
    worst_t, worst_m = max(worst_t, t), max(worst_m, mem)
    diag = re.search(r"^workflows/.+\.yaml:\d+:\d+: error: ", p.stderr, re.M)
    if p.returncode not in (0, 65) or (p.returncode == 65 and not diag) or t > 0.1 or mem > 50:
        bad.append((f, p.returncode, round(t, 3), mem))
rejected = sum(1 for f in files)
print(f"files: {len(files)}  worst time: {worst_t*1000:.0f} ms  worst peak: {worst_m} MB  failures: {len(bad)}")
for b in bad[:20]:
    print("  FAIL", b)
sys.exit(1 if bad else 0)
PY

echo "== random kill -9 of daily-update, $KILLS rounds"
FLOW_FAULT_KILLS=$KILLS swift test --filter randomKills

echo "== the rest of the fault tests (concurrency, signals, vendor faults, secrets, corruption)"
swift test --filter "FaultEndToEnd|DailyUpdateEndToEnd|DatabentoTests|RunEndToEnd"
echo "fault suite passed"
