#!/usr/bin/env bash
# `flow validate` and `flow plan` of a workflow whose matrix task has 1,000 instances (10 x 10 x 10), between
# an upstream task and a downstream one that reads every instance's outputs (release build, static runtime).
# Wall time including start-up, medians of 9. Usage: Benchmarks/matrix.sh [FLOW]
set -euo pipefail
cd "$(dirname "$0")/.."
. Benchmarks/release-flow.sh
python3 - "$flow" <<'PY'
import os, statistics, subprocess, sys, tempfile, time
flow = sys.argv[1]
values = lambda p: "[" + ", ".join(f"{p}{i}" for i in range(10)) + "]"
text = f"""tasks:
  prep:
    run: echo "x=1" >> "$FLOW_OUTPUT"
  work:
    needs: [prep]
    matrix:
      a: {values("a")}
      b: {values("b")}
      c: {values("c")}
    env: {{ A: "${{{{ matrix.a }}}}", X: "${{{{ tasks.prep.outputs.x }}}}" }}
    run: echo "$A"
  after:
    needs: [work]
    env: {{ ALL: "${{{{ tasks.work.outputs }}}}" }}
    run: echo done
"""
with tempfile.TemporaryDirectory() as d:
    os.makedirs(d + "/workflows")
    open(d + "/workflows/big.yaml", "w").write(text)
    print("| command | tasks | median ms | fastest ms |")
    print("|---|---:|---:|---:|")
    for command in (["validate", "big"], ["plan", "big"], ["plan", "big", "--json"]):
        times = []
        for _ in range(9):
            t = time.perf_counter()
            r = subprocess.run([flow] + command, cwd=d, capture_output=True, text=True)
            times.append(time.perf_counter() - t)
            assert r.returncode == 0, r.stdout + r.stderr
        tasks = 1002
        print(f"| flow {' '.join(command)} | {tasks} | {statistics.median(times)*1000:.1f} | {min(times)*1000:.1f} |")
PY
