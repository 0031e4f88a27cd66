#!/usr/bin/env bash
# A task printing 200 MB of log lines, through `flow run` (release build, static runtime): without secrets
# (output straight to the log file), with a secret declared but unset (the same path), and with a secret set
# (output through a pipe and the masker), once with the secret printed every 1,000 lines. Also the same
# command writing to a file without flow. Medians of 5 runs, wall time; MB/s of task output.
# Usage: Benchmarks/masking.sh [FLOW]
set -euo pipefail
cd "$(dirname "$0")/.."
if [ $# -ge 1 ]; then flow=$(realpath "$1"); else
    swift build -c release --static-swift-stdlib --product flow >&2
    flow="$PWD/.build/release/flow"
fi
python3 - "$flow" <<'PY'
import os, statistics, subprocess, sys, tempfile, time
flow = sys.argv[1]
size = 200_000_000
line = "2026-12-02T04:00:00Z fetched MGC 1m bars 0123456789 rows=1440 bytes=98304 ok\n"   # 80 bytes
script = f"yes '{line.rstrip()}' | head -c {size}"
leaky = f"yes '{line.rstrip()}' | awk -v s=\"$T\" 'NR % 1000 == 0 {{ print \"key \" s; next }} {{ print }}' | head -c {size}"
cases = [
    ("no secrets", "tasks:\n  print:\n    run: " + script + "\n", {}),
    ("secret declared, unset", "secrets: [TOKEN]\ntasks:\n  print:\n    env: { T: \"${{ secrets.TOKEN }}\" }\n    run: " + script + "\n", {}),
    ("secret set, never printed", "secrets: [TOKEN]\ntasks:\n  print:\n    env: { T: \"${{ secrets.TOKEN }}\" }\n    run: " + script + "\n",
     {"TOKEN": "db-Xq93kLm2Pz81vBn4"}),
    ("secret set, printed every 1,000 lines", "secrets: [TOKEN]\ntasks:\n  print:\n    env: { T: \"${{ secrets.TOKEN }}\" }\n    run: |\n      " + leaky + "\n",
     {"TOKEN": "db-Xq93kLm2Pz81vBn4"}),
]
print("| case | median s | MB/s | log bytes | max RSS MiB |")
print("|---|---:|---:|---:|---:|")
with tempfile.TemporaryDirectory() as d:
    times = []
    for _ in range(5):
        t = time.perf_counter()
        subprocess.run(["sh", "-c", script + " > " + d + "/plain.log"], check=True)
        times.append(time.perf_counter() - t)
    m = statistics.median(times)
    print(f"| the command alone, to a file | {m:.2f} | {size / m / 1e6:.0f} | {os.path.getsize(d + '/plain.log')} | – |")
    for name, text, env in cases:
        project = tempfile.mkdtemp(dir=d)
        os.makedirs(project + "/workflows")
        open(project + "/workflows/w.yaml", "w").write(text)
        times, rss = [], 0
        for _ in range(5):
            t = time.perf_counter()
            r = subprocess.run(["/usr/bin/time", "-f", "%M", flow, "run", "w", "--fresh", "--plain"], cwd=project,
                               env={**os.environ, **env}, capture_output=True, text=True)
            times.append(time.perf_counter() - t)
            assert r.returncode == 0, r.stdout + r.stderr
            rss = max(rss, int(r.stderr.strip().splitlines()[-1]) // 1024)
        logs = sorted(os.listdir(project + "/.flow/logs"), key=int)
        log = project + "/.flow/logs/" + logs[-1] + "/print.1.log"
        body = open(log, "rb").read()
        if env:
            assert env["TOKEN"].encode() not in body, name
        m = statistics.median(times)
        print(f"| {name} | {m:.2f} | {size / m / 1e6:.0f} | {len(body)} | {rss} |")
PY
