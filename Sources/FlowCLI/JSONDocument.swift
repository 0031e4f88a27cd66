import Foundation

/// Prints `--json` documents: stable keys (snake_case, sorted), a `version` for the schema.
enum JSONDocument {
    static let version = 1

    static func print<T: Encodable>(_ value: T) throws(CommandFailure) {
        Console.out(try text(value))
    }

    /// The document as `--json` prints it; the web view's `/api/` twins are the same text.
    static func text<T: Encodable>(_ value: T) throws(CommandFailure) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.dateEncodingStrategy = .iso8601
        do {
            return String(decoding: try encoder.encode(value), as: UTF8.self)
        } catch {
            throw CommandFailure(.internalError, "flow: cannot encode JSON: \(error)")
        }
    }
}
