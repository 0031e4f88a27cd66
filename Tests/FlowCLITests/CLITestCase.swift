import Foundation
import FlowTestSupport

/// A project folder with a `workflows/` folder, run through the real `flow` binary.
final class Project: @unchecked Sendable {
    let dir = TemporaryDirectory("flow-e2e")
    var root: String { dir.path }

    func workflow(_ name: String, _ text: String) throws {
        try dir.write("workflows/\(name).yaml", text)
    }

    @discardableResult
    func flow(_ arguments: String..., env: [String: String] = [:]) async throws -> FlowBinary.Result {
        try await FlowBinary.run(arguments, in: root, environment: env)
    }

    func flow(arguments: [String], env: [String: String] = [:]) async throws -> FlowBinary.Result {
        try await FlowBinary.run(arguments, in: root, environment: env)
    }

    func start(_ arguments: String..., env: [String: String] = [:]) throws -> FlowBinary.Running {
        try FlowBinary.start(arguments, in: root, environment: env)
    }

    func start(arguments: [String], env: [String: String] = [:]) throws -> FlowBinary.Running {
        try FlowBinary.start(arguments, in: root, environment: env)
    }

    func lines(_ file: String) -> [String] { dir.lines(file) }

    /// The lines of a run's piped output without the timestamp each starts with.
    static func unstamped(_ output: String) -> [String] {
        output.split(separator: "\n").map { line in
            let text = String(line)
            guard let range = text.range(of: #"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d "#, options: .regularExpression) else { return text }
            return String(text[range.upperBound...])
        }
    }

    /// A project holding the shipped `daily-update` workflow, its retry delay shortened so fault tests stay fast.
    static func dailyUpdate(retryDelay: String = "100ms") throws -> Project {
        let p = Project()
        let text = try String(contentsOfFile: Repository.root + "/workflows/daily-update.yaml", encoding: .utf8)
        try p.workflow("daily-update", text.replacingOccurrences(of: "retry_delay: 10s", with: "retry_delay: \(retryDelay)"))
        return p
    }

    /// Runs sqlite3-free queries through `flow status --json`.
    func statusJSON(_ workflow: String) async throws -> [String: Any] {
        let result = try await flow("status", workflow, "--json")
        guard let object = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any] else { return [:] }
        return object
    }

    func taskStatuses(_ workflow: String) async throws -> [String: String] {
        let doc = try await statusJSON(workflow)
        var out: [String: String] = [:]
        for task in doc["tasks"] as? [[String: Any]] ?? [] {
            if let id = task["id"] as? String, let status = task["status"] as? String { out[id] = status }
        }
        return out
    }
}

import GRDB

/// Every row of the market tables, rendered with column names and typed values, in key order:
/// equal snapshots mean identical databases.
enum MarketSnapshot {
    /// `PRAGMA integrity_check` of any SQLite file: "ok", or what SQLite found.
    static func integrity(_ path: String) async throws -> String? {
        try await blocking {
            let queue = try DatabaseQueue(path: path)
            defer { try? queue.close() }
            return try queue.read { try String.fetchOne($0, sql: "PRAGMA integrity_check") }
        }
    }

    static func take(_ path: String) async throws -> [String: [String]] {
        try await blocking {
            let queue = try DatabaseQueue(path: path)
            defer { try? queue.close() }
            return try queue.read { db in
                [
                    "bars": try Row.fetchAll(db, sql: "SELECT * FROM bars_1m ORDER BY symbol, ts_utc").map { "\($0)" },
                    "features": try Row.fetchAll(db, sql: "SELECT * FROM daily_features ORDER BY instrument, date_local").map { "\($0)" },
                ]
            }
        }
    }
}

/// Reads any SQLite file the way a user's `sqlite3` would: the first column of each row, as text.
enum SQLiteFile {
    static func rows(_ path: String, _ sql: String) async throws -> [String] {
        try await blocking {
            let queue = try DatabaseQueue(path: path)
            defer { try? queue.close() }
            return try queue.read { db in try String?.fetchAll(db, sql: sql).map { $0 ?? "NULL" } }
        }
    }
}
