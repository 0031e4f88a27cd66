import FlowCore
import Foundation
import GRDB
import GRDBSQLite

/// `uses: sql`: runs SQL statements against a SQLite file in one `BEGIN IMMEDIATE` transaction.
///
/// Outputs `changes` (rows changed in all) and, when a statement returns rows, `rows` (how many the
/// last such statement returned) plus the columns of its first row as outputs by column name.
package struct SQLAction: InProcessAction {
    /// Read once, like the shell action's: a result column is bounded as a shell task's output value is.
    private let limit = OutputLimits.fromEnvironment().outputValue

    package init() {}

    package var signature: ActionSignature {
        ActionSignature(name: "sql", summary: "runs SQL statements against a SQLite database in one transaction", inputs: [
            ActionInput("db", required: true, "path of the SQLite file (created if missing), relative to the working directory"),
            ActionInput("sql", required: true, kind: .code(.sqlParameters(bindings: "bind")),
                        "statements separated by ';'; values as :name parameters from 'bind'"),
            ActionInput("bind", kind: .bindings, "values of the statements' :name parameters, bound, never spliced"),
        ])
    }

    package var version: String { "2" }

    package func run(_ context: TaskContext) async throws -> [String: String] {
        let path = context.resolve(try context.input("db"))
        let sql = try context.input("sql")
        let arguments = SQLAction.arguments(context.inputs)
        var configuration = Configuration()
        configuration.busyMode = .timeout(10)
        let queue: DatabaseQueue
        do {
            // As documented: a missing database is created, and so is the folder it goes in.
            try FileManager.default.createDirectory(atPath: FilePath.directory(of: path), withIntermediateDirectories: true)
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
                            try statement.setArguments(arguments.for(statement))
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
                                    let text = value.isNull ? "" : (String.fromDatabaseValue(value) ?? "\(value)")
                                    // The same bound as a shell task's outputs: a result is not a place for a blob.
                                    guard text.utf8.count <= limit else { throw SQLBindings.TooLarge(column: column, bytes: text.utf8.count) }
                                    outputs[column] = text
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
            } catch let error as SQLBindings.TooLarge {
                throw TaskFailure("output '\(error.column)' of task '\(context.task)' is \(error.bytes) bytes, over the limit of "
                                  + "\(OutputLimits.size(limit)) (FLOW_MAX_OUTPUT_VALUE); nothing was committed", retryable: false)
            } catch let error as SQLBindings.Missing where error.name == "?" {
                throw TaskFailure("SQL on '\(path)' uses a positional parameter '?'; name it (:name) and give "
                                  + "its value under 'bind:' in 'with:'; nothing was committed", retryable: false)
            } catch let error as SQLBindings.Missing {
                throw TaskFailure("SQL on '\(path)' uses parameter ':\(error.name)', which 'bind:' does not give; "
                                  + "add it under 'bind:' in 'with:'; nothing was committed", retryable: false)
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


    /// The `bind:` values, by parameter name: `bind.name` becomes `:name` (also `$name` and `@name`).
    static func arguments(_ inputs: [String: String]) -> SQLBindings {
        var values: [String: String] = [:]
        for (key, value) in inputs where key.hasPrefix("bind.") { values[String(key.dropFirst(5))] = value }
        return SQLBindings(values: values)
    }

    static func message(_ error: any Error) -> String {
        if let db = error as? DatabaseError { return db.message ?? "\(db.resultCode)" }
        return "\(error)"
    }
}

/// The values of `bind:`, handed to each statement by the parameter names it uses. Every value is bound as
/// text (SQLite compares and converts it by column affinity), so nothing in it is ever read as SQL.
struct SQLBindings: Sendable {
    struct Missing: Error { var name: String }
    struct TooLarge: Error { var column: String; var bytes: Int }

    var values: [String: String]

    func `for`(_ statement: Statement) throws -> StatementArguments {
        var named: [String: (any DatabaseValueConvertible)?] = [:]
        let count = sqlite3_bind_parameter_count(statement.sqliteStatement)
        guard count > 0 else { return StatementArguments() }
        for index in 1...count {
            // Positional `?` has no name: values come only by name, so it can never take one by accident.
            guard let raw = sqlite3_bind_parameter_name(statement.sqliteStatement, index) else { throw Missing(name: "?") }
            let name = String(String(cString: raw).dropFirst())
            guard let value = values[name] else { throw Missing(name: name) }
            named[name] = value
        }
        return StatementArguments(named)
    }
}
