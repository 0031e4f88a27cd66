#!/usr/bin/env python3
"""Writes Tests/Fixtures/databento/*.csv in Databento's real CSV encoding, produced by Databento's own
`databento-dbn` package (pip install databento-dbn): OHLCV-1m records are encoded as DBN and transcoded
to CSV exactly as `timeseries.get_range` with encoding=csv, pretty_px=false, pretty_ts=false returns them.

The bars are synthetic (no market data is redistributed): prices follow a simple path, and every 7th
open-market minute has no row, as minutes without trades have none.
"""
import io
import os
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import databento_dbn as dbn

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "Fixtures", "databento")
CHICAGO = ZoneInfo("America/Chicago")


def globex_open(ts):
    local = ts.astimezone(CHICAGO)
    wd, minute = local.weekday(), local.hour * 60 + local.minute  # Monday = 0
    if wd == 5:
        return False
    if wd == 6:
        return minute >= 17 * 60
    if wd == 4:
        return minute < 16 * 60
    return minute < 16 * 60 or minute >= 17 * 60


def write(name, start, end, instrument_id=42140878):
    start_ns = int(start.timestamp()) * 10**9
    end_ns = int(end.timestamp()) * 10**9
    out = io.BytesIO()
    transcoder = dbn.Transcoder(out, dbn.Encoding.CSV, dbn.Compression.NONE, pretty_px=False, pretty_ts=False,
                                map_symbols=False, has_metadata=True)
    metadata = dbn.Metadata(dataset="GLBX.MDP3", schema=dbn.Schema.OHLCV_1M, start=start_ns, end=end_ns,
                            stype_in=dbn.SType.CONTINUOUS, stype_out=dbn.SType.INSTRUMENT_ID, symbols=["MGC.v.0"],
                            partial=[], not_found=[], mappings=[])
    transcoder.write(metadata.encode())
    ts, i, price = start, 0, 2034_500_000_000
    tick = 100_000_000  # 0.1
    while ts < end:
        if globex_open(ts):
            i += 1
            step = ((i * 7919) % 11 - 5) * tick
            o, c = price, price + step
            h, l = max(o, c) + (i % 3) * tick, min(o, c) - (i % 2) * tick
            price = c
            if i % 7 != 0:
                record = dbn.OHLCVMsg(rtype=0x21, publisher_id=1, instrument_id=instrument_id,
                                      ts_event=int(ts.timestamp()) * 10**9, open=o, high=h, low=l, close=c,
                                      volume=1 + (i * 31) % 50)
                transcoder.write(bytes(record))
        ts += timedelta(minutes=1)
    transcoder.flush()
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(out.getvalue())


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    # Two Brisbane trading days (09:00 AEST = 23:00Z): 2026-01-15 and 2026-01-16.
    write("MGC.ohlcv-1m.csv", datetime(2026, 1, 14, 23, tzinfo=timezone.utc), datetime(2026, 1, 16, 23, tzinfo=timezone.utc))
