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

    func read() throws(YAMLLoadError) -> YAMLNode? {
        try precheckNesting()
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
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
        SourceLocation(file: file, line: mark?.line ?? 1, column: mark?.column ?? 1)
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
            let kind: YAMLNode.ScalarKind
            switch node.tag.rawValue {
            case Tag.Name.int.rawValue: kind = .int
            case Tag.Name.float.rawValue: kind = .float
            case Tag.Name.bool.rawValue: kind = .bool
            case Tag.Name.null.rawValue: kind = .null
            default: kind = .string
            }
            let style: YAMLNode.ScalarStyle
            switch scalar.style {
            case .literal, .folded: style = .block
            case .singleQuoted, .doubleQuoted: style = .quoted
            default: style = .plain
            }
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
        var flowDepth = 0
        var lineNumber = 0
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNumber += 1
            var indent = 0
            var markers = 0
            var column = 0
            var inSingle = false, inDouble = false
            var atStart = true
            var previous: Character = " "
            for ch in line {
                column += 1
                if atStart {
                    if ch == " " || ch == "\t" { indent += 1; previous = ch; continue }
                    if (ch == "-" || ch == "?") { markers += 1; previous = ch; continue }
                    atStart = false
                }
                if inSingle { if ch == "'" { inSingle = false }; previous = ch; continue }
                if inDouble { if ch == "\"" && previous != "\\" { inDouble = false }; previous = ch; continue }
                switch ch {
                case "'" where previous == " " || previous == "[" || previous == "{" || previous == ",": inSingle = true
                case "\"": inDouble = true
                case "#" where previous == " " || previous == "\t": break
                case "[", "{": flowDepth += 1
                case "]", "}": flowDepth = max(0, flowDepth - 1)
                default: break
                }
                if ch == "#" && (previous == " " || previous == "\t") { break }
                if flowDepth + markers > YAMLReader.maxDepth || indent > 4 * YAMLReader.maxDepth {
                    throw YAMLLoadError(diagnostic: .error(at: SourceLocation(file: file, line: lineNumber, column: column),
                        "nesting deeper than \(YAMLReader.maxDepth) levels"))
                }
                previous = ch
            }
            if markers + flowDepth > YAMLReader.maxDepth {
                throw YAMLLoadError(diagnostic: .error(at: SourceLocation(file: file, line: lineNumber, column: max(1, column)),
                    "nesting deeper than \(YAMLReader.maxDepth) levels"))
            }
        }
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
        for index in max(0, mark.line - 1)..<lines.count {
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
