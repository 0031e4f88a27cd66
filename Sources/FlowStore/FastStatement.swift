import GRDB
import GRDBSQLite

/// One of GRDB's cached statements, bound and stepped through SQLite's C API. Every task transition runs
/// a handful of these; through GRDB's `StatementArguments` and its transaction bookkeeping the same commit
/// cost about three times SQLite's own work (docs/PERFORMANCE.md). Errors read as GRDB reports them, so
/// `StoreError.wrap` tells a full disk or a damaged file apart the same way on either path.
struct FastStatement {
    private let db: Database
    private let statement: Statement
    /// The first binding error, reported by `run`/`text` rather than by each `bind`.
    private var failed: DatabaseError?

    init(_ db: Database, _ sql: String) throws {
        self.db = db
        statement = try db.cachedStatement(sql: sql)
        sqlite3_reset(statement.sqliteStatement)
    }

    mutating func bind(_ index: Int32, _ value: Int64?) {
        guard let value else { return bindNull(index) }
        check(sqlite3_bind_int64(statement.sqliteStatement, index, value))
    }

    mutating func bind(_ index: Int32, _ value: Int) {
        bind(index, Int64(value))
    }

    mutating func bind(_ index: Int32, _ value: Double?) {
        guard let value else { return bindNull(index) }
        check(sqlite3_bind_double(statement.sqliteStatement, index, value))
    }

    mutating func bind(_ index: Int32, _ value: Bool) {
        check(sqlite3_bind_int(statement.sqliteStatement, index, value ? 1 : 0))
    }

    mutating func bind(_ index: Int32, _ value: String?) {
        guard let value else { return bindNull(index) }
        let handle = statement.sqliteStatement
        check(value.withCString { sqlite3_bind_text(handle, index, $0, -1, transient) })
    }

    private mutating func bindNull(_ index: Int32) {
        check(sqlite3_bind_null(statement.sqliteStatement, index))
    }

    private mutating func check(_ code: Int32) {
        if code != SQLITE_OK, failed == nil { failed = error(code) }
    }

    /// Steps a statement that returns no rows.
    func run() throws {
        if let failed { throw failed }
        let handle = statement.sqliteStatement
        let code = sqlite3_step(handle)
        // The message is read before the reset, which may overwrite it.
        let failure = code == SQLITE_DONE ? nil : error(code)
        sqlite3_reset(handle)
        if let failure { throw failure }
    }

    /// The first column of the first row as text, or nil when there is no row or the value is NULL.
    func text() throws -> String? {
        if let failed { throw failed }
        let handle = statement.sqliteStatement
        defer { sqlite3_reset(handle) }
        switch sqlite3_step(handle) {
        case SQLITE_ROW:
            return sqlite3_column_text(handle, 0).map { String(cString: $0) }
        case SQLITE_DONE:
            return nil
        case let code:
            throw error(code)
        }
    }

    /// Calls `body` for each row of a query; read its columns with `string(at:)`, `int64(at:)`, `double(at:)`.
    func forEachRow(_ body: (FastStatement) throws -> Void) throws {
        if let failed { throw failed }
        let handle = statement.sqliteStatement
        defer { sqlite3_reset(handle) }
        while true {
            switch sqlite3_step(handle) {
            case SQLITE_ROW: try body(self)
            case SQLITE_DONE: return
            case let code: throw error(code)
            }
        }
    }

    func string(at column: Int32) -> String? {
        sqlite3_column_text(statement.sqliteStatement, column).map { String(cString: $0) }
    }

    func int64(at column: Int32) -> Int64? {
        let handle = statement.sqliteStatement
        return sqlite3_column_type(handle, column) == SQLITE_NULL ? nil : sqlite3_column_int64(handle, column)
    }

    /// Whether the column holds a number or NULL, as a time or a count must (text there is damage, not zero).
    func isNumberOrNull(at column: Int32) -> Bool {
        let type = sqlite3_column_type(statement.sqliteStatement, column)
        return type == SQLITE_INTEGER || type == SQLITE_FLOAT || type == SQLITE_NULL
    }

    func double(at column: Int32) -> Double? {
        let handle = statement.sqliteStatement
        return sqlite3_column_type(handle, column) == SQLITE_NULL ? nil : sqlite3_column_double(handle, column)
    }

    private func error(_ code: Int32) -> DatabaseError {
        guard let connection = db.sqliteConnection else { return DatabaseError(resultCode: ResultCode(rawValue: code), sql: statement.sql) }
        return DatabaseError(resultCode: ResultCode(rawValue: sqlite3_extended_errcode(connection)),
                             message: String(cString: sqlite3_errmsg(connection)), sql: statement.sql)
    }
}

/// SQLite copies bound text at once (the C API's SQLITE_TRANSIENT, a macro Swift does not import).
private let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)
