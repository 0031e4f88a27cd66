#!/usr/bin/env python3
"""A/B two flow binaries on the same workloads, alternating runs so machine noise hits both alike.

Usage: Benchmarks/compare.py OLD_FLOW NEW_FLOW [--repeat N]
Prints, per workload, the median and fastest wall time of each binary and the new/old ratio of medians.
Workloads: a one-task run (start-up), 200 independent `true` tasks at max_parallel 2 (per-task overhead),
50 tasks in a chain, and daily-update on an up-to-date demo database (the nightly no-gap case).
"""
import argparse, os, shutil, statistics, subprocess, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def repository(flow):
    """The checkout a binary was built in (its workflows/ match its actions)."""
    return flow.split("/.build/")[0] if "/.build/" in flow else ROOT


def project(kind, flow):
    d = tempfile.mkdtemp(prefix=f"flow-ab-{kind}-")
    os.makedirs(f"{d}/workflows")
    if kind == "one":
        text = "tasks:\n  a:\n    run: \"true\"\n"
    elif kind == "wide":
        text = "max_parallel: 2\ntasks:\n" + "".join(f"  t{i}:\n    run: \"true\"\n" for i in range(200))
    elif kind == "chain":
        text = "tasks:\n" + "".join(f"  t{i}:\n    run: \"true\"\n" + (f"    needs: [t{i-1}]\n" if i else "") for i in range(50))
    else:
        shutil.copy(f"{repository(flow)}/workflows/daily-update.yaml", f"{d}/workflows/w.yaml")
        return d, ["run", "w"]
    with open(f"{d}/workflows/w.yaml", "w") as f:
        f.write(text)
    return d, ["run", "w", "--fresh"]


def once(flow, directory, args, env):
    start = time.perf_counter()
    r = subprocess.run([flow] + args, cwd=directory, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    elapsed = time.perf_counter() - start
    if r.returncode != 0:
        raise SystemExit(f"{flow} {' '.join(args)} exited {r.returncode} in {directory}")
    return elapsed


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("old")
    parser.add_argument("new")
    parser.add_argument("--repeat", type=int, default=15)
    a = parser.parse_args()
    a.old, a.new = os.path.abspath(a.old), os.path.abspath(a.new)
    env = dict(os.environ, NO_COLOR="1", FLOW_NOW="2026-01-28T21:00:00Z")
    env.pop("DATABENTO_API_KEY", None)
    print(f"| workload | old median | new median | old fastest | new fastest | new/old (median) |")
    print(f"| --- | --- | --- | --- | --- | --- |")
    for kind in ["one", "wide", "chain", "daily-update"]:
        dirs = {}
        for name, flow in [("old", a.old), ("new", a.new)]:
            d, args = project(kind, flow)
            once(flow, d, args, env)  # warm up; for daily-update, the first run loads the demo data
            dirs[name] = (flow, d, args)
        times = {"old": [], "new": []}
        for _ in range(a.repeat):
            for name in ["old", "new"]:
                flow, d, args = dirs[name]
                times[name].append(once(flow, d, args, env))
        mo, mn = statistics.median(times["old"]), statistics.median(times["new"])
        print(f"| {kind} | {mo*1000:.1f} ms | {mn*1000:.1f} ms | {min(times['old'])*1000:.1f} ms | "
              f"{min(times['new'])*1000:.1f} ms | {mn/mo:.2f} |")
        for _, d, _ in dirs.values():
            shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    main()
