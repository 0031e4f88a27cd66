import FlowCore
import Foundation
import GRDB
#if canImport(Glibc)
import Glibc
#endif

/// `sqlite.health-check`: creates the database if missing, checks its integrity, turns WAL on,
/// checks the schema version and free disk space, and optionally writes a consistent backup.
///
/// It never deletes, moves or truncates the database, its `-wal` or its `-shm` file: deleting a WAL
/// throws away committed transactions, and an integrity check cannot even see that loss.
package struct HealthCheckAction: InProcessAction {
    package init() {}

    package var signature: ActionSignature {
        ActionSignature(name: "sqlite.health-check", summary: "checks a SQLite database and optionally backs it up", inputs: [
            ActionInput("db", required: true, "database path (created if missing)"),
            ActionInput("full", "true for PRAGMA integrity_check instead of quick_check"),
            ActionInput("backup", "true to write a consistent copy (VACUUM INTO)"),
            ActionInput("backup_dir", "where backups go (default: backups/ beside the database)"),
            ActionInput("keep_backups", "how many backups to keep (default 7)"),
            ActionInput("min_free_mb", "fail when the disk has less free space (default 100)"),
            ActionInput("max_schema_version", "fail when PRAGMA user_version is newer than this"),
        ], outputs: ["created", "integrity", "journal_mode", "schema_version", "size_bytes", "free_mb", "tables", "rows_*",
                     "backup", "latest_backup"])
    }

    package var version: String { "1" }

    package func run(_ context: TaskContext) async throws -> [String: String] {
        let raw = try context.input("db")
        let path = context.resolve(raw)
        let fm = FileManager.default
        let created = !fm.fileExists(atPath: path)
        let folder = (path as NSString).deletingLastPathComponent
        do {
            try fm.createDirectory(atPath: folder, withIntermediateDirectories: true)
        } catch {
            // Foundation's text names the first folder it could not make: part of the path, which a secret in
            // it would then show unmasked. The whole path and the system's reason say it all.
            let code = ((error as? CocoaError)?.underlying as? POSIXError)?.code.rawValue
            throw TaskFailure("cannot create the folder of database '\(path)': \(code.map { String(cString: strerror($0)) } ?? "cannot create a folder")",
                              retryable: false)
        }
        let backupDir = context.inputs["backup_dir"].flatMap { $0.isEmpty ? nil : $0 }
            .map(context.resolve)
            ?? ((path as NSString).deletingLastPathComponent as NSString).appendingPathComponent("backups")
        let stem = ((path as NSString).lastPathComponent as NSString).deletingPathExtension
        HealthCheckAction.removeAbandonedPartials(in: backupDir, stem: stem, log: context.log)
        let latestBackup = HealthCheckAction.backups(in: backupDir, stem: stem).last

        var configuration = Configuration()
        configuration.busyMode = .timeout(10)
        var outputs: [String: String] = ["created": created ? "true" : "false", "latest_backup": latestBackup ?? ""]
        let queue: DatabaseQueue
        do {
            queue = try DatabaseQueue(path: path, configuration: configuration)
        } catch {
            throw damaged(path, problems: [HealthCheckAction.message(error)], backup: latestBackup)
        }
        defer { try? queue.close() }

        let full = ["true", "1", "yes"].contains((context.inputs["full"] ?? "").lowercased())
        let problems: [String]
        do {
            problems = try await queue.read { db in try String.fetchAll(db, sql: full ? "PRAGMA integrity_check(20)" : "PRAGMA quick_check(20)") }
        } catch {
            throw damaged(path, problems: [HealthCheckAction.message(error)], backup: latestBackup)
        }
        guard problems == ["ok"] else { throw damaged(path, problems: problems, backup: latestBackup) }
        outputs["integrity"] = "ok"

        let facts = try await queue.writeWithoutTransaction { db -> (String, Int, [(String, Int)]) in
            var mode = try String.fetchOne(db, sql: "PRAGMA journal_mode") ?? "?"
            if mode.lowercased() != "wal" { mode = try String.fetchOne(db, sql: "PRAGMA journal_mode = WAL") ?? mode }
            let version = try Int.fetchOne(db, sql: "PRAGMA user_version") ?? 0
            var counts: [(String, Int)] = []
            for table in try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name") {
                let quoted = "\"" + table.replacingOccurrences(of: "\"", with: "\"\"") + "\""
                counts.append((table, try Int.fetchOne(db, sql: "SELECT count(*) FROM \(quoted)") ?? 0))
            }
            return (mode, version, counts)
        }
        outputs["journal_mode"] = facts.0
        outputs["schema_version"] = String(facts.1)
        outputs["tables"] = facts.2.map(\.0).joined(separator: ",")
        for (table, count) in facts.2 where KeyValueParser.isKey("rows_" + table) { outputs["rows_" + table] = String(count) }
        if let maxText = context.inputs["max_schema_version"], !maxText.isEmpty, let maxVersion = Int(maxText), facts.1 > maxVersion {
            throw TaskFailure("'\(path)' has schema version \(facts.1), newer than this flow knows (\(maxVersion)); upgrade flow before running it",
                              retryable: false)
        }
        let size = [path, path + "-wal"].compactMap { (try? fm.attributesOfItem(atPath: $0))?[.size] as? NSNumber }.reduce(0) { $0 + $1.int64Value }
        outputs["size_bytes"] = String(size)

        let freeMB = HealthCheckAction.freeMegabytes(at: (path as NSString).deletingLastPathComponent)
        outputs["free_mb"] = freeMB.map(String.init) ?? ""
        let minFree = Int64(context.inputs["min_free_mb"] ?? "") ?? 100
        if let freeMB, freeMB < minFree {
            throw TaskFailure("only \(freeMB) MB free on the disk of '\(path)' (min_free_mb is \(minFree)); free space before loading more data",
                              retryable: false)
        }

        outputs["backup"] = ""
        if ["true", "1", "yes"].contains((context.inputs["backup"] ?? "").lowercased()) {
            let keep = max(1, Int(context.inputs["keep_backups"] ?? "") ?? 7)
            let target = try HealthCheckAction.backup(queue, to: backupDir, stem: stem, now: context.now, keep: keep)
            outputs["backup"] = target
            outputs["latest_backup"] = target
            context.log.write("backup written to \(target)")
        }
        context.log.write("\(path): integrity ok, journal \(facts.0), schema \(facts.1), \(size) bytes, "
                          + facts.2.map { "\($0.0)=\($0.1)" }.joined(separator: " "))
        return outputs
    }

    private func damaged(_ path: String, problems: [String], backup: String?) -> TaskFailure {
        var message = "'\(path)' failed its integrity check: \(problems.prefix(5).joined(separator: "; ")). flow changed and deleted nothing."
        if let backup {
            message += " Latest backup: \(backup). To restore, leave the damaged files where they are (the -wal file may hold the last"
                + " commits), copy the backup to a new file (cp '\(backup)' '\(path).restored') and run with -p db='\(path).restored'"
        } else {
            message += " No backup exists (enable one with 'backup: true'). Keep the database together with its -wal and -shm files;"
                + " 'sqlite3 \(path) .recover' can salvage rows into a new file"
        }
        return TaskFailure(message, retryable: false)
    }

    static func message(_ error: any Error) -> String {
        if let db = error as? DatabaseError { return db.message ?? "\(db.resultCode)" }
        return "\(error)"
    }

    static func freeMegabytes(at directory: String) -> Int64? {
        var stats = statvfs()
        guard statvfs(directory, &stats) == 0 else { return nil }
        return Int64(stats.f_bavail) * Int64(stats.f_frsize) / 1_048_576
    }

    /// This database's backups, oldest first: exactly `STEM-YYYYMMDDTHHMMSSZ.db`, so `market.db`'s are never
    /// confused with `market-demo.db`'s (whose names also start with `market-`).
    static func backups(in directory: String, stem: String) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.filter { isBackup($0, of: stem, suffix: ".db") }.sorted().map { "\(directory)/\($0)" }
    }

    static func isBackup(_ name: String, of stem: String, suffix: String) -> Bool {
        guard name.hasPrefix(stem + "-"), name.hasSuffix(suffix) else { return false }
        let stamp = Array(name.dropFirst(stem.count + 1).dropLast(suffix.count).utf8)
        guard stamp.count == 16, stamp[8] == UInt8(ascii: "T"), stamp[15] == UInt8(ascii: "Z") else { return false }
        return stamp.enumerated().allSatisfy { i, c in i == 8 || i == 15 || (c >= 48 && c <= 57) }
    }

    /// A backup interrupted by `kill -9` leaves its `.partial` file; the next health check removes it — unless a
    /// backup still being written holds its lock.
    static func removeAbandonedPartials(in directory: String, stem: String, log: any AttemptLog) {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        for name in names where isBackup(name, of: stem, suffix: ".db.partial") {
            let path = "\(directory)/\(name)"
            let fd = open(path, O_RDWR | O_CLOEXEC)
            guard fd >= 0 else { continue }
            defer { close(fd) }
            guard flock(fd, LOCK_EX | LOCK_NB) == 0 else { continue }
            if unlink(path) == 0 { log.write("removed \(path), left by a backup that did not finish") }
        }
    }

    /// `VACUUM INTO` a temporary name, then rename: a backup file is either whole or absent.
    static func backup(_ queue: DatabaseQueue, to directory: String, stem: String, now: Date, keep: Int) throws -> String {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
        let target = "\(directory)/\(stem)-\(formatter.string(from: now)).db"
        let temporary = target + ".partial"
        unlink(temporary)
        // Created empty (VACUUM INTO accepts an empty file) and locked while it is written, so that a later health
        // check can tell an abandoned partial from one in progress.
        let lock = open(temporary, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard lock >= 0, flock(lock, LOCK_EX | LOCK_NB) == 0 else {
            if lock >= 0 { close(lock) }
            throw TaskFailure("cannot create '\(temporary)': \(String(cString: strerror(errno)))", retryable: false)
        }
        defer { close(lock) }
        do {
            try queue.writeWithoutTransaction { db in try db.execute(sql: "VACUUM INTO ?", arguments: [temporary]) }
        } catch {
            unlink(temporary)
            throw TaskFailure("backup to '\(target)' failed: \(message(error))", retryable: false)
        }
        guard rename(temporary, target) == 0 else {
            throw TaskFailure("cannot move the backup into place at '\(target)': \(String(cString: strerror(errno)))", retryable: false)
        }
        for old in backups(in: directory, stem: stem).dropLast(keep) { unlink(old) }
        return target
    }
}
