"""Runs one command and measures its wall time, CPU time (its own and its waited-for descendants') and peak RSS."""
import collections
import json
import os
import resource
import subprocess
import sys
import time

Measurement = collections.namedtuple("Measurement", "wall cpu peak")

TIME = "/usr/bin/time"


def run_measured(cmd, cwd, env=None, expect=0):
    """Runs cmd with stdout discarded. Exits the benchmark if the exit status is not `expect`."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    # GNU time reports this child's own peak RSS; RUSAGE_CHILDREN keeps only a running maximum over all children.
    timed = [TIME, "-f", "%M"] + cmd if os.path.exists(TIME) else cmd
    t0 = time.perf_counter()
    proc = subprocess.run(timed, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != expect:
        sys.exit(f"expected exit {expect}, got {proc.returncode}: {' '.join(cmd)} (in {cwd})\n{proc.stderr[-3000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    peak = 0.0
    if timed is not cmd:
        lines = proc.stderr.strip().splitlines()
        try:
            peak = int(lines[-1].split()[-1]) / 1024
        except (IndexError, ValueError):
            peak = 0.0
    return Measurement(wall, cpu, peak)


def task_states(flow, cwd, env, workflow):
    """`flow status WORKFLOW --json`'s tasks, by id."""
    out = subprocess.run([flow, "status", workflow, "--json"], cwd=cwd, env=env, capture_output=True, text=True,
                         check=True).stdout
    return {t["id"]: t for t in json.loads(out)["tasks"]}
