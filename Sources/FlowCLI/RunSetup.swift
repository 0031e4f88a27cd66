import FlowCore
import FlowPlan
import FlowProcess
import FlowStore
import Foundation

/// What `flow run`, `flow resume` and `flow plan` share: which run, which parameters, which decisions.
struct RunSetup {
    var workflow: Workflow
    /// The run being resumed, or nil for a new run.
    var resuming: RunRecord?
    /// Why the latest unfinished run is not the one resumed, when it is not.
    var notResumed: String?
    var params: [String: String]
    var overrides: [String: String]
    var startedAt: String
    /// `--only`/`--from`: given now for a new run, stored for a resumed one; nil for the whole workflow.
    var selection: TaskSelection? = nil

    /// Parses `-p key=value` values against the workflow's declared params.
    /// `fromCommandLine` false: a parent task's params (`uses: workflow`), which no other user can see.
    static func overrides(_ values: [String], for workflow: Workflow, fromCommandLine: Bool = true) throws(CommandFailure) -> [String: String] {
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
            if fromCommandLine, workflow.secretParams.contains(name) {
                Console.err("flow: warning: -p \(name): a secret on the command line can be seen by other users of this machine (ps, /proc)\n"
                            + "note: a value that must stay secret belongs in 'secrets:', read from the environment or the env_file")
            }
        }
        return out
    }

    /// The params as flow prints them: a secret param's value never.
    var shownParams: [String: String] {
        var shown = params
        for name in workflow.secretParams where shown[name] != nil { shown[name] = "***" }
        return shown
    }

    /// `k=v, k2=v2` for the params that differ from the workflow's defaults, empty when none do.
    var nonDefaultParams: String {
        let shown = shownParams
        return params.keys.sorted().filter { params[$0] != workflow.paramDefaults[$0] }
            .map { "\($0)=\(Console.shown(shown[$0] ?? ""))" }.joined(separator: ", ")
    }

    /// The run clock: `FLOW_NOW` (ISO 8601) when set, so runs are reproducible, else the real time.
    static func clock() throws(CommandFailure) -> Date {
        guard let text = HostEnvironment.value("FLOW_NOW"), !text.isEmpty else { return Date() }
        guard let date = ISOTime.parse(text).map(Date.init(timeIntervalSince1970:)) else {
            throw CommandFailure(.usage, "flow: FLOW_NOW='\(text.prefix(40))' is not an ISO 8601 time such as 2026-01-28T21:00:00Z")
        }
        return date
    }

    /// `clock()` in whole seconds since the epoch.
    static func clockSeconds() throws(CommandFailure) -> Int64 {
        Int64(try clock().timeIntervalSince1970.rounded(.down))
    }

    /// Decides the run: `resumeID` names one, and it keeps its stored parameters (plus any `-p` given now);
    /// otherwise the latest run is resumed if it failed or was interrupted, came from the same workflow file,
    /// and its resolved parameters equal the ones this command would use — else it is a new run, and
    /// `notResumed` says why. The decisions per task come from `plan(runID:store:actionVersions:)`, once the
    /// run's id is known.
    /// Secret params are compared by their keyed hash (`secrets`), the only form the store has.
    static func decide(_ workflow: Workflow, store: StateStore?, overrides newOverrides: [String: String], fresh: Bool,
                       resumeID: RunID?, now: Date, secrets: RunSecrets = .none,
                       selection: TaskSelection? = nil, parent: ParentLink? = nil) throws(CommandFailure) -> RunSetup {
        var resuming: RunRecord?
        var notResumed: String?
        let declared = Set(workflow.params.map(\.name))
        var asked = workflow.paramDefaults
        for (k, v) in newOverrides { asked[k] = v }
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
            } else if !fresh, let latest = try parent.map({ try store?.latestRun(of: workflow.name, parent: $0) }) ?? store?.latestRun(of: workflow.name),
                      latest.status.isResumable || latest.status == .running {
                if parent == nil, let link = latest.parent {
                    notResumed = "not resuming run \(latest.id): it is a child run of run \(link.run) (task '\(link.task)'), which resumes it"
                } else if !workflow.path.isEmpty, !latest.workflowPath.isEmpty, latest.workflowPath != workflow.path {
                    notResumed = "not resuming run \(latest.id): it came from \(latest.workflowPath), not this file"
                } else if latest.selection != selection {
                    notResumed = "not resuming run \(latest.id): it ran \(latest.selection?.label ?? "the whole workflow"), "
                        + "this is \(selection?.label ?? "the whole workflow")"
                } else if latest.params.filter({ declared.contains($0.key) }) != secrets.stored(asked) {
                    let storedAsked = secrets.stored(asked)
                    let differing = Set(asked.keys).union(latest.params.keys.filter(declared.contains)).sorted()
                        .filter { storedAsked[$0] != latest.params[$0] }
                        .map { name in workflow.secretParams.contains(name) ? "\(name) (secret)"
                                                                             : "\(name)=\(latest.params[name].map(Console.shown) ?? "(unset)")" }
                    notResumed = "not resuming run \(latest.id): its params differ (\(differing.joined(separator: ", ")))"
                } else {
                    resuming = latest
                }
            }
        } catch let error as CommandFailure {
            throw error
        } catch {
            throw CommandFailure(.internalError, "flow: \(error)")
        }
        // A resumed run keeps the parameters it was started with: its stored, resolved values (a default changed
        // in the file since does not leak in), then what -p says now. Params the file no longer declares are dropped.
        var params = workflow.paramDefaults
        var overrides = newOverrides
        if let run = resuming {
            for (k, v) in run.params where declared.contains(k) && !workflow.secretParams.contains(k) { params[k] = v }
            overrides = run.overrides.filter { declared.contains($0.key) }
            for (k, v) in newOverrides { overrides[k] = v }
            // The store has only a secret param's keyed hash: its value is the one given now, or the default,
            // and without -p that must be the value the run started with.
            for name in workflow.secretParams.sorted() where newOverrides[name] == nil {
                guard let kept = run.params[name], kept != secrets.stored(params[name] ?? "") else { continue }
                throw CommandFailure(.usage, """
                    flow: run \(run.id) was started with another value of the secret param '\(name)', which flow keeps only as a keyed hash
                    note: give it again: -p \(name)=VALUE
                    """)
            }
        }
        for (k, v) in newOverrides { params[k] = v }
        let startedAt = resuming?.startedAt ?? ISOTime.format(now)
        return RunSetup(workflow: workflow, resuming: resuming, notResumed: notResumed, params: params, overrides: overrides,
                        startedAt: startedAt, selection: resuming.map(\.selection) ?? selection)
    }

    /// `run.scheduled_for`, `run.interval_start` and `run.interval_end` of a scheduled run (RFC 3339 UTC); none
    /// for a run started by hand.
    static func tickFields(_ tick: (at: Int64, intervalStart: Int64?)?) -> [RunScheduleField: String] {
        guard let tick else { return [:] }
        var fields: [RunScheduleField: String] = [.scheduledFor: ISOTime.format(tick.at), .intervalEnd: ISOTime.format(tick.at)]
        if let start = tick.intervalStart { fields[.intervalStart] = ISOTime.format(start) }
        return fields
    }

    /// The run's scope, complete with its id, and the decision for every task (reuse only when resuming).
    /// `runID`: the run created or reopened for this setup (for `flow plan`, the resumed run's or 0).
    func plan(runID: RunID, store: StateStore?, actionVersions: [String: String],
              schedule: [RunScheduleField: String] = [:], secrets: RunSecrets = .none,
              settled: Set<TaskID> = []) throws(CommandFailure) -> (ExecutionPlan, EvaluationScope) {
        var env = secrets.inherited
        var baseScope = EvaluationScope(params: params, env: env, runID: runID, runStartedAt: startedAt, schedule: schedule)
        baseScope.secrets = secrets.values
        baseScope.fingerprintMasker = secrets.fingerprintMasker(params: params)
        for (name, value) in workflow.env { env[name] = value.render(in: baseScope) }
        var scope = baseScope
        scope.env = env

        var prior: [TaskID: PriorTask] = [:]
        // A later part of a run (its foreach lists now known) plans against what the earlier parts did.
        if let run = resuming?.id ?? (settled.isEmpty ? nil : runID), let store {
            do {
                for (id, state) in try store.taskStates(of: run) {
                    prior[id] = PriorTask(status: state.status, fingerprint: state.fingerprint, outputs: state.outputs,
                                          reason: state.reason, attempts: state.attempts)
                }
            } catch {
                throw CommandFailure(.internalError, "flow: \(error)")
            }
        }
        // An unselected upstream task is looked up among earlier runs (a failed lookup reads as "none").
        let name = workflow.name
        let before = runID == 0 ? RunID.max : runID
        let plan = ResumePlanner(actionVersions: actionVersions).plan(workflow, prior: prior, scope: scope, selection: selection,
                                                                      settled: settled) { task, fingerprint in
            guard let found = try? store?.earlierSuccess(workflow: name, task: task, fingerprint: fingerprint, before: before) else { return nil }
            return EarlierSuccess(run: found.run, outputs: found.outputs)
        }
        return (plan, scope)
    }
}

/// A run's status as commands show it: a run stored `running` whose runner is gone is shown `interrupted`
/// at once (the next `flow run` records it so), not left looking alive.
struct ShownStatus {
    var status: RunStatus
    var runnerGone: Bool
    var note: String?

    /// A task's status in such a run: one still `running` was interrupted with its runner.
    func task(_ status: TaskStatus?) -> TaskStatus {
        let status = status ?? .pending
        return runnerGone && status == .running ? .interrupted : status
    }

    init(_ run: RunRecord, store: StateStore) {
        if run.status == .running, !store.runnerIsAlive(run, processStart: ProcessTable.startTime) {
            status = .interrupted
            runnerGone = true
            note = "its runner (pid \(run.pid.map(String.init) ?? "?")) is gone; the next 'flow run' records it interrupted"
        } else {
            status = run.status
            runnerGone = false
            note = nil
        }
    }
}
