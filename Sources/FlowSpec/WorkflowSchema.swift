import FlowCore
import Foundation

/// `flow schema`: the workflow file as a JSON Schema (draft-07, which editors' YAML extensions read), built
/// from the same key lists and action signatures the loader checks, so it cannot drift from them. It is the
/// shape only: what needs the whole file (references, cycles, cron fields) stays `flow validate`'s.
package enum WorkflowSchema {
    /// An ordered JSON value, printed with its keys in the order given, for a schema people read.
    package indirect enum JSON {
        case string(String)
        case number(Int)
        case bool(Bool)
        case array([JSON])
        case object([(String, JSON)])

        package func printed(indent: String = "") -> String {
            let inner = indent + "  "
            switch self {
            case .string(let s): return JSON.quoted(s)
            case .number(let n): return String(n)
            case .bool(let b): return b ? "true" : "false"
            case .array(let items):
                if items.allSatisfy({ if case .string = $0 { true } else { false } }), items.count <= 12 {
                    return "[" + items.map { $0.printed() }.joined(separator: ", ") + "]"
                }
                return "[\n" + items.map { inner + $0.printed(indent: inner) }.joined(separator: ",\n") + "\n\(indent)]"
            case .object(let pairs):
                guard !pairs.isEmpty else { return "{}" }
                return "{\n" + pairs.map { "\(inner)\(JSON.quoted($0.0)): \($0.1.printed(indent: inner))" }.joined(separator: ",\n") + "\n\(indent)}"
            }
        }

        static func quoted(_ s: String) -> String {
            var out = ""
            JSONWriter.quote(s, into: &out)
            return out
        }
    }

    static let identifier = "^[A-Za-z_][A-Za-z0-9_]*$"
    static let durationPattern = #"^\s*([0-9]+(\.[0-9]+)?(ms|s|m|h|d))+\s*$"#
    /// A scalar as YAML writes it: flow reads numbers and booleans as the text they were written as.
    static let scalar: JSON = .object([("type", .array([.string("string"), .string("number"), .string("boolean")]))])

    package static func schema(actions: [String: ActionSignature]) -> JSON {
        .object([
            ("$schema", .string("http://json-schema.org/draft-07/schema#")),
            ("$id", .string("https://github.com/flow/flow/schema/workflow.json")),
            ("title", .string("flow workflow")),
            ("description", .string("A workflow file in workflows/NAME.yaml (docs/workflow-syntax.md). `flow validate` checks the rest.")),
            ("type", .string("object")),
            ("required", .array([.string("tasks")])),
            ("additionalProperties", .bool(false)),
            ("properties", .object(WorkflowBuilder.topKeys.map { ($0, top($0)) })),
            ("definitions", .object([
                ("taskId", .object([("type", .string("string")), ("pattern", .string("^[a-z][a-z0-9_-]{0,63}$")),
                                    ("description", .string("a-z first, then a-z, 0-9, '_' or '-'; at most 64"))])),
                ("duration", .object([("type", .string("string")), ("pattern", .string(durationPattern)),
                                      ("description", .string("a number and a unit, combinable: 500ms, 30s, 5m, 2h, 1d, 1h30m"))])),
                ("env", .object([
                    ("type", .string("object")),
                    ("description", .string("environment variables; values may use ${{ }}")),
                    ("propertyNames", .object([("pattern", .string(identifier)), ("not", .object([("pattern", .string("^FLOW_"))]))])),
                    ("additionalProperties", scalar),
                ])),
                ("task", task(actions: actions)),
            ])),
        ])
    }

    private static func ref(_ name: String) -> JSON { .object([("$ref", .string("#/definitions/\(name)"))]) }

    private static func described(_ json: JSON, _ text: String) -> JSON {
        guard case .object(let pairs) = json else { return json }
        return .object(pairs + [("description", .string(text))])
    }

    private static func top(_ key: String) -> JSON {
        switch key {
        case "name":
            return .object([("type", .string("string")), ("pattern", .string("^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")),
                            ("description", .string("the workflow's identity in the state database; default: the file stem"))])
        case "description": return .object([("type", .string("string"))])
        case "params":
            let declaration: JSON = .object([("type", .string("object")), ("additionalProperties", .bool(false)),
                                             ("properties", .object([("default", scalar), ("secret", .object([("type", .string("boolean"))])),
                                                                     ("description", .object([("type", .string("string"))]))]))])
            return .object([("type", .string("object")), ("description", .string("parameter defaults; -p name=value overrides")),
                            ("propertyNames", .object([("pattern", .string(identifier))])),
                            ("additionalProperties", .object([("oneOf", .array([scalar, declaration]))]))])
        case "secrets":
            return .object([("type", .string("array")), ("uniqueItems", .bool(true)),
                            ("items", .object([("type", .string("string")), ("pattern", .string("^[A-Za-z_][A-Za-z0-9_]*$")),
                                               ("not", .object([("pattern", .string("^FLOW_"))]))])),
                            ("description", .string("environment variables whose values are secrets: read as ${{ secrets.NAME }}, masked everywhere"))])
        case "env_file":
            return .object([("type", .string("string")), ("pattern", .string("^[^/~]")),
                            ("description", .string("a file of NAME=value lines in the project folder that secrets are also read from"))])
        case "env": return ref("env")
        case "defaults":
            return .object([("type", .string("object")), ("additionalProperties", .bool(false)),
                            ("properties", .object(WorkflowBuilder.defaultKeys.map { ($0, taskKey($0, actions: [:])) }))])
        case "max_parallel":
            return .object([("type", .string("integer")), ("minimum", .number(1)), ("maximum", .number(1024))])
        case "schedule": return schedule
        case "on_failure":
            return .object([("type", .string("array")), ("items", ref("taskId")), ("uniqueItems", .bool(true)),
                            ("description", .string("tasks that need every other task and run when one failed"))])
        case "retention":
            let limit: (Int) -> JSON = { most in .object([("oneOf", .array([
                .object([("type", .string("integer")), ("minimum", .number(1)), ("maximum", .number(most))]), .object([("const", .string("none"))]),
            ]))]) }
            return .object([("type", .string("object")), ("additionalProperties", .bool(false)),
                            ("properties", .object([("runs", limit(10_000_000)), ("days", limit(36_500))])),
                            ("description", .string("runs kept by flow prune and the scheduler (default runs: 1000, days: 365)"))])
        case "tasks":
            return .object([("type", .string("object")), ("minProperties", .number(1)),
                            ("propertyNames", ref("taskId")), ("additionalProperties", ref("task"))])
        default: return .object([])
        }
    }

    private static var schedule: JSON {
        let properties: [(String, JSON)] = WorkflowBuilder.scheduleKeys.map { key in
            switch key {
            case "cron":
                let expression: JSON = .object([("type", .string("string")), ("description", .string("five fields or @hourly/@daily/@weekly/@monthly/@yearly"))])
                return (key, .object([("oneOf", .array([expression, .object([("type", .string("array")), ("items", expression), ("minItems", .number(1))])]))]))
            case "timezone": return (key, .object([("type", .string("string")), ("description", .string("an IANA zone name; default UTC"))]))
            case "catchup": return (key, .object([("enum", .array(Schedule.Catchup.allCases.map { .string($0.rawValue) }))]))
            case "overlap": return (key, .object([("enum", .array(Schedule.Overlap.allCases.map { .string($0.rawValue) }))]))
            case "max_catchup": return (key, .object([("type", .string("integer")), ("minimum", .number(1))]))
            case "notify_missed": return (key, ref("taskId"))
            default: return (key, ref("duration"))
            }
        }
        return .object([("type", .string("object")), ("required", .array([.string("cron")])), ("additionalProperties", .bool(false)),
                        ("properties", .object(properties))])
    }

    private static func task(actions: [String: ActionSignature]) -> JSON {
        let names = actions.keys.sorted()
        var rules: [JSON] = [
            // Exactly one of run and uses.
            .object([("oneOf", .array([
                .object([("required", .array([.string("run")])), ("not", .object([("anyOf", .array([
                    .object([("required", .array([.string("uses")]))]), .object([("required", .array([.string("with")]))]),
                ]))]))]),
                .object([("required", .array([.string("uses")])), ("not", .object([("required", .array([.string("run")]))]))]),
            ]))]),
        ]
        for name in names {
            guard let signature = actions[name] else { continue }
            rules.append(.object([
                ("if", .object([("properties", .object([("uses", .object([("const", .string(name))]))])), ("required", .array([.string("uses")]))])),
                ("then", .object([("properties", .object([("with", with(signature))]))])),
            ]))
        }
        return .object([
            ("type", .string("object")),
            ("additionalProperties", .bool(false)),
            ("properties", .object(WorkflowBuilder.taskKeys.map { ($0, taskKey($0, actions: actions)) })),
            ("allOf", .array(rules)),
        ])
    }

    private static func taskKey(_ key: String, actions: [String: ActionSignature]) -> JSON {
        switch key {
        case "needs": return .object([("type", .string("array")), ("items", ref("taskId")), ("uniqueItems", .bool(true))])
        case "run":
            return .object([("type", .string("string")), ("minLength", .number(1)), ("not", noExpression),
                            ("description", .string("a shell script; values reach it through env:, never ${{ }}"))])
        case "shell": return .object([("enum", .array([.string("sh"), .string("bash")]))])
        case "uses": return .object([("enum", .array(actions.keys.sorted().map { .string($0) }))])
        case "with": return .object([("type", .string("object"))])
        case "env": return ref("env")
        case "if": return .object([("type", .array([.string("string"), .string("boolean")])),
                                   ("description", .string("${{ expr }}, a bare expression, or true/false; success(), failure(), always(), cancelled()"))])
        case "retries": return .object([("type", .string("integer")), ("minimum", .number(0)), ("maximum", .number(100))])
        case "retry_delay", "timeout": return ref("duration")
        case "always_run", "continue_on_error": return .object([("type", .string("boolean"))])
        case "max_parallel": return .object([("type", .string("integer")), ("minimum", .number(1)), ("maximum", .number(1024)),
                                             ("description", .string("at most this many instances of the task's matrix at once"))])
        case "matrix":
            let value: JSON = .object([("type", .array([.string("string"), .string("number"), .string("boolean")])),
                                       ("pattern", .string(#"^[^/,=\[\]\\]{1,64}$"#))])
            let entries: JSON = .object([("type", .string("array")),
                                         ("items", .object([("type", .string("object")), ("minProperties", .number(1)),
                                                            ("propertyNames", .object([("pattern", .string(identifier))])),
                                                            ("additionalProperties", value)]))])
            return .object([("type", .string("object")), ("minProperties", .number(1)),
                            ("description", .string("one instance per combination of the lists, as GitHub Actions' matrix; ${{ matrix.NAME }}")),
                            ("properties", .object([("include", entries), ("exclude", entries)])),
                            ("propertyNames", .object([("pattern", .string(identifier))])),
                            ("additionalProperties", .object([("type", .string("array")), ("minItems", .number(1)), ("uniqueItems", .bool(true)),
                                                             ("items", value)]))])
        default: return .object([("type", .string("string"))])
        }
    }

    /// Code inputs never hold `${{ }}`.
    private static let noExpression: JSON = .object([("pattern", .string(#"\$\{\{"#))])

    private static func with(_ signature: ActionSignature) -> JSON {
        let properties: [(String, JSON)] = signature.inputs.map { input in
            let value: JSON
            switch input.kind {
            case .value: value = described(scalar, input.summary)
            case .code: value = .object([("type", .string("string")), ("not", noExpression), ("description", .string(input.summary))])
            case .bindings:
                value = .object([("type", .string("object")), ("propertyNames", .object([("pattern", .string(identifier))])),
                                 ("additionalProperties", scalar), ("description", .string(input.summary))])
            case .headers:
                value = .object([("type", .string("object")), ("propertyNames", .object([("pattern", .string(#"^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,64}$"#))])),
                                 ("additionalProperties", scalar), ("description", .string(input.summary))])
            }
            return (input.name, value)
        }
        let required = signature.inputs.filter(\.isRequired).map { JSON.string($0.name) }
        var pairs: [(String, JSON)] = [("type", .string("object")), ("additionalProperties", .bool(false)), ("properties", .object(properties))]
        if !required.isEmpty { pairs.append(("required", .array(required))) }
        return .object(pairs)
    }
}
