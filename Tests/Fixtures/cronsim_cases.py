#!/usr/bin/env python3
"""Random cron expressions x zones x start times near 2026's DST transitions, with cronsim's next ticks.

Usage: cronsim_cases.py SEED COUNT. Prints one JSON object per line: expr, zone, from (UTC, RFC 3339) and the
next 6 ticks strictly after it, in UTC. Needs `pip install cronsim` (CI installs it).
"""
import json, random, sys
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from cronsim import CronSim

# Not Australia/Lord_Howe: its DST moves the clock by 30 minutes, and cronsim, which jumps 59 minutes at a time
# to the next matching minute, skips the second copy of a minute in its repeated half hour (`41 * * * *` at
# 01:41 standard time). flow runs both copies, as it does for an hour's repeat (CronScheduleTests.lordHowe).
# Not America/Santiago either, whose clocks spring forward at midnight: when cronsim rolls over to a day that
# starts in the gap it lands on the imaginary 00:00 and fires at the first instant after the gap even for a job
# that follows real time; flow, by the rule, makes nothing up (CronScheduleTests.midnightGap). And not
# Pacific/Chatham, whose gap runs 02:45-03:45: cronsim moves to 03:00 of that day, which is in the gap, comes
# out at 04:00 and so misses 03:52 (`*/13 3 * * *`); flow runs it (CronScheduleTests.quarterHourGap).
# What stays: gaps and repeats of a whole hour, at a whole hour other than midnight, and zones without DST.
ZONES = ["America/New_York", "Europe/London", "Australia/Brisbane", "Europe/Berlin", "America/St_Johns",
         "Asia/Kolkata", "Europe/Dublin", "Asia/Kathmandu", "UTC"]
MONTHS = "JAN FEB MAR APR MAY JUN JUL AUG SEP OCT NOV DEC".split()
DAYS = "SUN MON TUE WED THU FRI SAT".split()


def transitions(zone, year=2026):
    """UTC instants in `year` where the zone's offset changes, found hour by hour then minute by minute."""
    tz = ZoneInfo(zone)
    found = []
    t = datetime(year, 1, 1, tzinfo=timezone.utc)
    end = datetime(year + 1, 1, 1, tzinfo=timezone.utc)
    previous = t.astimezone(tz).utcoffset()
    while t < end:
        n = t + timedelta(hours=1)
        if n.astimezone(tz).utcoffset() != previous:
            m = t
            while m.astimezone(tz).utcoffset() == previous:
                m += timedelta(minutes=1)
            found.append(m)
            previous = n.astimezone(tz).utcoffset()
        t = n
    return found


def field(rng, low, high, names=None):
    kind = rng.random()
    def value():
        v = rng.randint(low, high)
        if names and rng.random() < 0.3:
            return names[v - (1 if names is MONTHS else 0)] if (v - (1 if names is MONTHS else 0)) < len(names) else str(v)
        return str(v)
    if kind < 0.25:
        return "*"
    if kind < 0.4:
        return "*/" + str(rng.randint(2, max(2, (high - low) // 2)))
    if kind < 0.6:
        return value()
    if kind < 0.75:
        a, b = sorted(rng.sample(range(low, high + 1), 2))
        step = "" if rng.random() < 0.6 else "/" + str(rng.randint(2, 4))
        return f"{a}-{b}{step}"
    return ",".join(sorted({value() for _ in range(rng.randint(2, 4))}, key=lambda s: s))


def expression(rng):
    minute = field(rng, 0, 59)
    hour = field(rng, 0, 23) if rng.random() < 0.8 else rng.choice(["1", "2", "3", "1-3", "2,3"])
    dom = field(rng, 1, 28) if rng.random() < 0.7 else "*"
    month = "*" if rng.random() < 0.6 else field(rng, 1, 12, MONTHS)
    dow = "*" if rng.random() < 0.6 else field(rng, 0, 6, DAYS)
    return f"{minute} {hour} {dom} {month} {dow}"


def main():
    seed, count = int(sys.argv[1]), int(sys.argv[2])
    rng = random.Random(seed)
    near = {zone: transitions(zone) for zone in ZONES}
    made = 0
    while made < count:
        zone = rng.choice(ZONES)
        expr = expression(rng)
        points = near[zone] or [datetime(2026, 6, 1, tzinfo=timezone.utc)]
        start = rng.choice(points) + timedelta(minutes=rng.randint(-30 * 60, 30 * 60))
        start = start.replace(second=0, microsecond=0)
        try:
            sim = CronSim(expr, start.astimezone(ZoneInfo(zone)))
            ticks = []
            while len(ticks) < 6:
                t = next(sim).astimezone(timezone.utc)
                if t > start and t not in ticks:
                    ticks.append(t)
        except Exception:
            continue  # an expression cronsim rejects or that never fires: not a case
        print(json.dumps({"expr": expr, "zone": zone, "from": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
                          "ticks": [t.strftime("%Y-%m-%dT%H:%M:%SZ") for t in ticks]}))
        made += 1


if __name__ == "__main__":
    main()
