#!/usr/bin/env python3
"""Sums `perf script` samples of flow's own threads into the parts of a task's life, so the per-task cost can be
read as a table. Usage: perf script -F comm,period,ip,sym | profile_categories.py TASKS"""
import collections
import sys

# A sample belongs to the innermost frame that names a part (mangled Swift names also mention their parameters'
# types, so an outer frame can name several); the two generic parts count only when nothing else matched.
CATEGORIES = [
    # pwrite: SQLite's WAL writes (flow writes logs with write(2)); often reached through frames perf cannot name.
    ("state database: GRDB + SQLite commits", ("GRDB", "sqlite3", "pwrite")),
    ("attempt log: recycling (renames, lease check) or creation",
     ("LogRecyclerC4open", "LogRecyclerC6finish", "LogRecyclerC5close", "7LogFileC", "flow_is_sole_opener",
      "ext4_create", "__ext4_new_inode", "do_renameat2")),
    # The child runs under flow's name until exec; the baseline pays the same for its own children.
    ("process spawn (clone, child until exec)",
     ("flow_spawn", "flow_posix_spawn", "ProcessSpawnerO5spawn", "__spawni", "clone3", "execve", "kernel_clone", "__clone")),
    ("task end: reap, checkpoint and output files, group check",
     ("ShellProcess", "ScratchFile", "CheckpointFollower", "ProcessExit", "ProcessGroups", "ProcessCommandRunnerC7release", "Builder8conclude")),
    ("task start: environment, arguments, context", ("ShellAction", "TaskSetup", "Builder7context", "Builder5setup", "Builder5begin", "TaskContext")),
    ("task fingerprint (SHA-256)", ("Fingerprint",)),
    ("console progress lines", ("Console",)),
    ("plan decisions", ("RunPlan",)),
    ("workflow load, validation, plan", ("FlowSpec", "FlowPlan", "WorkflowLoader")),
    ("builder loop and runner: epoll, pidfds, deadlines", ("Builder", "ProcessCommandRunner", "epoll")),
    ("thread hand-offs (Swift concurrency, dispatch, futex)",
     ("swift_task", "swift_job_run", "_dispatch", "futex", "schedule", "swift_continuation")),
    ("memory management (malloc, retain/release)", ("malloc", "free", "swift_retain", "swift_release")),
]
SHELLS = {"sh", "dash", "bash", "true", "touch"}


def main():
    tasks = int(sys.argv[1])
    totals = collections.Counter()
    all_ns = 0
    stack, comm, period = [], None, 0

    def flush():
        nonlocal all_ns
        if comm is None or comm in SHELLS:
            return
        all_ns += period
        for parts in (CATEGORIES[:-2], CATEGORIES[-2:]):
            for frame in stack:  # innermost first, as perf prints them
                for name, keys in parts:
                    if any(k in frame for k in keys):
                        totals[name] += period
                        return
        totals["other"] += period

    for line in sys.stdin:
        if not line.strip():
            flush()
            stack, comm, period = [], None, 0
        elif not line[0].isspace():
            parts = line.split()
            comm, period = parts[0], int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
        else:
            parts = line.strip().split(None, 1)
            stack.append(parts[1] if len(parts) > 1 else "?")
    flush()
    print(f"| part of flow's own CPU time ({all_ns / 1e6:.0f} ms for {tasks} tasks) | share | µs per task |")
    print("|---|---:|---:|")
    for name, ns in totals.most_common():
        print(f"| {name} | {ns * 100 / all_ns:.1f}% | {ns / 1e3 / tasks:.0f} |")


if __name__ == "__main__":
    main()
