import FlowCore
import Foundation
import GRDB

/// The market database: `bars_1m`, `daily_features`, `sync_state`, created and migrated by flow.
package enum MarketDatabase {
    /// `PRAGMA user_version` after the newest migration; `sqlite.health-check` refuses newer ones.
    package static let schemaVersion = 2

    /// Opens (creating) the database in WAL mode with a busy timeout and migrates it.
    package static func open(_ path: String) throws -> DatabaseQueue {
        do {
            try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            var configuration = Configuration()
            configuration.busyMode = .timeout(10)
            configuration.journalMode = .wal
            configuration.prepareDatabase { db in try db.execute(sql: "PRAGMA synchronous = NORMAL") }
            let queue = try DatabaseQueue(path: path, configuration: configuration)
            // A database from a newer flow is refused before anything writes it: its tables may mean what this
            // flow does not know.
            let (superseded, version) = try queue.read { db in
                (try migrator.hasBeenSuperseded(db), try Int.fetchOne(db, sql: "PRAGMA user_version") ?? 0)
            }
            if superseded || version > schemaVersion {
                try? queue.close()
                throw TaskFailure("market database '\(path)' was written by a newer flow (schema \(version), this flow knows "
                                  + "\(schemaVersion)); nothing was changed. Upgrade flow to use it", retryable: false)
            }
            try migrator.migrate(queue)
            return queue
        } catch let error as DatabaseError {
            throw TaskFailure(describe(error, path: path), retryable: error.resultCode == .SQLITE_BUSY)
        }
    }

    static func describe(_ error: DatabaseError, path: String) -> String {
        switch error.resultCode {
        case .SQLITE_CORRUPT, .SQLITE_NOTADB:
            return "market database '\(path)' is damaged (\(error.message ?? "corrupt")); run the health check for recovery steps"
        case .SQLITE_FULL:
            return "no space left on the disk of '\(path)'; nothing of the last chunk was committed"
        default:
            return "market database '\(path)': \(error.message ?? "\(error.resultCode)")"
        }
    }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1-bars-features-sync") { db in
            try db.execute(sql: """
                CREATE TABLE bars_1m(
                    symbol TEXT NOT NULL,
                    ts_utc INTEGER NOT NULL,
                    open REAL NOT NULL,
                    high REAL NOT NULL,
                    low REAL NOT NULL,
                    close REAL NOT NULL,
                    volume INTEGER NOT NULL,
                    instrument_id INTEGER NOT NULL,
                    source TEXT NOT NULL,
                    PRIMARY KEY(symbol, ts_utc)
                ) WITHOUT ROWID;
                CREATE TABLE daily_features(
                    date_local TEXT NOT NULL,
                    instrument TEXT NOT NULL,
                    open REAL, high REAL, low REAL, close REAL,
                    volume INTEGER, bar_count INTEGER, vwap REAL,
                    asia_high REAL, asia_low REAL, london_high REAL, london_low REAL, ny_high REAL, ny_low REAL,
                    orb_0900_high REAL, orb_0900_low REAL, orb_0900_break TEXT,
                    orb_1800_high REAL, orb_1800_low REAL, orb_1800_break TEXT,
                    orb_0030_high REAL, orb_0030_low REAL, orb_0030_break TEXT,
                    prev_close REAL, true_range REAL, atr_14 REAL,
                    PRIMARY KEY(date_local, instrument)
                ) WITHOUT ROWID;
                CREATE TABLE sync_state(
                    symbol TEXT PRIMARY KEY,
                    source TEXT NOT NULL,
                    synced_until INTEGER NOT NULL,
                    updated_at INTEGER NOT NULL
                );
                PRAGMA user_version = 1;
                """)
            CrashPoint.hit("during-market-migration")
        }
        // What the stored features were computed with; a change of zone, day start or definition rebuilds them all.
        migrator.registerMigration("v2-feature-definition") { db in
            try db.execute(sql: """
                CREATE TABLE feature_definition(
                    id INTEGER PRIMARY KEY CHECK (id = 1),
                    timezone TEXT NOT NULL,
                    day_start TEXT NOT NULL,
                    version INTEGER NOT NULL
                );
                PRAGMA user_version = 2;
                """)
        }
        return migrator
    }

    /// The newest bar of a symbol, and the source it came from.
    package static func newestBar(_ db: Database, symbol: String) throws -> (ts: Int64, source: String)? {
        try Row.fetchOne(db, sql: "SELECT ts_utc, source FROM bars_1m WHERE symbol = ? ORDER BY ts_utc DESC LIMIT 1",
                         arguments: [symbol]).map { (try $0.decode(Int64.self, atIndex: 0), try $0.decode(String.self, atIndex: 1)) }
    }

    /// A source other than `source` that this database already holds data from, if any: any symbol's sync
    /// position (every chunk writes one with its bars) or `symbol`'s own newest bar. A database holds one
    /// source's data, so vendor and demo bars can never interleave.
    package static func foreignSource(_ db: Database, symbol: String, source: String) throws -> String? {
        if let other = try String.fetchOne(db, sql: "SELECT source FROM sync_state WHERE source != ? LIMIT 1", arguments: [source]) {
            return other
        }
        if let newest = try newestBar(db, symbol: symbol), newest.source != source { return newest.source }
        return nil
    }

    /// Where a symbol's stored data ends (exclusive): the later of just after its newest bar and its sync
    /// position (a stretch fetched without bars), either one `otherwise` when absent. Detect-gap and backfill
    /// both start a symbol there.
    package static func storedEnd(_ db: Database, symbol: String, otherwise start: Int64) throws -> Int64 {
        max(try newestBar(db, symbol: symbol).map { $0.ts + 60 } ?? start, try syncedUntil(db, symbol: symbol)?.ts ?? start)
    }

    /// How far a symbol has been fetched (even where the source had no bars), and from which source.
    package static func syncedUntil(_ db: Database, symbol: String) throws -> (ts: Int64, source: String)? {
        try Row.fetchOne(db, sql: "SELECT synced_until, source FROM sync_state WHERE symbol = ?", arguments: [symbol])
            .map { (try $0.decode(Int64.self, atIndex: 0), try $0.decode(String.self, atIndex: 1)) }
    }
}

/// Parses `with: symbols:` — a comma list of roots such as `MGC,GC`.
package enum SymbolList {
    package static func parse(_ text: String) throws -> [String] {
        let symbols = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        guard !symbols.isEmpty else { throw TaskFailure("'symbols' is empty; give a comma list such as MGC,GC", retryable: false) }
        for s in symbols where !s.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "." || $0 == "_") }) || s.count > 20 {
            throw TaskFailure("invalid symbol '\(s.prefix(20))'; use letters and digits such as MGC", retryable: false)
        }
        return symbols
    }
}
