import FlowCore

/// A task's `matrix:` as written: its axes in file order, and GitHub Actions' `include`/`exclude`.
struct MatrixSpec {
    var axes: [(name: String, values: [String])] = []
    var include: [[(name: String, value: String)]] = []
    var exclude: [[(name: String, value: String)]] = []
    var location: SourceLocation

    /// Every name an instance can have a value for: the axes, then names only `include` adds.
    var names: [String] {
        var names = axes.map(\.name)
        for entry in include { for (name, _) in entry where !names.contains(name) { names.append(name) } }
        return names
    }
}

extension WorkflowBuilder {
    /// The most instances one matrix may have.
    static let maxMatrixInstances = 10_000

    mutating func parseMatrix(_ node: YAMLNode, of id: TaskID) -> MatrixSpec? {
        guard case .mapping(let pairs, let location) = node else {
            error(node.location, "'matrix' of task '\(id)' must be a mapping of names to lists of values, not \(node.typeName)",
                  notes: ["for example:", "  matrix:", "    symbol: [MGC, GC]"])
            return nil
        }
        var spec = MatrixSpec(location: location)
        for (key, value) in pairs {
            guard let name = key.scalarText else {
                error(key.location, "a matrix name must be a plain name, not \(key.typeName)")
                continue
            }
            switch name {
            case "include", "exclude":
                guard case .sequence(let items, _) = value else {
                    error(value.location, "'\(name)' in the matrix of task '\(id)' must be a list of mappings, not \(value.typeName)",
                          notes: ["for example:", "  \(name):", "    - { symbol: GC, tf: 1h }"])
                    continue
                }
                var entries: [[(name: String, value: String)]] = []
                for item in items {
                    guard case .mapping(let fields, _) = item, !fields.isEmpty else {
                        error(item.location, "each '\(name)' entry must be a mapping of matrix names to values, not \(item.typeName)")
                        continue
                    }
                    var entry: [(name: String, value: String)] = []
                    for (k, v) in fields {
                        guard let n = k.scalarText, WorkflowBuilder.isIdentifier(n) else {
                            error(k.location, "invalid matrix name '\(k.scalarText ?? k.typeName)'")
                            continue
                        }
                        if let text = matrixValue(v, of: id) { entry.append((n, text)) }
                    }
                    entries.append(entry)
                }
                if name == "include" { spec.include = entries } else { spec.exclude = entries }
            default:
                guard WorkflowBuilder.isIdentifier(name) else {
                    error(key.location, "invalid matrix name '\(name)'", notes: ["use letters, digits and '_', starting with a letter or '_'"])
                    continue
                }
                guard case .sequence(let items, let listLocation) = value else {
                    error(value.location, "matrix '\(name)' of task '\(id)' must be a list of values, not \(value.typeName)",
                          notes: ["for example: \(name): [a, b]"])
                    continue
                }
                if items.isEmpty {
                    error(listLocation, "matrix '\(name)' of task '\(id)' is empty", notes: ["give it at least one value, or remove it"])
                    continue
                }
                var values: [String] = []
                for item in items {
                    guard let text = matrixValue(item, of: id) else { continue }
                    if values.contains(text) {
                        error(item.location, "matrix '\(name)' of task '\(id)' lists '\(text)' twice")
                        continue
                    }
                    values.append(text)
                }
                spec.axes.append((name, values))
            }
        }
        if spec.axes.isEmpty && spec.include.isEmpty {
            // With keys, each has had its own diagnostic.
            if pairs.isEmpty { error(location, "the matrix of task '\(id)' is empty", notes: ["give it at least one name with a list of values"]) }
            return nil
        }
        return spec
    }

    /// A scalar that can be part of an instance id and a log file's name.
    private mutating func matrixValue(_ node: YAMLNode, of id: TaskID) -> String? {
        guard case .scalar = node, let text = string(node, key: "matrix value") else { return nil }
        guard WorkflowBuilder.isInstanceValue(text), !text.contains("${{") else {
            error(node.location, "matrix value '\(String(text.prefix(64)))' of task '\(id)' cannot name an instance",
                  notes: ["matrix values are 1 to 64 characters without '/', ',', '=', '[', ']', '\\', control characters or ${{ }}"])
            return nil
        }
        return text
    }

    /// 1 to 64 characters without '/', ',', '=', '[', ']', '\\' or control characters: safe in ids and file names.
    static func isInstanceValue(_ text: String) -> Bool {
        let forbidden: Set<Character> = ["/", ",", "=", "[", "]", "\\"]
        return !text.isEmpty && text.count <= 64 && !text.contains(where: { forbidden.contains($0) || $0.isNewline })
            && !text.unicodeScalars.contains(where: { $0.properties.generalCategory == .control })
    }

    /// The instances' values, GitHub Actions' way: every combination of the axes, less those an `exclude`
    /// entry matches; then each `include` entry extends every combination whose axis values it agrees with,
    /// or is a combination of its own when it agrees with none. Nil (with a diagnostic) past the limit.
    mutating func combinations(_ spec: MatrixSpec, of id: TaskID) -> [[(name: String, value: String)]]? {
        var product = 1
        for axis in spec.axes {
            let (next, overflow) = product.multipliedReportingOverflow(by: axis.values.count)
            guard !overflow, next <= 10 * WorkflowBuilder.maxMatrixInstances else {
                error(spec.location, "the matrix of task '\(id)' has more than \(WorkflowBuilder.maxMatrixInstances) instances",
                      notes: ["at most \(WorkflowBuilder.maxMatrixInstances) instances per matrix; split the task or use fewer values"])
                return nil
            }
            product = next
        }
        var combos: [[(name: String, value: String)]] = spec.axes.isEmpty ? [] : [[]]
        for axis in spec.axes {
            combos = combos.flatMap { combo in axis.values.map { combo + [(axis.name, $0)] } }
        }
        combos.removeAll { combo in
            spec.exclude.contains { entry in entry.allSatisfy { pair in combo.contains { $0.name == pair.name && $0.value == pair.value } } }
        }
        let axisNames = Set(spec.axes.map(\.name))
        let original = combos.count
        for entry in spec.include {
            var matched = false
            for index in 0..<original {
                let agrees = entry.allSatisfy { pair in
                    !axisNames.contains(pair.name) || combos[index].contains { $0.name == pair.name && $0.value == pair.value }
                }
                guard agrees else { continue }
                matched = true
                for pair in entry where !axisNames.contains(pair.name) {
                    if let at = combos[index].firstIndex(where: { $0.name == pair.name }) { combos[index][at].value = pair.value } else {
                        combos[index].append(pair)
                    }
                }
            }
            if !matched { combos.append(entry) }
        }
        if combos.isEmpty {
            error(spec.location, "the matrix of task '\(id)' has no instances left", notes: ["'exclude' removes every combination"])
            return nil
        }
        guard combos.count <= WorkflowBuilder.maxMatrixInstances else {
            error(spec.location, "the matrix of task '\(id)' has \(combos.count) instances, more than \(WorkflowBuilder.maxMatrixInstances)",
                  notes: ["at most \(WorkflowBuilder.maxMatrixInstances) instances per matrix; split the task or use fewer values"])
            return nil
        }
        // Instance ids list values in one order: the axes', then include's own names.
        let order = spec.names
        return combos.map { combo in order.compactMap { name in combo.first { $0.name == name } } }
    }
}
