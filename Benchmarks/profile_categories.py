#!/usr/bin/env python3
"""Sums `perf script` samples of flow's own threads into the parts of a task's life, so the per-task cost can be
read as a table. Usage: perf script -F comm,period,ip,sym | profile_categories.py TASKS"""
import collections
import sys

# First match over the whole stack wins, so the order goes from specific to general.
CATEGORIES = [
    # pwrite: SQLite's WAL writes (flow writes logs with write(2)); often reached through frames perf cannot name.
    ("state database: GRDB + SQLite commits", ("GRDB", "sqlite3", "pwrite")),
    ("log file creation (filesystem inode allocation)", ("TaskLog", "ext4_create", "__ext4_new_inode", "do_sys_openat2")),
    # munmap / TLB flush: glibc maps a fresh stack for each posix_spawn child and unmaps it afterwards.
    ("process spawn (posix_spawn, child until exec)",
     ("posix_spawn", "__spawni", "clone3", "execve", "kernel_clone", "munmap", "flush_tlb_mm_range")),
    ("reaping exits (pidfd + epoll thread)", ("ProcessReaper",)),
    ("workflow load, validation, plan", ("FlowSpec", "FlowPlan", "WorkflowLoader")),
    ("console progress lines", ("Console",)),
    ("task fingerprint (SHA-256)", ("Fingerprint",)),
    ("shell action setup and outputs", ("ShellAction", "CheckpointFollower", "KeyValueParser", "ProcessRunner")),
    ("engine run loop", ("FlowEngine",)),
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
        joined = " ".join(stack)
        for name, keys in CATEGORIES:
            if any(k in joined for k in keys):
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
