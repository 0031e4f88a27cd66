#!/usr/bin/env python3
"""daily-update benchmark: 365-day demo backfill (bars/s), full features rebuild of that year,
incremental one-day run, and peak memory. Usage: scripts/bench-daily-update.sh"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def run(flow, args, cwd, env):
    t0 = time.perf_counter()
    proc = subprocess.run(["/usr/bin/time", "-f", "%M", flow] + args, cwd=cwd, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        sys.exit(f"flow {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")
    peak = int(proc.stderr.strip().splitlines()[-1]) / 1024
    return wall, peak, proc.stdout


def task(flow, cwd, env, name):
    doc = json.loads(subprocess.run([flow, "status", "daily-update", "--json"], cwd=cwd, env=env, capture_output=True,
                                    text=True, check=True).stdout)
    return next(t for t in doc["tasks"] if t["id"] == name)


def main():
    flow = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, ".build", "release", "flow"))
    work = tempfile.mkdtemp(prefix="flow-bench-du-")
    try:
        shutil.copytree(os.path.join(ROOT, "workflows"), os.path.join(work, "workflows"))
        env = dict(os.environ, NO_COLOR="1", FLOW_NOW="2026-01-28T21:00:00Z")
        env.pop("DATABENTO_API_KEY", None)
        wall, peak, _ = run(flow, ["run", "daily-update", "-p", "start=2025-01-28T21:00:00Z"], work, env)
        backfill = task(flow, work, env, "backfill")
        bars = int(backfill["outputs"]["bars_written"])
        features = task(flow, work, env, "build-features")

        rebuild_yaml = os.path.join(work, "workflows", "rebuild.yaml")
        with open(rebuild_yaml, "w") as f:
            f.write("tasks:\n  rebuild:\n    uses: market.build-features\n    with:\n      db: data/market.db\n"
                    "      symbols: MGC\n      rebuild: \"true\"\n")
        rwall, rpeak, _ = run(flow, ["run", "rebuild"], work, env)
        rdoc = json.loads(subprocess.run([flow, "status", "rebuild", "--json"], cwd=work, env=env, capture_output=True,
                                         text=True, check=True).stdout)
        rtask = rdoc["tasks"][0]

        env_next = dict(env, FLOW_NOW="2026-01-29T21:00:00Z")
        iwall, ipeak, _ = run(flow, ["run", "daily-update"], work, env_next)

        print("| measurement | value |")
        print("|---|---:|")
        print(f"| 365-day demo backfill: bars written | {bars} |")
        print(f"| backfill task time s | {backfill['duration_seconds']:.3f} |")
        print(f"| backfill bars/s | {bars / backfill['duration_seconds']:.0f} |")
        print(f"| first full run wall s (incl. features for {features['outputs'].get('days_written')} days) | {wall:.3f} |")
        print(f"| first full run peak MiB | {peak:.1f} |")
        print(f"| full features rebuild of the year, task s | {rtask['duration_seconds']:.3f} |")
        print(f"| full features rebuild, whole `flow run` wall s / peak MiB | {rwall:.3f} / {rpeak:.1f} |")
        print(f"| incremental one-day run wall s | {iwall:.3f} |")
        print(f"| incremental run peak MiB | {ipeak:.1f} |")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
