import FlowCore
import Foundation
import GRDB
import Synchronization

/// Why the state database could not be used, in words a user can act on.
package enum StoreError: Error, CustomStringConvertible, Sendable {
    case cannotOpen(path: String, reason: String)
    case damaged(path: String, reason: String)
    /// A stored value flow cannot read (see `UnreadableValue`): never guessed at, never a trap.
    case unreadable(path: String, reason: String)
    case full(path: String)
    case failed(String)

    package var description: String {
        switch self {
        case .cannotOpen(let path, let reason):
            return "cannot open state database '\(path)': \(reason)"
        case .unreadable(let path, let reason):
            return "state database '\(path)' holds a value this flow cannot read: \(reason); flow changed nothing. "
                + "If a newer flow wrote it, use that flow; otherwise keep the file for inspection and point --state at a new path"
        case .damaged(let path, let reason):
            return "state database '\(path)' is damaged (\(reason)); flow changed nothing. "
                + "Keep the file for inspection and point --state at a new path to start a fresh history; "
                + "never delete its -wal file, which may hold the last committed runs"
        case .full(let path):
            return "no space left to write state database '\(path)'; free disk space and run again: nothing committed was lost"
        case .failed(let message):
            return message
        }
    }

    static func wrap(_ error: any Error, path: String) -> StoreError {
        if let store = error as? StoreError { return store }
        if let value = error as? UnreadableValue {
            return .unreadable(path: path, reason: value.description)
        }
        if let db = error as? DatabaseError {
            switch db.resultCode {
            case .SQLITE_CORRUPT, .SQLITE_NOTADB: return .damaged(path: path, reason: db.message ?? "\(db.resultCode)")
            case .SQLITE_FULL: return .full(path: path)
            case .SQLITE_CANTOPEN, .SQLITE_PERM, .SQLITE_READONLY:
                return .cannotOpen(path: path, reason: db.message ?? "\(db.resultCode)")
            default: return .failed("state database '\(path)': \(db.message ?? "\(db.resultCode)")")
            }
        }
        return .failed("state database '\(path)': \(error)")
    }
}

/// The SQLite checkpoint store: runs, task states, attempts, outputs, in-task checkpoints, leases.
///
/// One `DatabaseQueue` (one connection) per process: all writes of a run go through it in
/// `BEGIN IMMEDIATE` transactions, so there is one writer per database.
package final class StateStore: Sendable {
    /// The folder that holds a state database's own files — `logs/`, `tmp/`, `locks/` — so that two state
    /// databases never share them: the default `.flow/state.db` owns `.flow/`; any other file, say `~/flow.db`,
    /// owns `~/flow.db.d/` beside it.
    package static func filesDirectory(of databasePath: String) -> String {
        let folder = FilePath.directory(of: databasePath)
        return databasePath.hasSuffix("/state.db") || databasePath == "state.db" ? folder : databasePath + ".d"
    }

    package let path: String
    let queue: DatabaseQueue

    /// Opens (creating and migrating) the state database at `path`.
    package init(path: String) throws(StoreError) {
        self.path = path
        do {
            try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent,
                                                    withIntermediateDirectories: true)
            var configuration = Configuration()
            configuration.busyMode = .timeout(10)
            configuration.label = "flow.state"
            configuration.prepareDatabase { db in
                // WAL set here rather than through GRDB's `journalMode = .wal`, which also makes sure a
                // non-empty WAL file exists for DatabasePool readers: after every clean close (which removes
                // the WAL) that was a throwaway CREATE/DROP transaction whose first write to a new WAL synced
                // the file and its folder, and a file-size query through Foundation that read /etc/passwd
                // and /etc/group — about a third of `flow run`'s start-up. One connection needs none of it.
                guard try String.fetchOne(db, sql: "PRAGMA journal_mode = WAL") == "wal" else {
                    throw DatabaseError(message: "could not turn on WAL mode")
                }
                // NORMAL in WAL mode: a commit survives a crash of flow; only an OS crash or power loss
                // may lose the last transactions, never corrupt the file.
                try db.execute(sql: "PRAGMA synchronous = NORMAL")
            }
            queue = try DatabaseQueue(path: path, configuration: configuration)
            switch queue.inDatabase(StateSchema.state) {
            case .current:
                break
            case .needsMigration:
                try StateSchema.migrator.migrate(queue)
            case .newer(let why):
                try? queue.close()
                throw StoreError.unreadable(path: path, reason: "it was written by a newer flow (\(why))")
            }
        } catch {
            throw StoreError.wrap(error, path: path)
        }
    }

    /// Runs `body` in one `BEGIN IMMEDIATE` transaction.
    /// The transaction is begun and ended through SQLite's C API: GRDB's `inTransaction` cost more per task
    /// transition than the commit itself (docs/PERFORMANCE.md).
    func write<T>(_ body: (Database) throws -> T) throws(StoreError) -> T {
        do {
            return try queue.writeWithoutTransaction { db in
                try FastStatement(db, "BEGIN IMMEDIATE").run()
                do {
                    let result = try body(db)
                    try FastStatement(db, "COMMIT").run()
                    return result
                } catch {
                    // Some failures (a full disk, an I/O error) have rolled the transaction back already.
                    if db.isInsideTransaction { try? FastStatement(db, "ROLLBACK").run() }
                    throw error
                }
            }
        } catch {
            throw StoreError.wrap(error, path: path)
        }
    }

    func read<T>(_ body: (Database) throws -> T) throws(StoreError) -> T {
        do {
            return try queue.read(body)
        } catch {
            throw StoreError.wrap(error, path: path)
        }
    }

    /// `PRAGMA quick_check`: "ok", or what SQLite found wrong.
    package func quickCheck() throws(StoreError) -> String {
        try read { db in try String.fetchAll(db, sql: "PRAGMA quick_check").joined(separator: "; ") }
    }

    static func now() -> Double { Date().timeIntervalSince1970 }
}
