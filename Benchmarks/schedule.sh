#!/usr/bin/env bash
# How long `flow schedule next --count 1000` takes (release build, static runtime), for a few schedules: the
# minutely case renders 1,000 ticks and resolves 1,000 wall-clock minutes in a DST zone; the yearly one walks
# 1,000 years of calendar. Medians of 9 runs, wall time including start-up. Usage: Benchmarks/schedule.sh [FLOW]
set -euo pipefail
cd "$(dirname "$0")/.."
. Benchmarks/release-flow.sh
python3 - "$flow" <<'PY'
import statistics, subprocess, sys, time
flow = sys.argv[1]
cases = [
    ("* * * * *", "Europe/London"), ("30 * * * *", "America/New_York"), ("30 2 * * *", "America/New_York"),
    ("30 20 * * 1-5", "Australia/Brisbane"), ("0 0 29 2 *", "UTC"), ("*/13 3 * * *", "Pacific/Chatham"),
]
print("| schedule | zone | ticks | median ms | fastest ms |")
print("|---|---|---:|---:|---:|")
for expr, zone in cases:
    times = []
    for _ in range(9):
        t = time.perf_counter()
        r = subprocess.run([flow, "schedule", "next", "--cron", expr, "--timezone", zone, "--count", "1000",
                            "--from", "2026-01-01T00:00:00Z"], capture_output=True, text=True)
        times.append(time.perf_counter() - t)
        assert r.returncode == 0, r.stderr
    ticks = len(r.stdout.splitlines()) - 1
    print(f"| `{expr}` | {zone} | {ticks} | {statistics.median(times)*1000:.1f} | {min(times)*1000:.1f} |")
PY

# A pass over 100 scheduled workflows with nothing due (the OS timer's common case): the first pass starts their
# watermarks; the ones measured find nothing to run.
python3 - "$flow" <<'PY'
import os, statistics, subprocess, sys, tempfile, time
flow = sys.argv[1]
d = tempfile.mkdtemp(prefix="flow-ticks-")
os.makedirs(f"{d}/workflows")
for i in range(100):
    with open(f"{d}/workflows/w{i:03d}.yaml", "w") as f:
        f.write(f'schedule:\n  cron: "{i % 60} 3 * * *"\n  timezone: Europe/London\ntasks:\n  a:\n    run: "true"\n')
env = dict(os.environ, FLOW_NOW="2026-01-01T12:00:00Z")
subprocess.run([flow, "schedule", "tick"], cwd=d, env=env, check=True, capture_output=True)
times = []
for _ in range(9):
    t = time.perf_counter()
    subprocess.run([flow, "schedule", "tick"], cwd=d, env=env, check=True, capture_output=True)
    times.append(time.perf_counter() - t)
print()
print(f"`flow schedule tick` over 100 scheduled workflows, nothing due: median {statistics.median(times)*1000:.1f} ms, "
      f"fastest {min(times)*1000:.1f} ms")
PY
