import FlowCore
import Foundation
import GRDB

/// A value in the state database that flow cannot read: NULL where a value belongs, the wrong type, a status
/// word this flow does not know (a newer flow's), JSON that does not parse.
///
/// The policy, for every read of stored data: such a value is never guessed at — no `[:]` for params that do
/// not parse, no `failed` for an unknown status — and never traps (GRDB's `row["col"]` is `try!` inside). The
/// read fails with this error, which names the table, the row and the column; commands exit 70 and change
/// nothing, and the message says how to go on (a fresh `--state`, or the flow that wrote it).
struct UnreadableValue: Error, CustomStringConvertible {
    var table: String
    var column: String
    var row: String
    var problem: String

    var description: String { "\(table).\(column) of \(row) \(problem)" }
}

/// Throwing, naming decoding of one stored row.
struct StoredRow {
    let row: Row
    let table: String
    /// How the row is named in errors, e.g. "run 7".
    let name: String

    init(_ row: Row, table: String, name: (Row) -> String = { _ in "a row" }) {
        self.row = row
        self.table = table
        self.name = name(row)
    }

    func value<T: DatabaseValueConvertible>(_ column: String, as type: T.Type = T.self) throws -> T {
        guard let value = try optional(column, as: T.self) else { throw unreadable(column, "is NULL") }
        return value
    }

    func optional<T: DatabaseValueConvertible>(_ column: String, as type: T.Type = T.self) throws -> T? {
        guard row.hasColumn(column) else { throw unreadable(column, "is missing") }
        let raw: DatabaseValue = row[column] as DatabaseValue
        if raw.isNull { return nil }
        guard let value = T.fromDatabaseValue(raw) else { throw unreadable(column, "holds \(raw), not a \(T.self)") }
        return value
    }

    func status<S: RawRepresentable>(_ column: String, as type: S.Type) throws -> S where S.RawValue == String {
        let text: String = try value(column)
        guard let status = S(rawValue: text) else {
            throw unreadable(column, "is '\(text.prefix(40))', a status this flow does not know (written by a newer flow?)")
        }
        return status
    }

    /// `status`, or nil where the column is NULL (a LEFT JOIN that found nothing).
    func optionalStatus<S: RawRepresentable>(_ column: String, as type: S.Type) throws -> S? where S.RawValue == String {
        guard let _: String = try optional(column) else { return nil }
        return try status(column, as: type)
    }

    func int32(_ column: String) throws -> Int32? {
        guard let wide: Int64 = try optional(column) else { return nil }
        guard let narrow = Int32(exactly: wide) else { throw unreadable(column, "is \(wide), out of range") }
        return narrow
    }

    func date(_ column: String) throws -> Date? {
        try optional(column, as: Double.self).map(Date.init(timeIntervalSince1970:))
    }

    /// A `{"key": "value"}` object.
    func json(_ column: String) throws -> [String: String] {
        let text: String = try value(column)
        guard let object = try? JSONDecoder().decode([String: String].self, from: Data(text.utf8)) else {
            throw unreadable(column, "is not a JSON object of strings")
        }
        return object
    }

    func unreadable(_ column: String, _ problem: String) -> UnreadableValue {
        UnreadableValue(table: table, column: column, row: name, problem: problem)
    }
}

extension Double {
    /// Seconds since 1970 as a date.
    var date: Date { Date(timeIntervalSince1970: self) }
}
