import FlowCore
import FlowPlan
import FlowStore
import Foundation

/// What `flow run`, `flow resume` and `flow plan` share: which run, which parameters, which decisions.
struct RunSetup {
    var workflow: Workflow
    /// The run being resumed, or nil for a new run.
    var resuming: RunRecord?
    var params: [String: String]
    var overrides: [String: String]
    var startedAt: String
    var plan: ExecutionPlan
    var scope: EvaluationScope

    /// Parses `-p key=value` values against the workflow's declared params.
    static func overrides(_ values: [String], for workflow: Workflow) throws(CommandFailure) -> [String: String] {
        var out: [String: String] = [:]
        let declared = workflow.params.map(\.name)
        for value in values {
            guard let eq = value.firstIndex(of: "="), eq != value.startIndex else {
                throw CommandFailure(.usage, "flow: -p takes NAME=VALUE, not '\(value.prefix(60))'")
            }
            let name = String(value[..<eq])
            guard declared.contains(name) else {
                var message = "flow: workflow '\(workflow.name)' has no parameter '\(name.prefix(60))'"
                if let s = Suggestion.closest(to: name, in: declared) { message += "\nnote: did you mean '\(s)'?" }
                message += declared.isEmpty ? "\nnote: it declares no params" : "\nnote: params: \(declared.joined(separator: ", "))"
                throw CommandFailure(.usage, message)
            }
            out[name] = String(value[value.index(after: eq)...])
        }
        return out
    }

    /// The run clock: `FLOW_NOW` (ISO 8601) when set, so runs are reproducible, else the real time.
    static func clock() throws(CommandFailure) -> Date {
        guard let text = HostEnvironment.value("FLOW_NOW"), !text.isEmpty else { return Date() }
        guard let date = ISOTime.parse(text).map(Date.init(timeIntervalSince1970:)) else {
            throw CommandFailure(.usage, "flow: FLOW_NOW='\(text.prefix(40))' is not an ISO 8601 time such as 2026-01-28T21:00:00Z")
        }
        return date
    }

    /// Decides the run: `resumeID` names one; otherwise the latest run is resumed if it failed or was
    /// interrupted, unless `fresh`.
    static func prepare(_ workflow: Workflow, store: StateStore?, overrides newOverrides: [String: String], fresh: Bool,
                        resumeID: RunID?, actionVersions: [String: String], now: Date) throws(CommandFailure) -> RunSetup {
        var resuming: RunRecord?
        do {
            if let resumeID {
                guard let run = try store?.run(resumeID) else { throw CommandFailure(.notFound, "flow: no run \(resumeID)") }
                guard run.workflow == workflow.name else {
                    throw CommandFailure(.usage, "flow: run \(resumeID) belongs to workflow '\(run.workflow)', not '\(workflow.name)'")
                }
                guard run.status.isResumable || run.status == .running else {
                    throw CommandFailure(.usage, "flow: run \(resumeID) \(run.status.rawValue); only a failed or interrupted run can be resumed")
                }
                resuming = run
            } else if !fresh, let latest = try store?.latestRun(of: workflow.name), latest.status.isResumable || latest.status == .running {
                resuming = latest
            }
        } catch let error as CommandFailure {
            throw error
        } catch {
            throw CommandFailure(.internalError, "flow: \(error)")
        }
        var overrides = resuming?.overrides ?? [:]
        for (k, v) in newOverrides { overrides[k] = v }
        // Overrides of params the file no longer declares are dropped rather than failing the resume.
        let declared = Set(workflow.params.map(\.name))
        overrides = overrides.filter { declared.contains($0.key) }
        var params = workflow.paramDefaults
        for (k, v) in overrides { params[k] = v }
        let startedAt = resuming?.startedAt ?? ISOTime.format(now)
        var env = HostEnvironment.all
        let baseScope = EvaluationScope(params: params, env: env, runID: resuming?.id ?? 0, runStartedAt: startedAt)
        for (name, value) in workflow.env { env[name] = value.render(in: baseScope) }
        var scope = baseScope
        scope.env = env

        var prior: [TaskID: PriorTask] = [:]
        if let run = resuming, let store {
            do {
                for (id, state) in try store.taskStates(of: run.id) {
                    prior[id] = PriorTask(status: state.status, fingerprint: state.fingerprint, outputs: state.outputs,
                                          reason: state.reason, attempts: state.attempts)
                }
            } catch {
                throw CommandFailure(.internalError, "flow: \(error)")
            }
        }
        let plan = ResumePlanner(actionVersions: actionVersions).plan(workflow, prior: prior, scope: scope)
        return RunSetup(workflow: workflow, resuming: resuming, params: params, overrides: overrides, startedAt: startedAt,
                        plan: plan, scope: scope)
    }
}
