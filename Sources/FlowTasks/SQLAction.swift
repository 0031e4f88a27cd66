import FlowCore
import Foundation
import GRDB

/// `uses: sql`: runs SQL statements against a SQLite file in one `BEGIN IMMEDIATE` transaction.
///
/// Outputs `changes` (rows changed in all) and, when a statement returns rows, `rows` (how many the
/// last such statement returned) plus the columns of its first row as outputs by column name.
package struct SQLAction: Action {
    package init() {}

    package var signature: ActionSignature {
        ActionSignature(name: "sql", summary: "runs SQL statements against a SQLite database in one transaction", inputs: [
            ActionInput("db", required: true, "path of the SQLite file (created if missing), relative to the working directory"),
            ActionInput("sql", required: true, "one or more statements separated by ';'"),
        ])
    }

    package var version: String { "1" }

    package func run(_ context: TaskContext) async throws -> [String: String] {
        let path = context.resolve(try context.input("db"))
        let sql = try context.input("sql")
        var configuration = Configuration()
        configuration.busyMode = .timeout(10)
        let queue: DatabaseQueue
        do {
            queue = try DatabaseQueue(path: path, configuration: configuration)
        } catch {
            throw TaskFailure("cannot open database '\(path)': \(SQLAction.message(error))", retryable: false)
        }
        defer { try? queue.close() }
        return try await withTaskCancellationHandler {
            do {
                return try queue.writeWithoutTransaction { db in
                    var outputs: [String: String] = [:]
                    try db.inTransaction(.immediate) {
                        var lastRows: [Row]?
                        let statements = try db.allStatements(sql: sql)
                        while let statement = try statements.next() {
                            try Task.checkCancellation()
                            if statement.columnCount > 0 {
                                lastRows = try Row.fetchAll(statement)
                            } else {
                                try statement.execute()
                            }
                        }
                        outputs["changes"] = String(db.totalChangesCount)
                        if let rows = lastRows {
                            outputs["rows"] = String(rows.count)
                            if let first = rows.first {
                                for column in first.columnNames where KeyValueParser.isKey(column) {
                                    let value: DatabaseValue = first[column]
                                    outputs[column] = value.isNull ? "" : (String.fromDatabaseValue(value) ?? "\(value)")
                                }
                            }
                        }
                        return .commit
                    }
                    context.log.write("sql: \(outputs["changes"] ?? "0") change(s) committed to \(path)")
                    return outputs
                }
            } catch is CancellationError {
                throw CancellationError()
            } catch let error as DatabaseError where error.resultCode == .SQLITE_INTERRUPT {
                throw CancellationError()
            } catch let error as DatabaseError {
                let retryable = error.resultCode == .SQLITE_BUSY || error.resultCode == .SQLITE_LOCKED
                throw TaskFailure("SQL failed on '\(path)': \(SQLAction.message(error)); nothing was committed", retryable: retryable)
            }
        } onCancel: {
            queue.interrupt()
        }
    }


    static func message(_ error: any Error) -> String {
        if let db = error as? DatabaseError { return db.message ?? "\(db.resultCode)" }
        return "\(error)"
    }
}
