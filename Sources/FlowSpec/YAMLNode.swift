import FlowCore

/// A YAML node that keeps its position, converted from Yams' tree under a size bound.
indirect enum YAMLNode {
    enum ScalarKind {
        case string
        case int
        case float
        case bool
        case null

        /// Types a plain scalar by the YAML 1.2 core schema: `yes`/`no`/`on`/`off` stay strings.
        static func classify(_ text: String) -> ScalarKind {
            // Most scalars (task ids, commands, names) cannot be anything but a string from their first byte:
            // decided there, without the comparisons and copies below.
            guard let first = text.utf8.first else { return .null }
            switch first {
            case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "~"),
                 UInt8(ascii: "n"), UInt8(ascii: "N"), UInt8(ascii: "t"), UInt8(ascii: "T"), UInt8(ascii: "f"), UInt8(ascii: "F"):
                break
            default:
                return .string
            }
            switch text {
            case "", "~", "null", "Null", "NULL": return .null
            case "true", "True", "TRUE", "false", "False", "FALSE": return .bool
            default: break
            }
            let bytes = Array(text.utf8)
            var i = 0
            if i < bytes.count, bytes[i] == UInt8(ascii: "-") || bytes[i] == UInt8(ascii: "+") { i += 1 }
            let digitsStart = i
            while i < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[i]) { i += 1 }
            if i == bytes.count && i > digitsStart { return .int }
            if i > digitsStart || (i < bytes.count && bytes[i] == UInt8(ascii: ".")) {
                if Double(text) != nil, !text.lowercased().contains("n") { return .float }
            }
            switch text.lowercased() {
            case ".inf", "-.inf", "+.inf", ".nan": return .float
            default: return .string
            }
        }
    }

    enum ScalarStyle {
        case plain
        case quoted
        /// `|` or `>`: the text starts on the line after the mark.
        case block
    }

    case scalar(String, ScalarKind, ScalarStyle, SourceLocation)

    case mapping([(key: YAMLNode, value: YAMLNode)], SourceLocation)
    case sequence([YAMLNode], SourceLocation)

    var location: SourceLocation {
        switch self {
        case .scalar(_, _, _, let l), .mapping(_, let l), .sequence(_, let l): return l
        }
    }

    /// The text of a scalar, whatever its kind.
    var scalarText: String? {
        if case .scalar(let s, _, _, _) = self { return s }
        return nil
    }

    var typeName: String {
        switch self {
        case .scalar(_, .null, _, _): return "null"
        case .scalar(_, .bool, _, _): return "a boolean"
        case .scalar(_, .int, _, _), .scalar(_, .float, _, _): return "a number"
        case .scalar: return "a string"
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        }
    }
}

/// Why a YAML document could not become a node tree.
struct YAMLLoadError: Error {
    var diagnostic: Diagnostic
}

/// Parses YAML text with bounds that make hostile input fail fast: size (checked by the loader),
/// nesting depth and node count (aliases count what they expand to, so an alias bomb stops at the bound).
struct YAMLReader {
    static let maxBytes = 1 << 20
    static let maxNodes = 100_000
    static let maxDepth = 64

    var file: String
    var text: String

    init(file: String, text: String) {
        self.file = file
        self.text = text
    }

    func read() throws(YAMLLoadError) -> YAMLNode? {
        do {
            return try YAMLComposer(file: file).compose(text, maxNodes: YAMLReader.maxNodes, maxDepth: YAMLReader.maxDepth)
        } catch {
            var error = error
            // libyaml puts "unexpected end of file" on the line after the last one; show the end of the last line.
            // (Lines are counted only here: splitting every file into lines cost an eighth of loading it.)
            let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
            if error.diagnostic.location.line > lines.count {
                error.diagnostic.location = SourceLocation(file: file, line: lines.count, column: (lines.last?.count ?? 0) + 1)
            }
            throw error
        }
    }
}
