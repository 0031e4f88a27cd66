import FlowCore
import GRDB

/// Writes one validated chunk of bars and the sync position in one transaction, idempotently.
package enum BarWriter {
    /// Upserts `bars` and sets `sync_state.synced_until = syncedUntil`; returns how many rows are new.
    /// Rows that already hold the same values are not rewritten, so a repeated chunk changes nothing.
    package static func write(_ bars: [Bar], symbol: String, source: String, range: (start: Int64, end: Int64),
                              syncedUntil: Int64, to queue: DatabaseQueue, now: Int64) throws -> Int {
        try queue.writeWithoutTransaction { db in
            var added = 0
            try db.inTransaction(.immediate) {
                let countSQL = "SELECT count(*) FROM bars_1m WHERE symbol = ? AND ts_utc >= ? AND ts_utc < ?"
                let before = try Int.fetchOne(db, sql: countSQL, arguments: [symbol, range.start, range.end]) ?? 0
                let upsert = try db.cachedStatement(sql: """
                    INSERT INTO bars_1m(symbol, ts_utc, open, high, low, close, volume, instrument_id, source)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                    ON CONFLICT(symbol, ts_utc) DO UPDATE SET open = excluded.open, high = excluded.high, low = excluded.low,
                        close = excluded.close, volume = excluded.volume, instrument_id = excluded.instrument_id, source = excluded.source
                    WHERE (open, high, low, close, volume, instrument_id, source)
                        IS NOT (excluded.open, excluded.high, excluded.low, excluded.close, excluded.volume, excluded.instrument_id, excluded.source)
                    """)
                for bar in bars {
                    upsert.setUncheckedArguments([bar.symbol, bar.ts, bar.open, bar.high, bar.low, bar.close, bar.volume, bar.instrumentID, bar.source])
                    try upsert.execute()
                }
                let after = try Int.fetchOne(db, sql: countSQL, arguments: [symbol, range.start, range.end]) ?? 0
                added = after - before
                try db.execute(sql: """
                    INSERT INTO sync_state(symbol, source, synced_until, updated_at) VALUES (?, ?, ?, ?)
                    ON CONFLICT(symbol) DO UPDATE SET source = excluded.source,
                        synced_until = max(synced_until, excluded.synced_until), updated_at = excluded.updated_at
                    """, arguments: [symbol, source, syncedUntil, now])
                return .commit
            }
            return added
        }
    }
}
