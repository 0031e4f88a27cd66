#!/usr/bin/env python3
"""flow serve under load (release binaries): the run page of a 10,000-task run, the runs page and its JSON of
a workflow with 10,000 runs, and a live log followed while its task writes 10,000 lines a second.

Usage: Benchmarks/web.py [BUILD_DIR]   (default .build/release; needs flow and flow-serve built there)
Prints a Markdown table of medians over 9 requests, then the live-log numbers.
"""
import http.client
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time

build = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else ".build/release")
flow = os.path.join(build, "flow")
work = tempfile.mkdtemp(prefix="flow-web-bench-")
os.makedirs(f"{work}/workflows")
env = dict(os.environ, NO_COLOR="1")


def run(*args, check=True):
    return subprocess.run([flow, *args], cwd=work, env=env, capture_output=True, text=True, check=check)


# A 10,000-task run: a wide graph of 100 layers of 100 tasks.
with open(f"{work}/workflows/big.yaml", "w") as f:
    f.write("max_parallel: 64\ntasks:\n")
    for layer in range(100):
        for i in range(100):
            f.write(f"  t{layer}-{i}:\n")
            if layer:
                f.write(f"    needs: [t{layer - 1}-{i}]\n")
            f.write('    run: "true"\n')
start = time.time()
run("run", "big")
print(f"(made a 10,000-task run in {time.time() - start:.0f} s)", file=sys.stderr)

# A workflow with 10,000 runs: one real run, copied in the state database.
with open(f"{work}/workflows/many.yaml", "w") as f:
    f.write('tasks:\n  a:\n    run: "true"\n  b:\n    needs: [a]\n    run: "false"\n')
run("run", "many", check=False)
db = sqlite3.connect(f"{work}/.flow/state.db")
columns = [row[1] for row in db.execute("PRAGMA table_info(runs)")]
template = db.execute("SELECT * FROM runs WHERE workflow = 'many'").fetchone()
task_columns = [row[1] for row in db.execute("PRAGMA table_info(task_states)")]
tasks = db.execute("SELECT * FROM task_states WHERE run_id = ?", (template[columns.index("id")],)).fetchall()
top = db.execute("SELECT MAX(id) FROM runs").fetchone()[0]
for n in range(1, 10_000):
    values = list(template)
    values[columns.index("id")] = top + n
    db.execute(f"INSERT INTO runs({','.join(columns)}) VALUES ({','.join('?' * len(columns))})", values)
    for task in tasks:
        row = list(task)
        row[task_columns.index("run_id")] = top + n
        db.execute(f"INSERT INTO task_states({','.join(task_columns)}) VALUES ({','.join('?' * len(task_columns))})", row)
db.commit()
big_run = db.execute("SELECT id FROM runs WHERE workflow = 'big'").fetchone()[0]
db.close()

server = subprocess.Popen([flow, "serve", "--listen", "127.0.0.1:0", "--read-only"], cwd=work, env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
port = None
while port is None:
    line = server.stdout.readline()
    if "http://127.0.0.1:" in line:
        port = int(line.split("127.0.0.1:")[1].split("/")[0])


def get(path):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    started = time.perf_counter()
    connection.request("GET", path)
    response = connection.getresponse()
    body = response.read()
    elapsed = time.perf_counter() - started
    assert response.status == 200, (path, response.status)
    return elapsed, len(body)


print("| page | bytes | median ms | fastest ms |")
print("|---|---:|---:|---:|")
for path in [f"/runs/{big_run}", f"/api/runs/{big_run}", "/workflows/many", "/api/workflows/many/runs",
             f"/workflows/many?before={top + 5000}", "/"]:
    get(path)
    times, size = [], 0
    for _ in range(9):
        elapsed, size = get(path)
        times.append(elapsed)
    print(f"| `{path}` | {size:,} | {statistics.median(times) * 1000:.1f} | {min(times) * 1000:.1f} |")

# The live log: 10,000 lines a second for 10 seconds, followed over server-sent events.
with open(f"{work}/workflows/chatty.yaml", "w") as f:
    f.write("tasks:\n  chatty:\n    run: |\n      python3 - <<'PY'\n      import sys, time\n"
            "      start = time.time()\n      for i in range(100000):\n"
            "          sys.stdout.write(f'line {i:06d} ' + 'x' * 40 + '\\n')\n"
            "          if i % 1000 == 999:\n              sys.stdout.flush()\n"
            "              time.sleep(max(0, start + (i + 1) / 10000 - time.time()))\n      PY\n")
writer = subprocess.Popen([flow, "run", "chatty"], cwd=work, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
while True:
    db = sqlite3.connect(f"{work}/.flow/state.db")
    row = db.execute("SELECT r.id FROM runs r JOIN attempts a ON a.run_id = r.id WHERE r.workflow = 'chatty'").fetchone()
    db.close()
    if row:
        break
    time.sleep(0.05)
chatty = row[0]
received = [0]
rss = []


def sample():
    while writer.poll() is None or received[0] < 100000:
        try:
            with open(f"/proc/{server.pid}/status") as status:
                rss.append(int(next(l for l in status if l.startswith("VmRSS")).split()[1]))
        except (OSError, StopIteration):
            pass
        time.sleep(0.5)
        if len(rss) > 200:
            break


threading.Thread(target=sample, daemon=True).start()
connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
connection.request("GET", f"/runs/{chatty}/logs/chatty/1/stream")
response = connection.getresponse()
writer_done = None
while True:
    line = response.readline()
    if not line:
        break
    if writer_done is None and writer.poll() is not None:
        writer_done = time.perf_counter()
    if line.startswith(b"data: {"):
        received[0] += json.loads(line[6:])["text"].count("\n")
    elif line.startswith(b"event: end"):
        break
end = time.perf_counter()
writer.wait()
server.kill()
lag = (end - writer_done) * 1000 if writer_done else 0
print(f"\nlive log: {received[0]:,} of 100,000 lines received; the stream ended {lag:.0f} ms after the writer did; "
      f"server RSS {min(rss) // 1024 if rss else 0}–{max(rss) // 1024 if rss else 0} MiB while following")
