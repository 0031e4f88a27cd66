import FlowCore

extension WorkflowBuilder {
    mutating func parseTasks(_ node: YAMLNode, defaults: TaskDefaults) -> [TaskSpec] {
        guard case .mapping(let pairs, let location) = node else {
            error(node.location, "'tasks' must be a mapping of task ids to tasks, not \(node.typeName)",
                  notes: node.typeName == "a list" ? ["write each task as 'ID:' followed by its keys, not as a list item"] : [])
            return []
        }
        if pairs.isEmpty { error(location, "'tasks' is empty", notes: ["a workflow needs at least one task"]) }
        var tasks: [TaskSpec] = []
        for (key, value) in pairs {
            guard case .scalar(let name, _, _, let keyLocation) = key else {
                error(key.location, "a task id must be a plain name, not \(key.typeName)")
                continue
            }
            guard TaskID.isValid(name) else {
                let lowered = name.lowercased().replacingOccurrences(of: " ", with: "-")
                let notes = ["task ids use lowercase letters, digits, '_' and '-', start with a letter, at most 64 characters"]
                    + (TaskID.isValid(lowered) ? ["did you mean '\(lowered)'?"] : [])
                error(keyLocation, "invalid task id '\(name)'", notes: notes)
                continue
            }
            if let task = parseTask(TaskID(name), value, location: keyLocation, defaults: defaults) { tasks.append(task) }
        }
        return tasks
    }

    mutating func parseTask(_ id: TaskID, _ node: YAMLNode, location: SourceLocation, defaults: TaskDefaults) -> TaskSpec? {
        guard case .mapping(let pairs, let taskLocation) = node else {
            error(node.location, "task '\(id)' must be a mapping with 'run:' or 'uses:', not \(node.typeName)")
            return nil
        }
        let fields = keyed(pairs, allowed: WorkflowBuilder.taskKeys, context: "task '\(id)'")
        var needs: [TaskID] = []
        if let n = fields["needs"] { needs = parseNeeds(n, of: id) }
        var uses = "shell"
        var with: [(name: String, value: Template)] = []
        switch (fields["run"], fields["uses"]) {
        case (let run?, nil):
            if let script = parseRun(run, of: id) { with.append(("run", script)) }
            var shell = defaults.shell
            if let node = fields["shell"], let name = shellName(node) { shell = name }
            with.append(("shell", Template(literal: shell)))
            if let w = fields["with"] {
                error(w.location, "'with' belongs to 'uses:' tasks; task '\(id)' has 'run:'",
                      notes: ["pass values to a shell task through 'env:'"])
            }
        case (nil, let usesNode?):
            uses = string(usesNode, key: "uses") ?? "?"
            if let s = fields["shell"] { error(s.location, "'shell' belongs to 'run:' tasks; task '\(id)' has 'uses:'") }
            if let w = fields["with"] { with = parseWith(w, of: id, signature: actions[uses]) }
            checkAction(uses, at: usesNode.location, with: with, withNode: fields["with"], task: id)
        case (.some, .some(let usesNode)):
            error(usesNode.location, "task '\(id)' has both 'run' and 'uses'", notes: ["a task either runs a shell command or uses an action"])
        case (nil, nil):
            error(taskLocation, "task '\(id)' needs 'run' or 'uses'", notes: ["add 'run: COMMAND' for a shell command, or 'uses: ACTION'"])
        }
        var retry = RetryPolicy(retries: defaults.retries, delay: defaults.retryDelay)
        if let n = fields["retries"], let r = integer(n, key: "retries", range: 0...100) { retry.retries = r }
        if let n = fields["retry_delay"], let d = duration(n, key: "retry_delay") { retry.delay = d }
        var timeout = defaults.timeout
        if let n = fields["timeout"] { timeout = positiveDuration(n, key: "timeout") }
        var condition: Template?
        if let n = fields["if"] { condition = parseCondition(n, of: id) }
        var workingDirectory = defaults.workingDirectory
        if let n = fields["working_directory"] { workingDirectory = template(n, key: "working_directory", owner: id) }
        var env: [(name: String, value: Template)] = []
        if let node = fields["env"] { env = parseEnv(node, owner: id) }
        var alwaysRun = false
        if let node = fields["always_run"] { alwaysRun = bool(node, key: "always_run") ?? false }
        var continueOnError = false
        if let node = fields["continue_on_error"] { continueOnError = bool(node, key: "continue_on_error") ?? false }
        if let d = fields["description"] { _ = string(d, key: "description") }
        if let node = fields["matrix"], let spec = parseMatrix(node, of: id) { pendingMatrices[id] = spec }
        var foreach: Template?
        if let node = fields["foreach"] {
            if fields["matrix"] != nil {
                error(node.location, "task '\(id)' has both 'matrix' and 'foreach'", notes: ["a task fans out one way; use one of them"])
            } else if let t = template(node, key: "foreach", owner: id) {
                if t.parts.count == 1, case .expression = t.parts[0] {
                    foreach = t
                    foreachTasks.insert(id)
                } else {
                    error(node.location, "'foreach' of task '\(id)' must be one expression giving a JSON array",
                          notes: ["for example: foreach: ${{ fromJSON(tasks.list.outputs.items) }}"])
                }
            }
        }
        if let node = fields["max_parallel"], let limit = integer(node, key: "max_parallel", range: 1...1024) {
            pendingMaxParallel[id] = (limit, node.location)
        }
        var task = TaskSpec(id: id, location: location, needs: needs, uses: uses, with: with, env: env, condition: condition,
                            retry: retry, timeout: timeout, workingDirectory: workingDirectory, alwaysRun: alwaysRun,
                            continueOnError: continueOnError)
        task.foreach = foreach
        return task
    }

    mutating func parseNeeds(_ node: YAMLNode, of id: TaskID) -> [TaskID] {
        guard case .sequence(let items, _) = node else {
            let hint = node.scalarText.map { "write a list: needs: [\($0)]" } ?? "write a list of task ids: needs: [a, b]"
            error(node.location, "'needs' must be a list of task ids, not \(node.typeName)", notes: [hint])
            return []
        }
        var out: [TaskID] = []
        var locations: [(TaskID, SourceLocation)] = []
        out.reserveCapacity(items.count)
        locations.reserveCapacity(items.count)
        // A long list is checked for repeats through a set: comparing each entry with all before it was
        // quadratic (a task needing the 50 tasks of a layer made 1,225 comparisons).
        let useSet = items.count > 8
        var seen = Set<TaskID>(minimumCapacity: useSet ? items.count : 0)
        for item in items {
            guard case .scalar(let name, .string, _, let location) = item else {
                error(item.location, "an entry of 'needs' must be a task id, not \(item.typeName)")
                continue
            }
            let need = TaskID(name)
            if useSet ? !seen.insert(need).inserted : out.contains(need) {
                error(location, "task '\(id)' lists '\(name)' in 'needs' twice")
                continue
            }
            out.append(need)
            locations.append((need, location))
        }
        needLocations[id] = locations
        return out
    }

    mutating func parseRun(_ node: YAMLNode, of id: TaskID) -> Template? {
        guard let script = string(node, key: "run") else { return nil }
        // Searched without Foundation: CharacterSet trimming and `range(of:)` cost 17,000 instructions per task.
        if script.unicodeScalars.allSatisfy(\.properties.isWhitespace) {
            error(node.location, "'run' of task '\(id)' is empty")
            return nil
        }
        guard checkCode(script, node: node, field: "'run'", of: id, values: .environment) else { return nil }
        return Template(literal: script, location: node.location)
    }

    /// Code (a shell script, SQL) never has `${{ }}` spliced into it, whichever key or action carries it: an
    /// expression there is an error whose hint shows how the value reaches the code instead. False if one is.
    mutating func checkCode(_ text: String, node: YAMLNode, field: String, of id: TaskID,
                            values: ActionInput.CodeValues) -> Bool {
        guard let byte = text.utf8Offset(of: "${{") else { return true }
        let offset = text.distance(from: text.startIndex, to: text.utf8.index(text.utf8.startIndex, offsetBy: byte))
        let first = (try? TemplateParser.parse(text))?.lazy.compactMap({ part -> FlowExpression? in
            if case .expression(let e) = part { return e }
            return nil
        }).first
        let name = first.map(WorkflowBuilder.envName(for:)) ?? "MY_VALUE"
        let shown = first.map { "${{ \($0) }}" } ?? "${{ ... }}"
        var notes: [String]
        switch values {
        case .environment:
            notes = ["values are never spliced into shell text; pass it through 'env:' and use the variable:",
                     "  env:", "    \(name): \(shown)", "  run: ... \"$\(name)\" ..."]
        case .sqlParameters(let bindings):
            let parameter = name.lowercased()
            notes = ["values are never spliced into SQL; name a parameter and bind the value:",
                     "  sql: ... WHERE name = :\(parameter)", "  \(bindings):", "    \(parameter): \(shown)"]
        }
        error(location(in: node, offset: offset), "expressions are not allowed in \(field) of task '\(id)'", notes: notes)
        return false
    }

    static func envName(for expression: FlowExpression) -> String {
        guard case .reference(let r) = expression else { return "MY_VALUE" }
        let base: String
        switch r {
        case .param(let name), .env(let name), .secret(let name): base = name
        case .taskOutput(_, let key): base = key
        case .taskOutputs(let task): base = "\(task)_outputs"
        case .instanceOutputs(let group, _, let key): base = key ?? "\(group)_outputs"
        case .matrix(let name): base = name
        case .foreach(let path): base = path.joined(separator: "_")
        case .runID: base = "run_id"
        case .runStartedAt: base = "run_started_at"
        case .runSchedule(let field): base = field.rawValue
        case .runSummary: base = "run_summary"
        case .taskStatus(let task): base = "\(task)_status"
        case .taskError(let task): base = "\(task)_error"
        case .status(let function): base = function.rawValue
        }
        let cleaned = base.uppercased().map { $0.isLetter || $0.isNumber ? $0 : "_" }
        return String(cleaned)
    }

    mutating func parseWith(_ node: YAMLNode, of id: TaskID, signature: ActionSignature?) -> [(name: String, value: Template)] {
        guard case .mapping(let pairs, _) = node else {
            error(node.location, "'with' must be a mapping of input names to values, not \(node.typeName)")
            return []
        }
        var out: [(name: String, value: Template)] = []
        for (key, value) in pairs {
            guard let name = key.scalarText else {
                error(key.location, "an input name must be a plain name, not \(key.typeName)")
                continue
            }
            let kind = signature?.inputs.first(where: { $0.name == name })?.kind ?? .value
            switch kind {
            case .value:
                if let t = template(value, key: "with.\(name)", owner: id) { out.append((name, t)) }
            case .code(let values):
                guard let text = string(value, key: "with.\(name)") else { continue }
                if checkCode(text, node: value, field: "'with.\(name)'", of: id, values: values) {
                    out.append((name, Template(literal: text, location: value.location)))
                } else {
                    out.append((name, Template(literal: "", location: value.location)))
                }
            case .bindings, .headers:
                let headers = kind == .headers
                guard case .mapping(let entries, _) = value else {
                    error(value.location, "'with.\(name)' must be a mapping of \(headers ? "header" : "parameter") names to values, not \(value.typeName)",
                          notes: ["for example:", "  \(name):", headers ? "    Authorization: Bearer ${{ env.TOKEN }}" : "    who: ${{ params.who }}"])
                    continue
                }
                out.append((name, Template(literal: "", location: value.location)))
                for (entryKey, entryValue) in entries {
                    guard let entry = entryKey.scalarText,
                          headers ? WorkflowBuilder.isHeaderName(entry) : KeyName.isValidParameter(entry) else {
                        let shown = entryKey.scalarText ?? entryKey.typeName
                        if headers {
                            error(entryKey.location, "'\(shown)' is not an HTTP header name in 'with.\(name)'",
                                  notes: ["header names use letters, digits and !#$%&'*+-.^_`|~"])
                        } else {
                            error(entryKey.location, "'\(shown)' is not a parameter name in 'with.\(name)'",
                                  notes: ["parameter names use letters, digits and '_' and start with a letter or '_'"])
                        }
                        continue
                    }
                    if let t = template(entryValue, key: "with.\(name).\(entry)", owner: id) { out.append(("\(name).\(entry)", t)) }
                }
            }
        }
        return out
    }

    /// An HTTP header name: a token of RFC 9110, at most 64 characters.
    static func isHeaderName(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.count <= 64 && name.unicodeScalars.allSatisfy { c in
            c.isASCII && (c.properties.isAlphabetic || ("0"..."9").contains(c) || "!#$%&'*+-.^_`|~".unicodeScalars.contains(c))
        }
    }

    mutating func checkAction(_ name: String, at location: SourceLocation, with: [(name: String, value: Template)],
                              withNode: YAMLNode?, task: TaskID) {
        guard let signature = actions[name] else {
            var notes: [String] = []
            if let s = Suggestion.closest(to: name, in: actions.keys) { notes.append("did you mean '\(s)'?") }
            notes.append("known actions: \(actions.keys.sorted().joined(separator: ", "))")
            error(location, "unknown action '\(name)' in task '\(task)'", notes: notes)
            return
        }
        let known = signature.inputs.map(\.name)
        let bindings = Set(signature.inputs.filter { $0.kind == .bindings || $0.kind == .headers }.map(\.name))
        var keyLocations: [String: SourceLocation] = [:]
        if case .mapping(let pairs, _)? = withNode {
            for (key, _) in pairs { if let k = key.scalarText { keyLocations[k] = key.location } }
        }
        for (input, _) in with where !known.contains(input)
            && !(input.split(separator: ".", maxSplits: 1).first.map { bindings.contains(String($0)) } ?? false) {
            var notes: [String] = []
            if let s = Suggestion.closest(to: input, in: known) { notes.append("did you mean '\(s)'?") }
            notes.append("'\(name)' accepts: \(known.joined(separator: ", "))")
            error(keyLocations[input] ?? location, "unknown input '\(input)' for action '\(name)'", notes: notes)
        }
        let given = Set(with.map(\.name))
        for input in signature.inputs where input.isRequired && !given.contains(input.name) {
            error(withNode?.location ?? location, "action '\(name)' in task '\(task)' needs input '\(input.name)'",
                  notes: ["add it under 'with:': \(input.name): ... (\(input.summary))"])
        }
    }

    mutating func parseCondition(_ node: YAMLNode, of id: TaskID) -> Template? {
        if case .scalar(let text, .bool, _, _) = node {
            return Template(parts: [.expression(.literal(.bool(text.lowercased() == "true")))],
                            location: node.location)
        }
        guard let text = string(node, key: "if") else { return nil }
        if text.contains("${{") {
            guard let t = template(node, key: "if", owner: id) else { return nil }
            // `${{ a }} == 1` is text with an expression in it, which is always true: the comparison must be inside.
            let outside = t.parts.contains { part in
                if case .text(let s) = part { return !s.unicodeScalars.allSatisfy(\.properties.isWhitespace) }
                return false
            }
            if outside {
                let inner = text.replacingOccurrences(of: "${{", with: "").replacingOccurrences(of: "}}", with: "")
                    .split(whereSeparator: { $0 == " " || $0 == "\t" }).joined(separator: " ")
                error(node.location, "'if' of task '\(id)' has text outside '${{ }}', so it is always true",
                      notes: ["put the whole condition inside one expression: if: ${{ \(inner) }}"])
                return nil
            }
            return t
        }
        // A bare expression, as GitHub Actions allows: `if: params.mode == 'full'`.
        do {
            let e = try ExpressionParser.parse(text)
            let t = Template(parts: [.expression(e)], location: node.location)
            for reference in e.references {
                references.append(PendingReference(reference: reference, location: node.location, owner: id, field: "if"))
            }
            return t
        } catch {
            self.error(location(in: node, offset: error.offset), "in 'if': \(error.message)", notes: error.note.map { [$0] } ?? [])
            return nil
        }
    }
}

import Foundation

/// Names inside `with:` mappings.
enum KeyName {
    /// A SQL parameter name: `[A-Za-z_][A-Za-z0-9_]*`, at most 64 characters.
    static func isValidParameter(_ name: String) -> Bool {
        guard let first = name.utf8.first, name.utf8.count <= 64 else { return false }
        func letter(_ c: UInt8) -> Bool { (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c == 95 }
        return letter(first) && name.utf8.allSatisfy { letter($0) || ($0 >= 48 && $0 <= 57) }
    }
}
