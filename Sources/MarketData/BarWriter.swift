import FlowCore
import GRDB
import GRDBSQLite

/// Writes one validated chunk of bars and the sync position in one transaction, idempotently.
package enum BarWriter {
    /// The database already holds another source's data; nothing of the chunk was written.
    package struct SourceMix: Error {
        package var stored: String
        package var incoming: String

        func message(path: String) -> String {
            "'\(path)' holds data from source '\(stored)', not '\(incoming)'; nothing was written. Use a separate database "
                + "for each source (for example -p db=data/market-\(incoming).db)"
        }
    }

    /// Upserts `bars` and sets `sync_state.synced_until = syncedUntil`; returns how many rows are new.
    /// Rows that already hold the same values are not rewritten, so a repeated chunk changes nothing.
    package static func write(_ bars: [Bar], symbol: String, source: String, range: (start: Int64, end: Int64),
                              syncedUntil: Int64, to queue: DatabaseQueue, now: Int64) throws -> Int {
        try queue.writeWithoutTransaction { db in
            var added = 0
            try db.inTransaction(.immediate) {
                // Checked inside the writing transaction: whichever state database or folder another flow runs
                // from, its bars cannot land between this check and this chunk's commit.
                if let stored = try MarketDatabase.foreignSource(db, symbol: symbol, source: source) {
                    throw SourceMix(stored: stored, incoming: source)
                }
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
                // Bound and stepped through SQLite's C API: boxing nine values per bar into GRDB's
                // StatementArguments cost more than SQLite's own work (docs/PERFORMANCE.md).
                let handle = upsert.sqliteStatement
                defer { sqlite3_reset(handle) }
                for bar in bars {
                    sqlite3_reset(handle)
                    var code = bar.symbol.withCString { sqlite3_bind_text(handle, 1, $0, -1, transient) }
                    code |= sqlite3_bind_int64(handle, 2, bar.ts)
                    code |= sqlite3_bind_double(handle, 3, bar.open)
                    code |= sqlite3_bind_double(handle, 4, bar.high)
                    code |= sqlite3_bind_double(handle, 5, bar.low)
                    code |= sqlite3_bind_double(handle, 6, bar.close)
                    code |= sqlite3_bind_int64(handle, 7, bar.volume)
                    code |= sqlite3_bind_int64(handle, 8, bar.instrumentID)
                    code |= bar.source.withCString { sqlite3_bind_text(handle, 9, $0, -1, transient) }
                    guard code == SQLITE_OK else { throw BarWriter.failure(db, upsert) }
                    guard sqlite3_step(handle) == SQLITE_DONE else { throw BarWriter.failure(db, upsert) }
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

    /// The connection's last error as GRDB reports errors, so disk-full and corruption read the same either way.
    private static func failure(_ db: Database, _ statement: Statement) -> DatabaseError {
        guard let connection = db.sqliteConnection else { return DatabaseError(sql: statement.sql) }
        return DatabaseError(resultCode: ResultCode(rawValue: sqlite3_extended_errcode(connection)),
                             message: String(cString: sqlite3_errmsg(connection)), sql: statement.sql)
    }
}

/// SQLite copies bound text at once (the C API's SQLITE_TRANSIENT, a macro Swift does not import).
private let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)
