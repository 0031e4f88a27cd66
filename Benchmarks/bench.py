#!/usr/bin/env python3
"""flow against GNU make -j2, ninja -j2 and a bare-spawn baseline, on the same generated workloads, in one
invocation; then validate+plan cost and the daily-update data path. Prints markdown tables.

Usage (through Benchmarks/run.sh, which builds the binaries): bench.py --flow PATH --baseline PATH [--repeat N]
    [--only engine,plan,daily-update] [--workloads chain-200,...]

Per-task overhead = (runner wall - baseline wall) / tasks that ran, medians of alternating repetitions: the
machine is shared, so only ratios measured in the same invocation mean anything.
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from measure import run_measured, task_states  # noqa: E402
import daily_update  # noqa: E402

RUNNERS = ["durable-floor", "logged-floor", "flow", "ninja", "make", "flow-tmpfs"]
# durable-floor: the baseline plus a commit of every transition into a flow state database, in C
# (durable_floor_runner.c) — the least any runner pays that keeps flow's checkpoint promise.
# logged-floor: the durable floor that also keeps flow's promises about a task's process and output (each
# attempt's output in a log file of its own, a process group, FLOW_* variables, its outputs file looked for).
# flow-tmpfs: flow with its state database and logs on /dev/shm. Not a way to run flow (a tmpfs is lost at
# reboot); it shows how much of flow's per-task cost is the disk's file creation and commits.
TMPFS = "/dev/shm"
FAIL_AT = 149  # the 150th task of the resume workload fails on its first run
FAILED_EXIT = {"flow": 1, "flow-tmpfs": 1, "ninja": 1, "make": 2}


class Workload:
    """A DAG of shell commands; `parallel` is the runners' -j and the baseline's processes in flight."""

    def __init__(self, name, tasks, parallel, baseline_parallel, resume=False):
        self.name = name
        self.tasks = tasks  # [(id, [needs], command)]
        self.parallel = parallel
        self.baseline_parallel = baseline_parallel
        self.resume = resume

    @property
    def timed_tasks(self):
        return len(self.tasks) - FAIL_AT if self.resume else len(self.tasks)


def workloads():
    chain = [(f"t{i}", [f"t{i-1}"] if i else [], "true") for i in range(200)]
    independent = [(f"t{i}", [], "true") for i in range(1000)]
    layers = []
    for layer in range(10):
        for j in range(50):
            needs = [f"l{layer-1}-{k}" for k in range(50)] if layer else []
            layers.append((f"l{layer}-{j}", needs, "true"))
    # The resume workload's tasks make files, so make and ninja can tell what is already done.
    resume = []
    for i in range(200):
        command = f"touch out/t{i}"
        if i == FAIL_AT:
            command = f"test -e out/fail.marker || {{ touch out/fail.marker; exit 1; }}; touch out/t{i}"
        resume.append((f"t{i}", [f"t{i-1}"] if i else [], command))
    return [
        Workload("chain-200", chain, 2, 1),
        Workload("independent-1000-p2", independent, 2, 2),
        Workload("layers-10x50-p2", layers, 2, 2),
        Workload("chain-200-resume-after-fail-at-150", resume, 2, 1, resume=True),
        Workload("one-task", [("t0", [], "true")], 2, 1),
    ]


def yaml_quote(text):
    return "'" + text.replace("'", "''") + "'"


def write_flow(w, folder):
    lines = [f"name: {w.name}", f"max_parallel: {w.parallel}", "tasks:"]
    for tid, needs, command in w.tasks:
        lines.append(f"  {tid}:")
        if needs:
            lines.append(f"    needs: [{', '.join(needs)}]")
        lines.append(f"    run: {yaml_quote(command)}")
    with open(os.path.join(folder, "workflows", f"{w.name}.yaml"), "w") as f:
        f.write("\n".join(lines) + "\n")


def write_ninja(w, folder):
    lines = ["rule sh", "  command = $cmd", ""]
    for tid, needs, command in w.tasks:
        # Outputs live in out/ for the resume workload (real files); elsewhere they are never made, so every
        # invocation runs every task, as flow's --fresh does.
        target = f"out/{tid}" if w.resume else tid
        deps = " ".join(f"out/{d}" if w.resume else d for d in needs)
        lines.append(f"build {target}: sh {deps}".rstrip())
        lines.append(f"  cmd = {command}")
    with open(os.path.join(folder, f"{w.name}.ninja"), "w") as f:
        f.write("\n".join(lines) + "\n")


def write_make(w, folder):
    # A SHELL spelled unlike the default turns off make's exec-without-shell shortcut, so make pays for
    # `/bin/sh -c` like the other runners.
    lines = ["SHELL := /bin//sh"]
    sinks = {tid for tid, _, _ in w.tasks} - {d for _, needs, _ in w.tasks for d in needs}
    name = (lambda t: f"out/{t}") if w.resume else (lambda t: t)
    lines.append("all: " + " ".join(name(t) for t, _, _ in w.tasks if t in sinks))
    if not w.resume:
        lines.append(".PHONY: all " + " ".join(t for t, _, _ in w.tasks))
    for tid, needs, command in w.tasks:
        lines.append(f"{name(tid)}: {' '.join(name(d) for d in needs)}".rstrip())
        lines.append(f"\t@{command}")
    with open(os.path.join(folder, f"{w.name}.mk"), "w") as f:
        f.write("\n".join(lines) + "\n")


def reset_outputs(folder):
    shutil.rmtree(os.path.join(folder, "out"), ignore_errors=True)
    os.makedirs(os.path.join(folder, "out"))
    for f in (".ninja_log", ".ninja_deps"):
        try:
            os.remove(os.path.join(folder, f))
        except FileNotFoundError:
            pass


def command_for(runner, w, flow, fresh=True):
    if runner in ("flow", "flow-tmpfs"):
        return [flow, "run", w.name] + (["--fresh"] if fresh else [])
    if runner == "ninja":
        return ["ninja", "-f", f"{w.name}.ninja", f"-j{w.parallel}"]
    return ["make", "-f", f"{w.name}.mk", f"-j{w.parallel}"]


def run_once(runner, w, folder, tools, env):
    flow = tools.flow
    if runner == "flow-tmpfs":
        env = dict(env, FLOW_STATE=env["FLOW_BENCH_TMPFS_STATE"])
    if runner in ("baseline", "durable-floor", "logged-floor"):
        command = "touch out/b" if w.resume else "true"
        if w.resume:
            reset_outputs(folder)
        spawn = [str(w.timed_tasks), str(w.baseline_parallel), "/bin/sh", "-c", command]
        if runner == "baseline":
            return run_measured([tools.baseline] + spawn, folder, env)
        logs = ["--logs", os.path.join(folder, ".floor-logs")] if runner == "logged-floor" else []
        return run_measured([tools.floor_runner] + (["--resume"] if w.resume else []) + logs + [tools.floor_db] + spawn,
                            folder, env)
    if not w.resume:
        return run_measured(command_for(runner, w, flow), folder, env)
    # Untimed first run that fails at task 150, then the timed run that finishes the work.
    reset_outputs(folder)
    run_measured(command_for(runner, w, flow), folder, env, expect=FAILED_EXIT[runner])
    measured = run_measured(command_for(runner, w, flow, fresh=False), folder, env)
    if runner in ("flow", "flow-tmpfs"):
        verify_resume(w, folder, flow, env)
    return measured


def full_run_wall(w, folder, flow, env, repeat):
    """flow's wall time for the whole resume workload when nothing fails (the marker already exists)."""
    walls = []
    for _ in range(repeat):
        reset_outputs(folder)
        open(os.path.join(folder, "out", "fail.marker"), "w").close()
        walls.append(run_measured(command_for("flow", w, flow), folder, env).wall)
    return statistics.median(walls)


def verify_resume(w, folder, flow, env):
    """The resumed run must not have run tasks 1-149 again."""
    tasks = task_states(flow, folder, env, w.name)
    again = [t for t in (f"t{i}" for i in range(FAIL_AT)) if tasks[t]["attempts"] != 1]
    if again or tasks[f"t{FAIL_AT}"]["attempts"] != 2 or any(t["status"] != "succeeded" for t in tasks.values()):
        sys.exit(f"resume check failed: re-ran {again[:5]}..., t{FAIL_AT} attempts {tasks[f't{FAIL_AT}']['attempts']}")


def make_floor_db(flow, work, env):
    """flow's own state database in the benchmark folder, made by flow: the durable floor writes its runs into
    the same file as flow, so both commit into a database of the same size as the repetitions add rows."""
    w = Workload("floor-setup", [("t0", [], "true")], 1, 1)
    os.makedirs(os.path.join(work, "workflows"), exist_ok=True)
    write_flow(w, work)
    run_measured([flow, "run", w.name], work, env)
    return os.path.join(work, ".flow", "state.db")


def engine_tables(tools, repeat, work, env, only_workloads=None):
    flow = tools.flow
    os.makedirs(os.path.join(work, "workflows"), exist_ok=True)
    os.makedirs(os.path.join(work, ".floor-logs"), exist_ok=True)
    print("## Per-task cost: flow vs ninja -j2 vs GNU make -j2\n")
    print(f"Medians of {repeat} alternating repetitions. Overhead = (wall - baseline wall) / tasks run; the baseline"
          " spawns `/bin/sh -c CMD` from a tiny C program (1 in flight for chains, 2 otherwise). CPU overhead ="
          " (cpu - baseline cpu) / tasks, the runner's own work, steadier than wall on a shared machine.\n")
    print("| workload | runner | tasks run | wall s | cpu s | peak MiB | overhead ms/task | cpu overhead ms/task |"
          " overhead / ninja's |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    summary = []
    fastest = []
    resume_check = None
    for w in workloads():
        if only_workloads and w.name not in only_workloads:
            continue
        write_flow(w, work)
        write_ninja(w, work)
        write_make(w, work)
        results = {r: [] for r in ["baseline"] + RUNNERS}
        for _ in range(repeat):
            for runner in ["baseline"] + RUNNERS:
                results[runner].append(run_once(runner, w, work, tools, env))
        med = {r: (statistics.median(m.wall for m in ms), statistics.median(m.cpu for m in ms), max(m.peak for m in ms))
               for r, ms in results.items()}
        n = w.timed_tasks
        base_wall, base_cpu, _ = med["baseline"]
        overhead = {r: (med[r][0] - base_wall) / n * 1000 for r in RUNNERS}
        cpu_overhead = {r: (med[r][1] - base_cpu) / n * 1000 for r in RUNNERS}
        for runner in ["baseline"] + RUNNERS:
            wall, cpu, peak = med[runner]
            if runner == "baseline":
                print(f"| {w.name} | baseline | {n} | {wall:.3f} | {cpu:.3f} | {peak:.1f} | | | |")
                continue
            ratio = f"{overhead[runner] / overhead['ninja']:.2f}" if overhead["ninja"] > 0.005 else "n/a"
            print(f"| {w.name} | {runner} | {n} | {wall:.3f} | {cpu:.3f} | {peak:.1f} | {overhead[runner]:.3f} |"
                  f" {cpu_overhead[runner]:.3f} | {ratio} |")
        summary.append((w.name, overhead))
        # Interference from the rest of the machine only ever adds time, so each runner's fastest repetition is
        # the steadier estimate of its own cost; the medians above show what a run typically sees.
        best = {r: min(m.wall for m in ms) for r, ms in results.items()}
        fastest.append((w.name, {r: (best[r] - best["baseline"]) / n * 1000 for r in RUNNERS}))
        if w.resume:
            resume_check = (med["flow"][0], full_run_wall(w, work, flow, env, repeat))
    print()
    print("Overheads in ms per task. The durable floor is the least any runner that commits every transition pays:"
          " where it is above 1.5 × ninja's, no such runner can meet that target. The logged floor also keeps each"
          " attempt's output in a file of its own and the task in a process group of its own, as flow promises.\n")
    ratio_table(summary, tmpfs=True)
    print()
    print(f"The same from each runner's fastest of the {repeat} repetitions (baseline's fastest subtracted), ms per task:\n")
    ratio_table(fastest, tmpfs=False)
    print()
    if resume_check:
        resumed, full = resume_check
        n = len(workloads()[3].tasks)
        print(f"Resume after a failure at task {FAIL_AT + 1}: the resumed flow run took {resumed:.3f} s, a full run of the same"
              f" {n} tasks {full:.3f} s: ratio {resumed / full:.2f} for {n - FAIL_AT}/{n} = {(n - FAIL_AT) / n:.2f} of the tasks"
              f" (tasks 1-{FAIL_AT} were checked not to run again).\n")


def ratio_table(rows, tmpfs):
    """Per workload (name, {runner: overhead ms/task}): flow, ninja and the floors, and their ratios; a ratio to an
    overhead of 5 µs or less means nothing and reads n/a."""
    print("| workload | flow | ninja | durable floor | logged floor | flow / ninja | durable floor / ninja |"
          " logged floor / ninja | flow / logged floor |" + (" flow-tmpfs |" if tmpfs else ""))
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|" + ("---:|" if tmpfs else ""))
    for name, o in rows:
        f, nj, fl, lf = o["flow"], o["ninja"], o["durable-floor"], o["logged-floor"]
        by_ninja = (lambda x: f"{x / nj:.2f}") if nj > 0.005 else (lambda x: "n/a (ninja ≤ baseline + 5 µs)")
        by_floor = f"{f / lf:.2f}" if lf > 0.005 else "n/a"
        print(f"| {name} | {f:.3f} | {nj:.3f} | {fl:.3f} | {lf:.3f} | {by_ninja(f)} | {by_ninja(fl)} | {by_ninja(lf)} |"
              f" {by_floor} |" + (f" {o['flow-tmpfs']:.3f} |" if tmpfs else ""))


def floor_table(floor, work, shm):
    """What a durable transition costs with nothing around it, in C: the least any runner keeping flow's
    promises (a commit per transition, a log file per attempt) pays per task on this disk."""
    print("## The floor: one commit and one log file, in C\n")
    print("| where | SQLite commit of a task's end + next start, µs | new log file (open O_CREAT), µs |")
    print("|---|---:|---:|")
    for label, folder in (("benchmark folder (" + work + ")", work), ("tmpfs (" + shm + ")", shm)):
        target = tempfile.mkdtemp(prefix="floor-", dir=folder)
        out = subprocess.run([floor, target, "2000"], capture_output=True, text=True, check=True).stdout.split()
        shutil.rmtree(target, ignore_errors=True)
        print(f"| {label} | {float(out[0]):.1f} | {float(out[1]):.1f} |")
    print()


def plan_table(flow, repeat, work, env):
    print("## Validate + plan\n")
    print("| tasks | flow `plan --json` wall s | peak MiB | `ninja -n` wall s | `make -n` wall s |")
    print("|---:|---:|---:|---:|---:|")
    for n in (1000, 10000):
        tasks = [(f"t{i}", [f"t{i-1}"] if i % 10 else [], "true") for i in range(n)]
        w = Workload(f"plan-{n}", tasks, 4, 4)
        write_flow(w, work)
        write_ninja(w, work)
        write_make(w, work)
        runs = {"flow": [], "ninja": [], "make": []}
        for _ in range(repeat):
            runs["flow"].append(run_measured([flow, "plan", w.name, "--json"], work, env))
            runs["ninja"].append(run_measured(["ninja", "-n", "-f", f"{w.name}.ninja"], work, env))
            runs["make"].append(run_measured(["make", "-n", "-f", f"{w.name}.mk"], work, env))
        wall = {r: statistics.median(m.wall for m in ms) for r, ms in runs.items()}
        peak = max(m.peak for m in runs["flow"])
        print(f"| {n} | {wall['flow']:.3f} | {peak:.1f} | {wall['ninja']:.3f} | {wall['make']:.3f} |")
    print()


def daily_update_table(flow):
    print("## daily-update data path\n")
    print("| measurement | value | target | met |")
    print("|---|---:|---|---|")
    for name, value, target, met in daily_update.measure(flow):
        print(f"| {name} | {value} | {target} | {'' if met == '' else ('yes' if met else 'NO')} |")
    print()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--flow", required=True)
    ap.add_argument("--baseline", required=True)
    ap.add_argument("--floor", help="durability_floor binary: prints the raw cost of a commit and a file creation")
    ap.add_argument("--floor-runner", required=True, help="durable_floor_runner binary: the baseline plus a commit per transition")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--only", default="engine,plan,daily-update")
    ap.add_argument("--workloads", help="comma-separated engine workloads to run (default: all), e.g. layers-10x50-p2")
    args = ap.parse_args()
    flow = os.path.abspath(args.flow)
    baseline = os.path.abspath(args.baseline)
    parts = set(args.only.split(","))
    for tool in ("ninja", "make"):
        if "engine" in parts and shutil.which(tool) is None:
            sys.exit(f"{tool} is not installed: apt-get install -y ninja-build make")
    work = tempfile.mkdtemp(prefix="flow-bench-")
    shm = tempfile.mkdtemp(prefix="flow-bench-", dir=TMPFS) if os.path.isdir(TMPFS) else work
    env = dict(os.environ, NO_COLOR="1", FLOW_BENCH_TMPFS_STATE=os.path.join(shm, "state.db"))
    try:
        if "engine" in parts:
            if args.floor:
                floor_table(os.path.abspath(args.floor), work, shm)
            tools = argparse.Namespace(flow=flow, baseline=baseline, floor_runner=os.path.abspath(args.floor_runner),
                                       floor_db=make_floor_db(flow, work, env))
            engine_tables(tools, args.repeat, work, env, args.workloads.split(",") if args.workloads else None)
        if "plan" in parts:
            plan_table(flow, args.repeat, work, env)
        if "daily-update" in parts:
            daily_update_table(flow)
    finally:
        shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree(shm, ignore_errors=True)


if __name__ == "__main__":
    main()
