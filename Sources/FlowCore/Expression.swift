/// What an expression names: the only ways a workflow reads values.
package enum Reference: Sendable, Hashable, CustomStringConvertible {
    case param(String)
    case taskOutput(TaskID, String)
    /// `tasks.ID.outputs`: every output of a task, as a JSON object.
    case taskOutputs(TaskID)
    /// `tasks.M.outputs[.KEY]` of a matrix task `M`: a JSON object keyed by instance (`symbol=MGC,tf=1m`), each
    /// value that instance's output `KEY` (or, without a key, its outputs as an object).
    case instanceOutputs(group: TaskID, instances: [TaskID], key: String?)
    /// `matrix.NAME` in a matrix task: replaced by each instance's value when the workflow is loaded.
    case matrix(String)
    /// `foreach.item`, `foreach.item.KEY`, `foreach.index` (the path after `foreach.`) in a foreach task:
    /// replaced by each instance's item once the list is known.
    case foreach([String])
    case env(String)
    /// `secrets.NAME`: the value of a secret the workflow declares; empty when it is not set.
    case secret(String)
    case runID
    case runStartedAt
    /// `run.scheduled_for`, `run.interval_start`, `run.interval_end`: a scheduled run's tick; empty otherwise.
    case runSchedule(RunScheduleField)
    /// `run.summary_json`: how the run is going when the task starts (workflow, run, status so far, failures).
    case runSummary
    /// `tasks.ID.status`: how an upstream task ended (`succeeded`, `failed`, `skipped`, ...).
    case taskStatus(TaskID)
    /// `tasks.ID.error`: an upstream task's last error; empty when it has none.
    case taskError(TaskID)
    /// `success()`, `failure()`, `always()`, `cancelled()` in `if:`: how the task's upstream ended.
    case status(StatusFunction)

    package var description: String {
        switch self {
        case .param(let name): return "params.\(name)"
        case .taskOutput(let task, let key): return "tasks.\(task).outputs.\(key)"
        case .taskOutputs(let task): return "tasks.\(task).outputs"
        case .instanceOutputs(let group, _, let key): return "tasks.\(group).outputs" + (key.map { ".\($0)" } ?? "")
        case .matrix(let name): return "matrix.\(name)"
        case .foreach(let path): return "foreach." + path.joined(separator: ".")
        case .env(let name): return "env.\(name)"
        case .secret(let name): return "secrets.\(name)"
        case .runID: return "run.id"
        case .runStartedAt: return "run.started_at"
        case .runSchedule(let field): return "run.\(field.rawValue)"
        case .runSummary: return "run.summary_json"
        case .taskStatus(let task): return "tasks.\(task).status"
        case .taskError(let task): return "tasks.\(task).error"
        case .status(let function): return "\(function.rawValue)()"
        }
    }

    package var isTaskOutput: Bool { if case .taskOutput = self { true } else { false } }

    /// The tasks whose outputs it reads.
    package var outputTasks: [TaskID] {
        switch self {
        case .taskOutput(let task, _), .taskOutputs(let task): return [task]
        case .instanceOutputs(_, let instances, _): return instances
        default: return []
        }
    }

    /// Whether its value is known only once the run is under way (how upstream tasks ended), so a task that
    /// reads it is rendered when it starts, never ahead by the planner.
    package var readsRunProgress: Bool {
        switch self {
        case .runSummary, .taskStatus, .taskError, .status: return true
        default: return false
        }
    }
}

/// GitHub Actions' status functions. A condition without one means `success() && condition`.
package enum StatusFunction: String, Sendable, Hashable, CaseIterable {
    /// Every upstream task succeeded, was reused or was skipped by its condition, and the run goes on.
    case success
    /// Some upstream task failed or timed out after its retries (not one with `continue_on_error`).
    case failure
    case always
    /// The run was interrupted (a signal).
    case cancelled

    /// A condition with this function is evaluated after its upstream ended whatever way, not only after success.
    package var runsAfterFailure: Bool { self != .success }
}

/// How the upstream of the task being decided ended, for the status functions.
package struct UpstreamStatus: Sendable, Hashable {
    /// Some upstream task failed or timed out for good.
    package var failed: Bool
    /// Some upstream task did not end satisfied for another reason (never started, interrupted).
    package var incomplete: Bool
    package var cancelled: Bool

    package init(failed: Bool = false, incomplete: Bool = false, cancelled: Bool = false) {
        self.failed = failed
        self.incomplete = incomplete
        self.cancelled = cancelled
    }

    package func value(of function: StatusFunction) -> Bool {
        switch function {
        case .success: return !failed && !incomplete && !cancelled
        case .failure: return failed
        case .always: return true
        case .cancelled: return cancelled
        }
    }
}

/// What a scheduled run knows of its tick (RFC 3339 UTC): the tick, and the interval from the schedule's
/// previous tick to it.
package enum RunScheduleField: String, Sendable, Hashable, CaseIterable {
    case scheduledFor = "scheduled_for"
    case intervalStart = "interval_start"
    case intervalEnd = "interval_end"

    /// The variable a shell task reads it from.
    package var environmentName: String { "FLOW_" + rawValue.uppercased() }
}

/// A parsed `${{ ... }}` expression.
package indirect enum FlowExpression: Sendable, Hashable, CustomStringConvertible {
    package enum BinaryOperator: String, Sendable, Hashable {
        case equal = "=="
        case notEqual = "!="
        case less = "<"
        case greater = ">"
        case lessOrEqual = "<="
        case greaterOrEqual = ">="
        case and = "&&"
        case or = "||"
    }

    case literal(Value)
    case reference(Reference)
    case not(FlowExpression)
    case binary(BinaryOperator, FlowExpression, FlowExpression)

    package var description: String {
        switch self {
        case .literal(.string(let s)): return "'\(s.replacingOccurrences(of: "'", with: "''"))'"
        case .literal(let v): return v == .null ? "null" : v.description
        case .reference(let r): return r.description
        case .not(let e): return "!\(e.nested)"
        case .binary(let op, let l, let r): return "\(l.nested) \(op.rawValue) \(r.nested)"
        }
    }

    /// The description, in parentheses when it is a binary expression, so nesting reads unambiguously.
    private var nested: String {
        if case .binary = self { return "(\(description))" }
        return description
    }

    package func replacing(_ transform: (Reference) -> FlowExpression?) -> FlowExpression {
        switch self {
        case .literal: return self
        case .reference(let r): return transform(r) ?? self
        case .not(let e): return .not(e.replacing(transform))
        case .binary(let op, let l, let r): return .binary(op, l.replacing(transform), r.replacing(transform))
        }
    }

    /// Every reference inside, for validation and for fingerprints.
    package var references: [Reference] {
        switch self {
        case .literal: return []
        case .reference(let r): return [r]
        case .not(let e): return e.references
        case .binary(_, let l, let r): return l.references + r.references
        }
    }

    /// Evaluates against a scope; `&&` and `||` return an operand, as in GitHub Actions.
    package func evaluate(in scope: EvaluationScope) -> Value {
        switch self {
        case .literal(let v): return v
        case .reference(let r): return scope.value(of: r)
        case .not(let e): return .bool(!e.evaluate(in: scope).isTruthy)
        case .binary(let op, let lhs, let rhs):
            let l = lhs.evaluate(in: scope)
            switch op {
            case .and: return l.isTruthy ? rhs.evaluate(in: scope) : l
            case .or: return l.isTruthy ? l : rhs.evaluate(in: scope)
            default: break
            }
            let r = rhs.evaluate(in: scope)
            switch op {
            case .equal: return .bool(l.looselyEquals(r))
            case .notEqual: return .bool(!l.looselyEquals(r))
            case .less: return .bool(l.compare(r) == .orderedAscending)
            case .greater: return .bool(l.compare(r) == .orderedDescending)
            case .lessOrEqual: return .bool(l.compare(r) != .orderedDescending)
            case .greaterOrEqual: return .bool(l.compare(r) != .orderedAscending)
            case .and, .or: return .null
            }
        }
    }
}

/// The values an expression can see while a run executes.
package struct EvaluationScope: Sendable {
    package var params: [String: String]
    package var outputs: [TaskID: [String: String]]
    package var env: [String: String]
    /// The run's secrets by name (`secrets.NAME`); never stored.
    package var secrets: [String: String] = [:]
    /// What a fingerprint sees instead of each secret: `***` for a secret, the keyed hash for a secret param.
    package var fingerprintMasker = SecretMasker.none
    package var runID: RunID
    package var runStartedAt: String
    /// A scheduled run's tick fields; empty for a run started by hand.
    package var schedule: [RunScheduleField: String]
    /// How ended upstream tasks ended, for `tasks.ID.status` and `tasks.ID.error`.
    package var taskStatuses: [TaskID: String] = [:]
    package var taskErrors: [TaskID: String] = [:]
    /// `run.summary_json` as it stands.
    package var runSummary: String = ""
    /// For a `notify_missed` run: the ticks it notifies of, which its summary lists.
    package var missedTicks: [MissedTick] = []
    /// The upstream of the task whose condition is evaluated; all succeeded unless the run says otherwise.
    package var upstream = UpstreamStatus()

    package init(params: [String: String], outputs: [TaskID: [String: String]] = [:], env: [String: String] = [:],
                 runID: RunID = 0, runStartedAt: String = "", schedule: [RunScheduleField: String] = [:]) {
        self.params = params
        self.outputs = outputs
        self.env = env
        self.runID = runID
        self.runStartedAt = runStartedAt
        self.schedule = schedule
    }

    package func value(of reference: Reference) -> Value {
        switch reference {
        case .param(let name): return params[name].map(Value.string) ?? .null
        case .taskOutput(let task, let key): return outputs[task]?[key].map(Value.string) ?? .null
        case .taskOutputs(let task): return outputs[task].map { .string(JSONWriter.object($0.mapValues(JSONWriter.Item.string))) } ?? .null
        case .instanceOutputs(_, let instances, let key):
            var object: [String: JSONWriter.Item] = [:]
            for instance in instances {
                let values = outputs[instance]
                if let key {
                    object[instance.instanceKey ?? instance.rawValue] = values?[key].map(JSONWriter.Item.string) ?? .null
                } else {
                    object[instance.instanceKey ?? instance.rawValue] = values.map { .object($0.mapValues(JSONWriter.Item.string)) } ?? .null
                }
            }
            return .string(JSONWriter.object(object))
        case .matrix, .foreach: return .null
        case .env(let name): return env[name].map(Value.string) ?? .null
        case .secret(let name): return .string(secrets[name] ?? "")
        case .runID: return .string(String(runID))
        case .runStartedAt: return .string(runStartedAt)
        case .runSchedule(let field): return .string(schedule[field] ?? "")
        case .runSummary: return .string(runSummary)
        case .taskStatus(let task): return .string(taskStatuses[task] ?? TaskStatus.pending.rawValue)
        case .taskError(let task): return .string(taskErrors[task] ?? "")
        case .status(let function): return .bool(upstream.value(of: function))
        }
    }
}
