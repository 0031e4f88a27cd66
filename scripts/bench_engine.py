#!/usr/bin/env python3
"""Engine benchmark: per-task overhead of `flow run` above bare process spawns, and validate+plan cost.

Usage: scripts/bench-engine.sh [--flow PATH] [--repeat N]
Prints a markdown table. Workloads are generated into a temporary folder; nothing in the repo changes.
"""
import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def run_measured(cmd, cwd, env=None):
    """Runs cmd; returns (wall seconds, cpu seconds, peak RSS MiB of that child)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    # /usr/bin/time -f reports this child's own peak RSS; RUSAGE_CHILDREN only keeps a running maximum.
    timed = ["/usr/bin/time", "-f", "%M"] + cmd if os.path.exists("/usr/bin/time") else cmd
    proc = subprocess.run(timed, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        sys.exit(f"command failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stderr[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    peak = 0.0
    if timed is not cmd:
        last = proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else "0"
        try:
            peak = int(last) / 1024
        except ValueError:
            peak = 0.0
    return wall, cpu, peak


def write_workflow(path, name, tasks, max_parallel):
    lines = [f"name: {name}", f"max_parallel: {max_parallel}", "tasks:"]
    for tid, needs in tasks:
        lines.append(f"  {tid}:")
        if needs:
            lines.append(f"    needs: [{', '.join(needs)}]")
        lines.append('    run: "true"')
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def workloads():
    chain = [(f"t{i}", [f"t{i-1}"] if i else []) for i in range(200)]
    independent = [(f"t{i}", []) for i in range(1000)]
    layers = []
    for layer in range(10):
        for j in range(50):
            needs = [f"l{layer-1}-{k}" for k in range(50)] if layer else []
            layers.append((f"l{layer}-{j}", needs))
    return [
        ("independent-1000-p2", independent, 2),
        ("chain-200", chain, 1),
        ("layers-10x50-p2", layers, 2),
    ]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--flow", default=os.path.join(HERE, "..", ".build", "release", "flow"))
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    flow = os.path.abspath(args.flow)
    if not os.path.exists(flow):
        sys.exit(f"no flow binary at {flow}; build it with: swift build -c release")

    work = tempfile.mkdtemp(prefix="flow-bench-")
    try:
        baseline = os.path.join(work, "spawn_baseline")
        subprocess.run(["cc", "-O2", "-o", baseline, os.path.join(HERE, "spawn_baseline.c")], check=True)
        os.makedirs(os.path.join(work, "workflows"))
        env = dict(os.environ, NO_COLOR="1")
        rows = []
        for name, tasks, parallel in workloads():
            write_workflow(os.path.join(work, "workflows", f"{name}.yaml"), name, tasks, parallel)
            flow_runs, base_sh, base_true = [], [], []
            for _ in range(args.repeat):
                # Alternate runner and baseline so machine noise hits both alike.
                flow_runs.append(run_measured([flow, "run", name, "--fresh"], work, env))
                base_sh.append(run_measured([baseline, str(len(tasks)), str(parallel), "/bin/sh", "-e", "-c", "true"], work, env))
                base_true.append(run_measured([baseline, str(len(tasks)), str(parallel), "/bin/true"], work, env))
            fw = statistics.median(r[0] for r in flow_runs)
            fc = statistics.median(r[1] for r in flow_runs)
            fm = max(r[2] for r in flow_runs)
            bsh = statistics.median(r[0] for r in base_sh)
            btrue = statistics.median(r[0] for r in base_true)
            n = len(tasks)
            rows.append((name, n, fw, fc, fm, n / fw, (fw - bsh) / n * 1000, (fw - btrue) / n * 1000, bsh, btrue))

        print("| workload | tasks | flow wall s | flow cpu s | peak MiB | tasks/s | overhead ms/task vs `sh -c true` | vs `/bin/true` | baseline sh s | baseline true s |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for r in rows:
            print(f"| {r[0]} | {r[1]} | {r[2]:.3f} | {r[3]:.3f} | {r[4]:.1f} | {r[5]:.0f} | {r[6]:.3f} | {r[7]:.3f} | {r[8]:.3f} | {r[9]:.3f} |")

        print()
        print("| validate + plan | tasks | wall s | peak MiB |")
        print("|---|---:|---:|---:|")
        for n in (1000, 10000):
            name = f"plan-{n}"
            tasks = [(f"t{i}", [f"t{i-1}"] if i % 10 else []) for i in range(n)]
            write_workflow(os.path.join(work, "workflows", f"{name}.yaml"), name, tasks, 4)
            runs = [run_measured([flow, "plan", name, "--json"], work, env) for _ in range(args.repeat)]
            print(f"| {name} | {n} | {statistics.median(r[0] for r in runs):.3f} | {max(r[2] for r in runs):.1f} |")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
