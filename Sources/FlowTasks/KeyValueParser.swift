/// Parses `$FLOW_OUTPUT` / `$FLOW_CHECKPOINT` text: `key=value` lines and `key<<DELIM` ... `DELIM` blocks,
/// as GitHub Actions' `$GITHUB_OUTPUT`. Fed incrementally: only complete entries come out.
package struct KeyValueParser: Sendable {
    package struct Malformed: Error, Equatable, Sendable {
        package var line: Int
        package var text: String
    }

    private var pending: [UInt8] = []
    private var lineNumber = 0
    private var block: (key: String, delimiter: String, lines: [String])?
    package private(set) var errors: [Malformed] = []

    package init() {}

    /// Parses a whole text at once; malformed lines are collected in `errors`.
    package static func parse(_ text: String) -> (values: [(String, String)], errors: [Malformed]) {
        var parser = KeyValueParser()
        var values = parser.feed(Array(text.utf8))
        values += parser.finish()
        return (values, parser.errors)
    }

    /// Adds bytes; returns the entries completed by them, in order.
    package mutating func feed(_ bytes: [UInt8]) -> [(String, String)] {
        pending.append(contentsOf: bytes)
        var out: [(String, String)] = []
        var start = 0
        while let newline = pending[start...].firstIndex(of: UInt8(ascii: "\n")) {
            var line = String(decoding: pending[start..<newline], as: UTF8.self)
            if line.hasSuffix("\r") { line.removeLast() }
            start = newline + 1
            lineNumber += 1
            if let entry = consume(line) { out.append(entry) }
        }
        pending.removeFirst(start)
        return out
    }

    /// Ends the input: a last line without a newline counts; an unterminated block is an error.
    package mutating func finish() -> [(String, String)] {
        var out: [(String, String)] = []
        if !pending.isEmpty {
            let line = String(decoding: pending, as: UTF8.self)
            pending.removeAll()
            lineNumber += 1
            if let entry = consume(line) { out.append(entry) }
        }
        if let open = block {
            errors.append(Malformed(line: lineNumber, text: "\(open.key)<<\(open.delimiter) is never closed by a line '\(open.delimiter)'"))
            block = nil
        }
        return out
    }

    private mutating func consume(_ line: String) -> (String, String)? {
        if var open = block {
            if line == open.delimiter {
                block = nil
                return (open.key, open.lines.joined(separator: "\n"))
            }
            open.lines.append(line)
            block = open
            return nil
        }
        if line.isEmpty { return nil }
        let eq = line.firstIndex(of: "=")
        let heredoc = line.range(of: "<<")
        if let heredoc, eq.map({ heredoc.lowerBound < $0 }) ?? true {
            let key = String(line[..<heredoc.lowerBound])
            let delimiter = String(line[heredoc.upperBound...])
            guard KeyValueParser.isKey(key), !delimiter.isEmpty else {
                errors.append(Malformed(line: lineNumber, text: line))
                return nil
            }
            block = (key, delimiter, [])
            return nil
        }
        guard let eq else {
            errors.append(Malformed(line: lineNumber, text: line))
            return nil
        }
        let key = String(line[..<eq])
        guard KeyValueParser.isKey(key) else {
            errors.append(Malformed(line: lineNumber, text: line))
            return nil
        }
        return (key, String(line[line.index(after: eq)...]))
    }

    /// Keys are identifiers so they can be read as `tasks.ID.outputs.KEY` and `FLOW_CHECKPOINT_KEY`.
    package static func isKey(_ key: String) -> Bool {
        guard let first = key.unicodeScalars.first, key.utf8.count <= 128 else { return false }
        func letter(_ s: Unicode.Scalar) -> Bool { s.isASCII && (s.properties.isAlphabetic || s == "_") }
        return letter(first) && key.unicodeScalars.allSatisfy { letter($0) || ("0"..."9").contains($0) || $0 == "-" }
    }
}
