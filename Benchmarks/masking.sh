#!/usr/bin/env bash
# A task printing 200 MB of log lines (cat of a file in the page cache), through `flow run` (release build, static runtime): without secrets
# (output straight to the log file), with a secret declared but unset (the same path), and with a secret set
# (output through a pipe and the masker), once with the secret printed every 1,000 lines. Also the same
# command writing to a file without flow. Medians of 11 interleaved rounds, wall time; MB/s of task output.
# Usage: Benchmarks/masking.sh [FLOW]
set -euo pipefail
cd "$(dirname "$0")/.."
. Benchmarks/release-flow.sh
python3 - "$flow" <<'PY'
import os, statistics, subprocess, sys, tempfile, time
flow = sys.argv[1]
size = 200_000_000
secret = "db-Xq93kLm2Pz81vBn4"
line = b"2026-12-02T04:00:00Z fetched MGC 1m bars 0123456789 rows=1440 bytes=98304 ok\n"   # 80 bytes
work = tempfile.mkdtemp()
plain, leaky = work + "/plain.txt", work + "/leaky.txt"
block = line * 1000
open(plain, "wb").write(block * (size // len(block)))
leaky_block = line * 999 + (b"key " + secret.encode() + b" " + b"." * 80)[: len(line) - 1] + b"\n"
open(leaky, "wb").write(leaky_block * (size // len(leaky_block)))
task = "secrets: [TOKEN]\ntasks:\n  print:\n    env: { T: \"${{ secrets.TOKEN }}\" }\n    run: cat "
cases = [
    ("no secrets", "tasks:\n  print:\n    run: cat " + plain + "\n", {}),
    ("secret declared, unset", task + plain + "\n", {}),
    ("secret set, never printed", task + plain + "\n", {"TOKEN": secret}),
    ("secret set, printed every 1,000 lines", task + leaky + "\n", {"TOKEN": secret}),
]
script = "cat " + plain
import shutil
print("| case | median s | MB/s | log bytes | max RSS MiB |")
print("|---|---:|---:|---:|---:|")
rounds = 11
# Interleaved rounds, each log deleted after it is checked: 200 MB files left behind would make the kernel's
# writeback of one case slow down the next.
with tempfile.TemporaryDirectory() as d:
    projects = []
    for name, text, env in cases:
        project = tempfile.mkdtemp(dir=d)
        os.makedirs(project + "/workflows")
        open(project + "/workflows/w.yaml", "w").write(text)
        projects.append(project)
    times = {name: [] for name, _, _ in cases}
    times["alone"] = []
    rss = {name: 0 for name, _, _ in cases}
    sizes = {}
    for _ in range(rounds):
        t = time.perf_counter()
        subprocess.run(["sh", "-c", script + " > " + d + "/plain.log"], check=True)
        times["alone"].append(time.perf_counter() - t)
        sizes["alone"] = os.path.getsize(d + "/plain.log")
        os.remove(d + "/plain.log")
        for (name, text, env), project in zip(cases, projects):
            t = time.perf_counter()
            r = subprocess.run(["/usr/bin/time", "-f", "%M", flow, "run", "w", "--fresh", "--plain"], cwd=project,
                               env={**os.environ, **env}, capture_output=True, text=True)
            times[name].append(time.perf_counter() - t)
            assert r.returncode == 0, r.stdout + r.stderr
            rss[name] = max(rss[name], int(r.stderr.strip().splitlines()[-1]) // 1024)
            logs = project + "/.flow/logs"
            run = sorted(os.listdir(logs), key=int)[-1]
            body = open(logs + "/" + run + "/print.1.log", "rb").read()
            if env:
                assert env["TOKEN"].encode() not in body, name
            sizes[name] = len(body)
            shutil.rmtree(logs)
    m = statistics.median(times["alone"])
    shutil.rmtree(work)
    print(f"| the command alone, to a file | {m:.2f} | {size / m / 1e6:.0f} | {sizes['alone']} | – |")
    for name, _, _ in cases:
        m = statistics.median(times[name])
        print(f"| {name} | {m:.2f} | {size / m / 1e6:.0f} | {sizes[name]} | {rss[name]} |")
PY
