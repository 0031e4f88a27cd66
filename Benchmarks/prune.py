#!/usr/bin/env python3
"""`flow prune` of 10,000 runs (each with 2 task states, 2 attempts and a log folder).

Usage: Benchmarks/prune.py [FLOW_BINARY]   (default .build/release/flow)
"""
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time

flow = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else ".build/release/flow")
work = tempfile.mkdtemp(prefix="flow-prune-bench-")
os.makedirs(f"{work}/workflows")
with open(f"{work}/workflows/many.yaml", "w") as f:
    f.write('tasks:\n  a:\n    run: echo a\n  b:\n    needs: [a]\n    run: echo b\n')
env = dict(os.environ, NO_COLOR="1")
subprocess.run([flow, "run", "many"], cwd=work, env=env, check=True, capture_output=True)
db = sqlite3.connect(f"{work}/.flow/state.db")


def copy(table, key, new):
    columns = [row[1] for row in db.execute(f"PRAGMA table_info({table})")]
    for row in db.execute(f"SELECT * FROM {table} WHERE {key} = 1").fetchall():
        values = list(row)
        values[columns.index(key)] = new
        if table == "attempts":
            values[columns.index("id")] = None
        db.execute(f"INSERT INTO {table}({','.join(columns)}) VALUES ({','.join('?' * len(columns))})", values)


for n in range(2, 10_002):
    copy("runs", "id", n)
    copy("task_states", "run_id", n)
    copy("attempts", "run_id", n)
    shutil.copytree(f"{work}/.flow/logs/1", f"{work}/.flow/logs/{n}")
db.commit()
db.close()
started = time.perf_counter()
result = subprocess.run([flow, "prune", "many", "--keep-runs", "1"], cwd=work, env=env, capture_output=True, text=True)
elapsed = time.perf_counter() - started
print(result.stdout.strip().splitlines()[-1])
print(f"flow prune of 10,000 runs: {elapsed:.2f} s ({elapsed / 10_000 * 1000:.2f} ms a run)")
shutil.rmtree(work)
