/// The JSON text of small values, keys sorted so the same values always give the same text (fingerprints
/// cover it).
package enum JSONWriter {
    package indirect enum Item: Sendable, Hashable {
        case string(String)
        case object([String: Item])
        case null
    }

    package static func object(_ members: [String: Item]) -> String { text(.object(members)) }

    package static func text(_ item: Item) -> String {
        var out = ""
        write(item, into: &out)
        return out
    }

    private static func write(_ item: Item, into out: inout String) {
        switch item {
        case .null: out += "null"
        case .string(let s): quote(s, into: &out)
        case .object(let members):
            out += "{"
            for (n, key) in members.keys.sorted().enumerated() {
                if n > 0 { out += "," }
                quote(key, into: &out)
                out += ":"
                write(members[key] ?? .null, into: &out)
            }
            out += "}"
        }
    }

    package static func quote(_ s: String, into out: inout String) {
        out += "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        out += "\""
    }
}
