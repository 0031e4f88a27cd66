import Foundation

/// Prints `--json` documents: stable keys (snake_case, sorted), a `version` for the schema.
enum JSONDocument {
    static let version = 1

    static func print<T: Encodable>(_ value: T) throws(CommandFailure) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.dateEncodingStrategy = .iso8601
        do {
            Console.out(String(decoding: try encoder.encode(value), as: UTF8.self))
        } catch {
            throw CommandFailure(.internalError, "flow: cannot encode JSON: \(error)")
        }
    }
}
