"""The daily-update data path: 365-day demo backfill of one symbol (bars/s), full features rebuild of that
year, incremental one-day run, and each step's peak memory. Imported by bench.py."""
import os
import shutil
import tempfile

from measure import run_measured, task_states

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

REBUILD_YAML = """tasks:
  rebuild:
    uses: market.build-features
    with:
      db: data/market.db
      symbols: MGC
      rebuild: "true"
"""


def measure(flow):
    """One pass over a fresh project; returns [(measurement, value, target, met)]."""
    work = tempfile.mkdtemp(prefix="flow-bench-du-")
    try:
        shutil.copytree(os.path.join(ROOT, "workflows"), os.path.join(work, "workflows"))
        with open(os.path.join(work, "workflows", "rebuild.yaml"), "w") as f:
            f.write(REBUILD_YAML)
        env = dict(os.environ, NO_COLOR="1", FLOW_NOW="2026-01-28T21:00:00Z")
        env.pop("DATABENTO_API_KEY", None)

        first = run_measured([flow, "run", "daily-update", "-p", "start=2025-01-28T21:00:00Z"], work, env)
        tasks = task_states(flow, work, env, "daily-update")
        bars = int(tasks["backfill"]["outputs"]["bars_written"])
        backfill_s = tasks["backfill"]["duration_seconds"]
        days = tasks["build-features"]["outputs"].get("days_written")

        rebuild = run_measured([flow, "run", "rebuild"], work, env)
        rebuild_s = task_states(flow, work, env, "rebuild")["rebuild"]["duration_seconds"]

        incremental = run_measured([flow, "run", "daily-update"], work, dict(env, FLOW_NOW="2026-01-29T21:00:00Z"))
        rate = bars / backfill_s
        return [
            ("365-day demo backfill: bars written", f"{bars}", "", ""),
            ("backfill bars/s (task time)", f"{rate:,.0f}", ">= 200,000", rate >= 200_000),
            (f"first full run: wall s / peak MiB (features for {days} days)",
             f"{first.wall:.3f} / {first.peak:.1f}", "", ""),
            ("full features rebuild of the year: task s", f"{rebuild_s:.3f}", "< 2 s", rebuild_s < 2),
            ("full features rebuild: whole `flow run` wall s / peak MiB", f"{rebuild.wall:.3f} / {rebuild.peak:.1f}",
             "", ""),
            ("incremental one-day run: wall s / peak MiB", f"{incremental.wall:.3f} / {incremental.peak:.1f}",
             "< 1 s", incremental.wall < 1),
        ]
    finally:
        shutil.rmtree(work, ignore_errors=True)
