import FlowCore
import Yams

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

/// Parses YAML text with bounds that make hostile input fail fast: size, nesting depth and node count
/// (aliases are counted each time they are used, so an alias bomb stops at the bound).
struct YAMLReader {
    static let maxBytes = 1 << 20
    static let maxNodes = 100_000
    static let maxDepth = 64

    var file: String
    var text: String
    /// Lines in the text and the length of the last one, for positions libyaml puts past the end.
    private let lineCount: Int
    private let lastLineLength: Int

    init(file: String, text: String) {
        self.file = file
        self.text = text
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        lineCount = lines.count
        lastLineLength = lines.last?.count ?? 0
    }

    func read() throws(YAMLLoadError) -> YAMLNode? {
        try precheckNesting()
        let root: Node?
        do {
            // The basic resolver tags every scalar as a string; `ScalarKind.classify` types plain scalars
            // without the regular expressions Yams' default resolver runs on each one (half the load time).
            root = try Yams.compose(yaml: text, .basic)
        } catch let error as YamlError {
            throw YAMLLoadError(diagnostic: diagnostic(for: error))
        } catch {
            throw YAMLLoadError(diagnostic: .error(at: SourceLocation(file: file, line: 1, column: 1), "cannot parse YAML: \(error)"))
        }
        guard let root else { return nil }
        var budget = YAMLReader.maxNodes
        return try convert(root, depth: 0, budget: &budget)
    }

    private func location(_ mark: Mark?) -> SourceLocation {
        let line = mark?.line ?? 1, column = mark?.column ?? 1
        // libyaml puts "unexpected end of file" on the line after the last one; show the end of the last line instead.
        if line > lineCount {
            return SourceLocation(file: file, line: lineCount, column: lastLineLength + 1)
        }
        return SourceLocation(file: file, line: line, column: column)
    }

    private func convert(_ node: Node, depth: Int, budget: inout Int) throws(YAMLLoadError) -> YAMLNode {
        budget -= 1
        guard budget >= 0 else {
            throw YAMLLoadError(diagnostic: .error(at: location(node.mark),
                "document is too large: more than \(YAMLReader.maxNodes) nodes after expanding aliases",
                notes: ["an alias used many times, or nested aliases, can expand a small file into a huge one"]))
        }
        guard depth <= YAMLReader.maxDepth else {
            throw YAMLLoadError(diagnostic: .error(at: location(node.mark), "nesting deeper than \(YAMLReader.maxDepth) levels"))
        }
        switch node {
        case .scalar(let scalar):
            let style: YAMLNode.ScalarStyle
            switch scalar.style {
            case .literal, .folded: style = .block
            case .singleQuoted, .doubleQuoted: style = .quoted
            default: style = .plain
            }
            let kind = style == .plain ? YAMLNode.ScalarKind.classify(scalar.string) : .string
            return .scalar(scalar.string, kind, style, location(scalar.mark))
        case .sequence(let sequence):
            var items: [YAMLNode] = []
            for item in sequence { items.append(try convert(item, depth: depth + 1, budget: &budget)) }
            return .sequence(items, location(sequence.mark))
        case .mapping(let mapping):
            var pairs: [(key: YAMLNode, value: YAMLNode)] = []
            var merged: [(key: YAMLNode, value: YAMLNode)] = []
            for (key, value) in mapping {
                if case .scalar(let k) = key, k.string == "<<", k.style == .plain {
                    // A merge key (`<<: *defaults`): its pairs apply unless the mapping sets the key itself.
                    let sources: [Node] = value.sequence.map { Array($0) } ?? [value]
                    for source in sources {
                        guard case .mapping(let m, _) = try convert(source, depth: depth + 1, budget: &budget) else {
                            throw YAMLLoadError(diagnostic: .error(at: location(source.mark), "a merge key '<<' needs a mapping or a list of mappings"))
                        }
                        for pair in m { merged.append(pair) }
                    }
                    continue
                }
                pairs.append((try convert(key, depth: depth + 1, budget: &budget), try convert(value, depth: depth + 1, budget: &budget)))
            }
            let own = Set(pairs.compactMap { $0.key.scalarText })
            var seen = Set<String>()
            for pair in merged {
                guard let k = pair.key.scalarText, !own.contains(k), seen.insert(k).inserted else { continue }
                pairs.append(pair)
            }
            return .mapping(pairs, location(mapping.mark))
        case .alias(let alias):
            throw YAMLLoadError(diagnostic: .error(at: location(alias.mark), "unresolved YAML alias"))
        }
    }

    /// Refuses deep nesting before libyaml (which recurses) sees it: each nesting level needs a column
    /// of indentation, a `- ` marker or an open bracket, so their sum bounds the depth.
    private func precheckNesting() throws(YAMLLoadError) {
        let space = UInt8(ascii: " "), tab = UInt8(ascii: "\t"), newline = UInt8(ascii: "\n")
        let dash = UInt8(ascii: "-"), question = UInt8(ascii: "?"), hash = UInt8(ascii: "#")
        let single = UInt8(ascii: "'"), double = UInt8(ascii: "\""), backslash = UInt8(ascii: "\\")
        var flowDepth = 0
        var line = 1
        var column = 0
        var indent = 0, markers = 0
        var atStart = true, inSingle = false, inDouble = false, inComment = false
        var previous = space
        func tooDeep() -> YAMLLoadError {
            YAMLLoadError(diagnostic: .error(at: SourceLocation(file: file, line: line, column: max(1, column)),
                                             "nesting deeper than \(YAMLReader.maxDepth) levels"))
        }
        // An alias used as a mapping key makes Yams hash the whole expanded node while checking for
        // duplicate keys: exponential time before any bound applies. Workflows never need one.
        var aliasAt: (line: Int, column: Int)?
        var aliasDone = true
        var questionMarker = false
        func aliasKey() -> YAMLLoadError {
            YAMLLoadError(diagnostic: .error(at: SourceLocation(file: file, line: aliasAt?.line ?? line, column: aliasAt?.column ?? column),
                                             "an alias cannot be used as a mapping key",
                                             notes: ["write the key itself; aliases may stand for values only"]))
        }
        for byte in text.utf8 {
            if let _ = aliasAt {
                // After `*name`: spaces, then a ':' that ends a key means the alias is a key.
                if !aliasDone {
                    if byte == space || byte == tab || byte == newline || byte == UInt8(ascii: ",") || byte == UInt8(ascii: "]")
                        || byte == UInt8(ascii: "}") || byte == UInt8(ascii: ":") {
                        aliasDone = true
                    }
                }
                if aliasDone {
                    if byte == UInt8(ascii: ":") { throw aliasKey() }
                    if byte != space && byte != tab { aliasAt = nil }
                }
            }
            if byte == newline {
                line += 1
                column = 0
                indent = 0
                markers = 0
                atStart = true
                inSingle = false
                inComment = false
                questionMarker = false
                previous = space
                continue
            }
            if byte & 0xC0 != 0x80 { column += 1 }
            if inComment { continue }
            if atStart {
                if byte == space || byte == tab { indent += 1; previous = byte; continue }
                if byte == dash || byte == question {
                    markers += 1
                    questionMarker = byte == question
                    previous = byte
                    continue
                }
                atStart = false
                if byte == UInt8(ascii: "*") && questionMarker { aliasAt = (line, column); throw aliasKey() }
            }
            // Alias tokens are looked for whatever this scanner thinks of quotes: its quote tracking is
            // simpler than YAML's, and missing an alias key costs an exponential stall, while a false alarm
            // costs only a quoted "*word:" in a one-line value.
            if byte == UInt8(ascii: "*"), previous == space || previous == tab || previous == UInt8(ascii: "[")
                || previous == UInt8(ascii: "{") || previous == UInt8(ascii: ",") {
                aliasAt = (line, column)
                aliasDone = false
            }
            if inSingle {
                if byte == single { inSingle = false }
            } else if inDouble {
                if byte == double && previous != backslash { inDouble = false }
            } else {
                switch byte {
                case single where previous == space || previous == UInt8(ascii: "[") || previous == UInt8(ascii: "{")
                    || previous == UInt8(ascii: ","):
                    inSingle = true
                case double: inDouble = true
                case hash where previous == space || previous == tab: inComment = true
                case UInt8(ascii: "["), UInt8(ascii: "{"): flowDepth += 1
                case UInt8(ascii: "]"), UInt8(ascii: "}"): flowDepth = max(0, flowDepth - 1)
                default: break
                }
            }
            if flowDepth + markers > YAMLReader.maxDepth || indent > 4 * YAMLReader.maxDepth { throw tooDeep() }
            previous = byte
        }
        if flowDepth + markers > YAMLReader.maxDepth { throw tooDeep() }
    }

    private func diagnostic(for error: YamlError) -> Diagnostic {
        switch error {
        case .scanner(let context, let problem, let mark, _),
             .parser(let context, let problem, let mark, _),
             .composer(let context, let problem, let mark, _):
            var notes: [String] = []
            if let context { notes.append("\(context.text) at line \(context.mark.line), column \(context.mark.column)") }
            if problem.contains("tab") { notes.append("YAML indentation must use spaces, not tabs") }
            return .error(at: location(mark), "invalid YAML: \(problem)", notes: notes)
        case .reader(let problem, let offset, _, _):
            return .error(at: locationOfByteOffset(offset ?? 0), "invalid YAML input: \(problem)")
        case .duplicatedKeysInMapping(let duplicates, let context):
            let key = duplicates.first ?? "?"
            return .error(at: locationOfDuplicate(key, after: context.mark), "duplicate key '\(key)'",
                          notes: ["each key may appear once in a mapping; the first '\(key)' is at or after line \(context.mark.line)"])
        default:
            return .error(at: SourceLocation(file: file, line: 1, column: 1), "invalid YAML: \(error)")
        }
    }

    /// Yams reports a duplicate key at the start of its mapping; find the second occurrence instead.
    private func locationOfDuplicate(_ key: String, after mark: Mark) -> SourceLocation {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        var count = 0
        let first = max(0, mark.line - 1)
        guard first < lines.count else { return location(mark) }
        for index in first..<lines.count {
            let line = lines[index]
            let indent = line.prefix { $0 == " " }.count
            if index > mark.line - 1, indent < mark.column - 1, !line.trimmingCharacters(in: .whitespaces).isEmpty { break }
            guard indent == mark.column - 1 else { continue }
            let rest = line.dropFirst(indent)
            for candidate in [key, "\"\(key)\"", "'\(key)'"] where rest.hasPrefix(candidate + ":") {
                count += 1
                if count == 2 { return SourceLocation(file: file, line: index + 1, column: indent + 1) }
            }
        }
        return location(mark)
    }

    private func locationOfByteOffset(_ offset: Int) -> SourceLocation {
        var line = 1, column = 1
        for (i, byte) in text.utf8.enumerated() {
            if i >= offset { break }
            if byte == UInt8(ascii: "\n") { line += 1; column = 1 } else if byte & 0xC0 != 0x80 { column += 1 }
        }
        return SourceLocation(file: file, line: line, column: column)
    }
}

import Foundation
