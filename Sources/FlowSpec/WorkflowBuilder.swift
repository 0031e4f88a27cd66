import FlowCore

/// A reference found in a template, kept with its position for the validator.
struct PendingReference {
    var reference: Reference
    var location: SourceLocation
    /// The task whose field holds it; `nil` for the workflow-level `env:`.
    var owner: TaskID?
    var field: String
}

/// Walks the YAML tree, checks keys and types, and builds the workflow model.
struct WorkflowBuilder {
    static let topKeys = ["name", "description", "params", "secrets", "env_file", "env", "defaults", "max_parallel", "schedule", "on_failure",
                          "retention", "tasks"]
    static let taskKeys = ["needs", "run", "shell", "uses", "with", "env", "if", "retries", "retry_delay",
                           "timeout", "working_directory", "always_run", "continue_on_error", "description", "matrix", "foreach", "max_parallel"]
    static let defaultKeys = ["retries", "retry_delay", "timeout", "working_directory", "shell"]

    let file: String
    let source: String
    let actions: [String: ActionSignature]
    var diagnostics: [Diagnostic] = []
    var references: [PendingReference] = []
    var needLocations: [TaskID: [(TaskID, SourceLocation)]] = [:]
    var paramNames: [String] = []
    /// Params declared `secret: true`.
    var secretParams: Set<String> = []
    /// `secrets:`, for the `env.NAME` and `secrets.NAME` checks.
    var secretNames: [String] = []
    /// Tasks' `matrix:` and `max_parallel`, expanded once every task is parsed.
    var pendingMatrices: [TaskID: MatrixSpec] = [:]
    var pendingMaxParallel: [TaskID: (limit: Int, location: SourceLocation)] = [:]
    /// Tasks with `foreach:`, and the lists a run already knows for some of them.
    var foreachTasks: Set<TaskID> = []
    var foreachItems: [TaskID: [ForeachItem]] = [:]
    /// `schedule.notify_missed`, checked once the tasks are known.
    var pendingNotifyMissed: (TaskID, SourceLocation)?

    init(file: String, source: String, actions: [String: ActionSignature]) {
        self.file = file
        self.source = source
        self.actions = actions
    }

    mutating func error(_ location: SourceLocation, _ message: String, notes: [String] = []) {
        diagnostics.append(.error(at: location, message, notes: notes))
    }

    // MARK: Top level

    mutating func build(_ root: YAMLNode?, defaultName: String) -> Workflow? {
        guard let root else {
            error(SourceLocation(file: file, line: 1, column: 1), "workflow file is empty",
                  notes: ["a workflow needs at least 'tasks:' with one task"])
            return nil
        }
        guard case .mapping(let pairs, let location) = root else {
            error(root.location, "a workflow must be a mapping with 'tasks:', not \(root.typeName)")
            return nil
        }
        let fields = keyed(pairs, allowed: WorkflowBuilder.topKeys, context: "workflow")
        // The file stem is how the workflow is named on the command line (`flow run STEM`), whatever `name:` says:
        // a stem that is not a valid name (a space, a control character) would make a workflow nobody can run.
        if !WorkflowBuilder.isValidWorkflowName(defaultName) {
            let shown = String(defaultName.unicodeScalars.prefix(64).map { $0.properties.generalCategory == .control ? "?" : Character($0) })
            error(SourceLocation(file: file, line: 1, column: 1), "the file name '\(shown)' is not a valid workflow name",
                  notes: ["rename the file: letters, digits, '.', '_' and '-', starting with a letter or digit, at most 64 characters"])
        }
        var name = defaultName
        if let node = fields["name"], let text = string(node, key: "name") {
            if WorkflowBuilder.isValidWorkflowName(text) { name = text } else {
                error(node.location, "invalid workflow name '\(text)'",
                      notes: ["use letters, digits, '.', '_' and '-', starting with a letter or digit, at most 64 characters"])
            }
        }
        let description = fields["description"].flatMap { string($0, key: "description") }
        var params: [(name: String, value: String)] = []
        if let node = fields["params"] { params = parseParams(node) }
        paramNames = params.map(\.name)
        if let node = fields["secrets"] { secretNames = parseSecrets(node) }
        let envFile = fields["env_file"].flatMap { parseEnvFile($0) }
        var env: [(name: String, value: Template)] = []
        if let node = fields["env"] { env = parseEnv(node, owner: nil) }
        var maxParallel = 4
        if let node = fields["max_parallel"], let n = integer(node, key: "max_parallel", range: 1...1024) { maxParallel = n }
        var defaults = TaskDefaults()
        if let node = fields["defaults"] { defaults = parseDefaults(node) }
        let schedule = fields["schedule"].flatMap { parseSchedule($0) }
        guard let tasksNode = fields["tasks"] else {
            error(location, "missing required key 'tasks'")
            return nil
        }
        var tasks = expandMatrices(parseTasks(tasksNode, defaults: defaults))
        if let node = fields["on_failure"] { applyOnFailure(node, to: &tasks) }
        checkNotifyMissed(tasks)
        var workflow = Workflow(name: name, description: description, path: file, params: params, env: env,
                                maxParallel: maxParallel, schedule: schedule, tasks: tasks)
        if let node = fields["retention"] { workflow.retention = parseRetention(node) }
        workflow.secrets = secretNames
        workflow.secretParams = secretParams
        workflow.envFile = envFile
        return workflow
    }

    /// `retention: { runs: 100, days: 90 }`; a key left out keeps its default, `none` lifts that limit.
    mutating func parseRetention(_ node: YAMLNode) -> Retention {
        guard case .mapping(let pairs, _) = node else {
            error(node.location, "'retention' must be a mapping, not \(node.typeName)", notes: ["for example:", "  retention: { runs: 100, days: 90 }"])
            return Retention()
        }
        let fields = keyed(pairs, allowed: ["runs", "days"], context: "'retention'")
        var retention = Retention()
        for (key, range) in [("runs", 1...10_000_000), ("days", 1...36_500)] {
            guard let value = fields[key] else { continue }
            let limit: Int?
            if value.scalarText == "none" { limit = nil } else { limit = integer(value, key: key, range: range) ?? (key == "runs" ? retention.runs : retention.days) }
            if key == "runs" { retention.runs = limit } else { retention.days = limit }
        }
        return retention
    }

    static func isValidWorkflowName(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, name.utf8.count <= 64 else { return false }
        func ok(_ s: Unicode.Scalar) -> Bool { s.isASCII && (s.properties.isAlphabetic || ("0"..."9").contains(s)) }
        return ok(first) && name.unicodeScalars.allSatisfy { ok($0) || $0 == "." || $0 == "_" || $0 == "-" }
    }

    /// Checks a mapping's keys: scalar, known (else "did you mean"), and returns them by name.
    mutating func keyed(_ pairs: [(key: YAMLNode, value: YAMLNode)], allowed: [String], context: String) -> [String: YAMLNode] {
        var out: [String: YAMLNode] = [:]
        for (key, value) in pairs {
            guard case .scalar(let name, _, _, let location) = key else {
                error(key.location, "a key in \(context) must be a plain name, not \(key.typeName)")
                continue
            }
            guard allowed.contains(name) else {
                var notes: [String] = []
                if let suggestion = Suggestion.closest(to: name, in: allowed) {
                    notes.append("did you mean '\(suggestion)'?")
                } else {
                    notes.append("known keys: \(allowed.joined(separator: ", "))")
                }
                error(location, "unknown key '\(name)' in \(context)", notes: notes)
                continue
            }
            out[name] = value
        }
        return out
    }

    // MARK: Scalars

    mutating func string(_ node: YAMLNode, key: String) -> String? {
        switch node {
        // A YAML boolean or number where text is expected is that text (`backup: true`, `retries_hint: 3`), as
        // users write it and as flow's own advice prints it.
        case .scalar(let text, .string, _, _), .scalar(let text, .int, _, _), .scalar(let text, .float, _, _):
            return text
        case .scalar(let text, .bool, _, _):
            return text.lowercased()
        default:
            error(node.location, "'\(key)' must be a string, not \(node.typeName)")
            return nil
        }
    }

    mutating func bool(_ node: YAMLNode, key: String) -> Bool? {
        if case .scalar(let text, .bool, _, _) = node { return text.lowercased() == "true" }
        error(node.location, "'\(key)' must be true or false, not \(node.typeName)")
        return nil
    }

    mutating func integer(_ node: YAMLNode, key: String, range: ClosedRange<Int>) -> Int? {
        guard case .scalar(let text, .int, _, let location) = node, let n = Int(text) else {
            error(node.location, "'\(key)' must be a whole number, not \(node.typeName)")
            return nil
        }
        guard range.contains(n) else {
            error(location, "'\(key)' must be between \(range.lowerBound) and \(range.upperBound), not \(n)")
            return nil
        }
        return n
    }

    mutating func duration(_ node: YAMLNode, key: String) -> Duration? {
        guard case .scalar(let text, let kind, _, let location) = node, kind == .string || kind == .int || kind == .float else {
            error(node.location, "'\(key)' must be a duration such as '30s', not \(node.typeName)")
            return nil
        }
        guard let d = DurationFormat.parse(text) else {
            let hint = (kind == .int || kind == .float) ? "add a unit: '\(text)s' for seconds" : "write a number and a unit: 500ms, 30s, 5m, 2h, 1d, or 1h30m"
            error(location, "invalid duration '\(text)' for '\(key)'", notes: [hint])
            return nil
        }
        return d
    }

    /// Parses a string with `${{ }}` into a template and records its references for the validator.
    mutating func template(_ node: YAMLNode, key: String, owner: TaskID?) -> Template? {
        guard let text = string(node, key: key) else { return nil }
        let parts: [Template.Part]
        do {
            parts = try TemplateParser.parse(text)
        } catch {
            self.error(location(in: node, offset: error.offset), "in '\(key)': \(error.message)", notes: error.note.map { [$0] } ?? [])
            return nil
        }
        let template = Template(parts: parts, location: node.location)
        recordReferences(template, text: text, node: node, key: key, owner: owner)
        return template
    }

    mutating func recordReferences(_ template: Template, text: String, node: YAMLNode, key: String, owner: TaskID?) {
        // Point each reference at its `${{` so errors land on the expression, not the key.
        let chars = Array(text)
        var searchFrom = 0
        for part in template.parts {
            guard case .expression(let e) = part else { continue }
            var offset = 0
            var i = searchFrom
            while i + 2 < chars.count {
                if chars[i] == "$", chars[i + 1] == "{", chars[i + 2] == "{" { offset = i; break }
                i += 1
            }
            searchFrom = offset + 3
            for reference in e.references {
                references.append(PendingReference(reference: reference, location: location(in: node, offset: offset),
                                                   owner: owner, field: key))
            }
        }
    }

    /// The position of a character offset inside a scalar's text.
    func location(in node: YAMLNode, offset: Int) -> SourceLocation {
        guard case .scalar(let text, _, let style, let start) = node else { return node.location }
        let prefix = text.prefix(offset)
        let newlines = prefix.filter { $0 == "\n" }.count
        switch style {
        case .plain, .quoted:
            guard newlines == 0 else { return start }
            return SourceLocation(file: file, line: start.line, column: start.column + (style == .quoted ? 1 : 0) + offset)
        case .block:
            let line = start.line + 1 + newlines
            let lines = source.split(separator: "\n", omittingEmptySubsequences: false)
            guard line - 1 < lines.count else { return start }
            let indent = lines[line - 1].prefix { $0 == " " }.count
            let column = prefix.split(separator: "\n", omittingEmptySubsequences: false).last?.count ?? 0
            return SourceLocation(file: file, line: line, column: indent + 1 + column)
        }
    }

    // MARK: Sections

    mutating func parseParams(_ node: YAMLNode) -> [(name: String, value: String)] {
        guard case .mapping(let pairs, _) = node else {
            error(node.location, "'params' must be a mapping of names to default values, not \(node.typeName)")
            return []
        }
        var out: [(name: String, value: String)] = []
        for (key, value) in pairs {
            guard let name = key.scalarText, WorkflowBuilder.isIdentifier(name) else {
                error(key.location, "invalid parameter name '\(key.scalarText ?? key.typeName)'",
                      notes: ["use letters, digits and '_', starting with a letter or '_'"])
                continue
            }
            switch value {
            case .mapping(let fields, _):
                out.append((name, parseParamDeclaration(name, fields)))
            case .scalar(let text, .null, _, _): out.append((name, text == "~" || text == "null" ? "" : text))
            case .scalar(let text, _, _, _):
                if text.contains("${{") {
                    error(value.location, "parameter defaults cannot contain expressions",
                          notes: ["defaults are plain values; use the parameter in a task with ${{ params.\(name) }}"])
                }
                out.append((name, text))
            default:
                error(value.location, "parameter '\(name)' must have a single value, not \(value.typeName)",
                      notes: ["for several values use a comma list: \(name): a,b,c",
                              "to declare more than a default: \(name): { default: VALUE, secret: true }"])
            }
        }
        return out
    }

    mutating func parseEnv(_ node: YAMLNode, owner: TaskID?) -> [(name: String, value: Template)] {
        guard case .mapping(let pairs, _) = node else {
            error(node.location, "'env' must be a mapping of variable names to values, not \(node.typeName)")
            return []
        }
        var out: [(name: String, value: Template)] = []
        for (key, value) in pairs {
            guard let name = key.scalarText, WorkflowBuilder.isIdentifier(name) else {
                error(key.location, "invalid environment variable name '\(key.scalarText ?? key.typeName)'",
                      notes: ["use letters, digits and '_', starting with a letter or '_'"])
                continue
            }
            if name.hasPrefix("FLOW_") {
                error(key.location, "environment variable '\(name)' is reserved", notes: ["names starting with FLOW_ are set by flow"])
                continue
            }
            if let t = template(value, key: "env.\(name)", owner: owner) { out.append((name, t)) }
        }
        return out
    }

    static func isIdentifier(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, name.utf8.count <= 128 else { return false }
        func letter(_ s: Unicode.Scalar) -> Bool { s.isASCII && (s.properties.isAlphabetic || s == "_") }
        return letter(first) && name.unicodeScalars.allSatisfy { letter($0) || ("0"..."9").contains($0) }
    }

    mutating func parseDefaults(_ node: YAMLNode) -> TaskDefaults {
        var defaults = TaskDefaults()
        guard case .mapping(let pairs, _) = node else {
            error(node.location, "'defaults' must be a mapping, not \(node.typeName)")
            return defaults
        }
        let fields = keyed(pairs, allowed: WorkflowBuilder.defaultKeys, context: "defaults")
        if let n = fields["retries"] { defaults.retries = integer(n, key: "retries", range: 0...100) ?? defaults.retries }
        if let n = fields["retry_delay"] { defaults.retryDelay = duration(n, key: "retry_delay") ?? defaults.retryDelay }
        if let n = fields["timeout"] { defaults.timeout = positiveDuration(n, key: "timeout") }
        if let n = fields["working_directory"] { defaults.workingDirectory = template(n, key: "working_directory", owner: nil) }
        if let n = fields["shell"] { defaults.shell = shellName(n) ?? defaults.shell }
        return defaults
    }

    mutating func positiveDuration(_ node: YAMLNode, key: String) -> Duration? {
        guard let d = duration(node, key: key) else { return nil }
        guard d > .zero else {
            error(node.location, "'\(key)' must be longer than zero")
            return nil
        }
        return d
    }

    mutating func shellName(_ node: YAMLNode) -> String? {
        guard let text = string(node, key: "shell") else { return nil }
        guard ["sh", "bash"].contains(text) else {
            error(node.location, "unknown shell '\(text)'", notes: ["use 'sh' (the default) or 'bash'"])
            return nil
        }
        return text
    }
}

/// Values from `defaults:` that each task starts from.
struct TaskDefaults {
    var retries = 0
    var retryDelay: Duration = .seconds(5)
    var timeout: Duration?
    var workingDirectory: Template?
    var shell = "sh"
}
