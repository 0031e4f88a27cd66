import CYAML
import FlowCore

/// Builds `YAMLNode`s straight from libyaml's events (the libyaml that Yams bundles).
///
/// Composing here rather than through `Yams.compose` keeps every bound in our hands: an alias costs
/// its node count without being walked, and duplicate keys are found by name — Yams hashes whole key
/// nodes, and a key that is an alias of an alias bomb took seconds to hash (found by fuzzing).
struct YAMLComposer {
    let file: String

    /// A collection being built. A struct mutated in place through `stack[top]`: rebuilding an enum payload
    /// per child copied the whole array and dictionary each time — quadratic in a mapping's size, 4 s for a
    /// 10,000-task workflow in a build where the optimizer did not elide the copies.
    private struct Frame {
        var isMapping: Bool
        var items: [YAMLNode] = []
        var pairs: [(key: YAMLNode, value: YAMLNode)] = []
        var pendingKey: YAMLNode?
        var seen: [String: SourceLocation] = [:]
        var merged: [(key: YAMLNode, value: YAMLNode)] = []
        var location: SourceLocation
        var anchor: String?
        var size = 1
    }

    func compose(_ text: String, maxNodes: Int, maxDepth: Int) throws(YAMLLoadError) -> YAMLNode? {
        var bytes = Array(text.utf8)
        if bytes.isEmpty { return nil }
        bytes.append(0)
        var parser = yaml_parser_t()
        guard yaml_parser_initialize(&parser) == 1 else { throw failure(SourceLocation(file: file, line: 1, column: 1), "cannot start the YAML parser") }
        defer { yaml_parser_delete(&parser) }
        return try bytes.withUnsafeBufferPointer { (buffer) throws(YAMLLoadError) -> YAMLNode? in
            guard let base = buffer.baseAddress else { return nil }
            yaml_parser_set_input_string(&parser, base, buffer.count - 1)
            return try run(&parser, maxNodes: maxNodes, maxDepth: maxDepth)
        }
    }

    private func failure(_ location: SourceLocation, _ message: String, notes: [String] = []) -> YAMLLoadError {
        YAMLLoadError(diagnostic: .error(at: location, message, notes: notes))
    }

    private func location(_ mark: yaml_mark_t) -> SourceLocation {
        SourceLocation(file: file, line: Int(mark.line) + 1, column: Int(mark.column) + 1)
    }

    private static func string(_ pointer: UnsafeMutablePointer<yaml_char_t>?) -> String? {
        guard let pointer else { return nil }
        return String(cString: UnsafeRawPointer(pointer).assumingMemoryBound(to: CChar.self))
    }

    private func run(_ parser: inout yaml_parser_t, maxNodes: Int, maxDepth: Int) throws(YAMLLoadError) -> YAMLNode? {
        var stack: [Frame] = []
        var anchors: [String: (node: YAMLNode, size: Int)] = [:]
        var budget = maxNodes
        var root: YAMLNode?
        var documents = 0

        func spend(_ count: Int, at where_: SourceLocation) throws(YAMLLoadError) {
            budget -= count
            if budget < 0 {
                throw failure(where_, "document is too large: more than \(maxNodes) nodes after expanding aliases",
                              notes: ["an alias used many times, or nested aliases, can expand a small file into a huge one"])
            }
        }

        /// Hands a finished node to its parent (or makes it the root).
        func attach(_ node: YAMLNode, size: Int, anchor: String?) throws(YAMLLoadError) {
            if let anchor { anchors[anchor] = (node, size) }
            guard !stack.isEmpty else {
                root = node
                return
            }
            let top = stack.count - 1
            stack[top].size += size
            guard stack[top].isMapping else {
                stack[top].items.append(node)
                return
            }
            guard let key = stack[top].pendingKey else {
                stack[top].pendingKey = node
                return
            }
            stack[top].pendingKey = nil
            if case .scalar(let name, _, .plain, _) = key, name == "<<" {
                // A merge key: its mapping(s) apply where the mapping does not set the key itself.
                let sources: [YAMLNode]
                if case .sequence(let list, _) = node { sources = list } else { sources = [node] }
                for source in sources {
                    guard case .mapping(let more, _) = source else {
                        throw failure(node.location, "a merge key '<<' needs a mapping or a list of mappings")
                    }
                    stack[top].merged.append(contentsOf: more)
                }
            } else {
                if let name = key.scalarText {
                    if let first = stack[top].seen[name] {
                        throw failure(key.location, "duplicate key '\(name)'",
                                      notes: ["the first '\(name)' is at line \(first.line), column \(first.column); each key may appear once"])
                    }
                    stack[top].seen[name] = key.location
                }
                stack[top].pairs.append((key, node))
            }
        }

        var event = yaml_event_t()
        while true {
            guard yaml_parser_parse(&parser, &event) == 1 else { throw parseError(parser) }
            defer { yaml_event_delete(&event) }
            let start = location(event.start_mark)
            switch event.type {
            case YAML_STREAM_END_EVENT:
                return root
            case YAML_DOCUMENT_START_EVENT:
                documents += 1
                if documents > 1 {
                    throw failure(start, "a workflow file holds one YAML document", notes: ["remove the second '---' and what follows it"])
                }
            case YAML_SCALAR_EVENT:
                try spend(1, at: start)
                let scalar = event.data.scalar
                let text = scalar.value.map { String(decoding: UnsafeBufferPointer(start: $0, count: Int(scalar.length)), as: UTF8.self) } ?? ""
                let style: YAMLNode.ScalarStyle
                switch scalar.style {
                case YAML_SINGLE_QUOTED_SCALAR_STYLE, YAML_DOUBLE_QUOTED_SCALAR_STYLE: style = .quoted
                case YAML_LITERAL_SCALAR_STYLE, YAML_FOLDED_SCALAR_STYLE: style = .block
                default: style = .plain
                }
                var kind = style == .plain ? YAMLNode.ScalarKind.classify(text) : .string
                if let tag = Self.string(scalar.tag) {
                    kind = tag.hasSuffix(":str") || tag == "!" ? .string : tag.hasSuffix(":int") ? .int : tag.hasSuffix(":bool") ? .bool
                        : tag.hasSuffix(":null") ? .null : tag.hasSuffix(":float") ? .float : kind
                }
                try attach(.scalar(text, kind, style, start), size: 1, anchor: Self.string(scalar.anchor))
            case YAML_ALIAS_EVENT:
                let name = Self.string(event.data.alias.anchor) ?? ""
                guard let target = anchors[name] else { throw failure(start, "unknown alias '*\(name)'", notes: ["define '&\(name)' before using it"]) }
                // An alias costs what it expands to, without walking it.
                try spend(target.size, at: start)
                try attach(target.node, size: target.size, anchor: nil)
            case YAML_SEQUENCE_START_EVENT:
                try spend(1, at: start)
                guard stack.count < maxDepth else { throw failure(start, "nesting deeper than \(maxDepth) levels") }
                stack.append(Frame(isMapping: false, location: start, anchor: Self.string(event.data.sequence_start.anchor)))
            case YAML_MAPPING_START_EVENT:
                try spend(1, at: start)
                guard stack.count < maxDepth else { throw failure(start, "nesting deeper than \(maxDepth) levels") }
                stack.append(Frame(isMapping: true, location: start, anchor: Self.string(event.data.mapping_start.anchor)))
            case YAML_SEQUENCE_END_EVENT:
                guard let frame = stack.popLast(), !frame.isMapping else { continue }
                try attach(.sequence(frame.items, frame.location), size: frame.size, anchor: frame.anchor)
            case YAML_MAPPING_END_EVENT:
                guard var frame = stack.popLast(), frame.isMapping else { continue }
                if !frame.merged.isEmpty {
                    let own = Set(frame.pairs.compactMap { $0.key.scalarText })
                    var added = Set<String>()
                    for pair in frame.merged {
                        guard let k = pair.key.scalarText, !own.contains(k), added.insert(k).inserted else { continue }
                        frame.pairs.append(pair)
                    }
                }
                try attach(.mapping(frame.pairs, frame.location), size: frame.size, anchor: frame.anchor)
            default:
                continue
            }
        }
    }

    private func parseError(_ parser: yaml_parser_t) -> YAMLLoadError {
        let problem = Self.cString(parser.problem) ?? "malformed YAML"
        var notes: [String] = []
        if let context = Self.cString(parser.context) {
            notes.append("\(context) at line \(parser.context_mark.line + 1), column \(parser.context_mark.column + 1)")
        }
        if problem.contains("tab") || problem.contains("cannot start any token") { notes.append("YAML indentation must use spaces, not tabs") }
        if parser.error == YAML_READER_ERROR {
            return failure(SourceLocation(file: file, line: 1, column: 1), "invalid YAML input: \(problem)")
        }
        return failure(location(parser.problem_mark), "invalid YAML: \(problem)", notes: notes)
    }

    private static func cString(_ pointer: UnsafePointer<CChar>?) -> String? {
        pointer.map { String(cString: $0) }
    }
}
