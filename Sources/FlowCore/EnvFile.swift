/// The `env_file:` format: one `NAME=value` a line, as systemd's `EnvironmentFile=` and a shell's `set -a; .`
/// read the same text when values avoid `$`, backquotes and backslashes.
///
/// - Blank lines and lines starting with `#` are skipped; `export ` before the name is allowed.
/// - A value in single quotes is taken as written; in double quotes, `\"`, `\\`, `\$` and `\n` are escapes.
/// - An unquoted value is the rest of the line without surrounding blanks (a `#` in it is kept).
/// - Nothing is expanded: `$HOME` is five characters. A later line for the same name wins.
package enum EnvFile {
    package struct Failure: Error, Sendable, CustomStringConvertible {
        package var line: Int
        package var message: String
        package var description: String { "line \(line): \(message)" }
    }

    package static func parse(_ text: String) throws(Failure) -> [String: String] {
        var values: [String: String] = [:]
        for (offset, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let number = offset + 1
            var line = Substring(raw.hasSuffix("\r") ? raw.dropLast() : raw)
            line = line.drop { $0 == " " || $0 == "\t" }
            if line.isEmpty || line.hasPrefix("#") { continue }
            if line.hasPrefix("export ") { line = line.dropFirst(7).drop { $0 == " " } }
            guard let equals = line.firstIndex(of: "=") else {
                throw Failure(line: number, message: "expected NAME=value, found no '='")
            }
            let name = String(line[..<equals]).trimmingBlanks
            guard isName(name) else {
                throw Failure(line: number, message: "'\(name.prefix(40))' is not a variable name (letters, digits and '_', not starting with a digit)")
            }
            values[name] = try value(String(line[line.index(after: equals)...]).trimmingBlanks, line: number)
        }
        return values
    }

    private static func value(_ text: String, line: Int) throws(Failure) -> String {
        guard let quote = text.first, quote == "'" || quote == "\"" else { return text }
        guard text.count >= 2, text.last == quote else {
            throw Failure(line: line, message: "the value opens a \(quote == "'" ? "single" : "double") quote it does not close on this line")
        }
        let inner = text.dropFirst().dropLast()
        if quote == "'" {
            guard !inner.contains("'") else { throw Failure(line: line, message: "a single-quoted value cannot contain a single quote") }
            return String(inner)
        }
        var out = ""
        var escaped = false
        for character in inner {
            if escaped {
                switch character {
                case "n": out.append("\n")
                case "\"", "\\", "$": out.append(character)
                default: throw Failure(line: line, message: "unknown escape '\\\(character)' (known: \\\" \\\\ \\$ \\n)")
                }
                escaped = false
            } else if character == "\\" {
                escaped = true
            } else if character == "\"" {
                throw Failure(line: line, message: "a double quote inside a double-quoted value must be written \\\"")
            } else {
                out.append(character)
            }
        }
        return out
    }

    package static func isName(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, !("0"..."9").contains(first) else { return false }
        return name.unicodeScalars.allSatisfy { $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "_") }
    }
}
