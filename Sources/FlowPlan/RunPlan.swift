import FlowCore
import Foundation

/// How a run ended.
package struct RunOutcome: Sendable {
    package var status: RunStatus
    package var statuses: [TaskID: TaskStatus]
    /// A failure of flow itself (the state database could not be written), as opposed to a task's.
    package var internalError: String?

    package init(status: RunStatus, statuses: [TaskID: TaskStatus], internalError: String?) {
        self.status = status
        self.statuses = statuses
        self.internalError = internalError
    }
}

/// One run's progress as a value, ninja's `Plan`: which tasks are ready (a heap in plan order), which start
/// now under the parallelism bound, what each end releases or skips. It decides and never acts: every
/// decision comes back as transitions to commit and tasks to start, which the engine's builder loop commits
/// (together with the ends that caused them, in one transaction) before it starts anything.
package struct RunPlan: Sendable {
    /// A task to start: its first attempt in this run, rendered once (its fingerprint, environment and inputs
    /// are the same values).
    package struct Start: Sendable {
        package var index: Int
        package var task: TaskSpec
        package var action: any Action
        /// The attempt's number; numbers continue across resumes of a run.
        package var attempt: Int
        package var fingerprint: String
        package var logPath: String
        package var rendered: RenderedTask
    }

    /// A decision that has no attempt, for the event stream.
    package enum Notice: Sendable, Hashable {
        /// `from`: the earlier run whose success stands for it (`--only`/`--from`); nil for this run's own.
        case reused(TaskID, from: RunID?)
        case skipped(TaskID, reason: String)
        case notStarted(TaskID, reason: String)
    }

    /// What one decision produced: transitions to commit, then notices to report and tasks to start once they are.
    package struct Step: Sendable {
        package var transitions: [Transition] = []
        package var notices: [Notice] = []
        package var starts: [Start] = []
    }

    package let execution: ExecutionPlan
    package let runID: RunID
    private let registry: ActionRegistry
    private let maxParallel: Int
    private let keepGoing: Bool
    private let logPath: @Sendable (TaskID, Int) -> String
    private let rank: [Int]
    private let byRank: [Int]

    package private(set) var statuses: [TaskStatus]
    private var remaining: [Int]
    /// Whether a task's end has been passed on to its dependents' counts (once per task).
    private var released: [Bool]
    /// Tasks whose condition uses `failure()`, `always()` or `cancelled()`.
    private let afterFailure: [Bool]
    /// What `run.summary_json` reports: the failures that fail the run, in the order they ended.
    private var summary: RunSummary
    private var ready = MinHeap()
    package private(set) var scope: EvaluationScope
    /// Tasks started and not yet ended for good (a task waiting to retry still holds its slot).
    package private(set) var running = 0
    /// Running instances of each matrix task with a `max_parallel`.
    private var runningInGroup: [TaskID: Int] = [:]
    private var stopReason: String?
    package private(set) var internalError: String?
    private var failed = false
    package private(set) var isCancelled = false

    /// `logPath(task, attempt)` names an attempt's log file.
    package init(_ execution: ExecutionPlan, runID: RunID, scope baseScope: EvaluationScope, registry: ActionRegistry,
                 maxParallel: Int, keepGoing: Bool, logPath: @escaping @Sendable (TaskID, Int) -> String) {
        self.execution = execution
        self.runID = runID
        self.registry = registry
        self.maxParallel = max(1, maxParallel)
        self.keepGoing = keepGoing
        self.logPath = logPath
        let count = execution.workflow.tasks.count
        var rank = [Int](repeating: 0, count: count)
        for (position, index) in execution.order.enumerated() { rank[index] = position }
        var byRank = [Int](repeating: 0, count: count)
        for (index, r) in rank.enumerated() { byRank[r] = index }
        self.rank = rank
        self.byRank = byRank
        var scope = baseScope
        for (task, outputs) in execution.reusedOutputs { scope.outputs[task] = outputs }
        for task in execution.reusedOutputs.keys { scope.taskStatuses[task] = TaskStatus.succeeded.rawValue }
        summary = RunSummary(workflow: execution.workflow.name, runID: runID, startedAt: scope.runStartedAt,
                             scheduledFor: scope.schedule[.scheduledFor] ?? "")
        summary.missedTicks = scope.missedTicks
        scope.runSummary = summary.json
        self.scope = scope
        statuses = [TaskStatus](repeating: .pending, count: count)
        released = [Bool](repeating: false, count: count)
        afterFailure = execution.workflow.tasks.map(\.runsAfterFailure)
        remaining = execution.graph.dependencies.map(\.count)
        for i in 0..<count where remaining[i] == 0 { ready.push(rank[i]) }
    }

    private var workflow: Workflow { execution.workflow }

    /// Whether anything may still start.
    package var isStopped: Bool { stopReason != nil || internalError != nil || isCancelled }

    /// A task ended for good (after its retries): its outputs, status and error join the scope, its dependents
    /// are released — or, for a failure, skipped unless they run after failures. `logTail`: the last lines of
    /// its last attempt's log, for `run.summary_json`.
    package mutating func finished(_ index: Int, status: TaskStatus, outputs: [String: String], error: String? = nil,
                                   logTail: [String] = [], at date: Date) -> Step {
        running -= 1
        statuses[index] = status
        var step = Step()
        let task = workflow.tasks[index]
        countRunning(task, -1)
        scope.taskStatuses[task.id] = status.rawValue
        scope.taskErrors[task.id] = error ?? ""
        switch status {
        case .succeeded:
            scope.outputs[task.id] = outputs
            release(index)
        case .failed, .timedOut:
            if task.continueOnError {
                scope.outputs[task.id] = outputs
                release(index)
            } else {
                summary.failures.append(.init(task: task.id.rawValue, status: status.rawValue, error: error ?? "", logTail: logTail))
                fail(index, at: date, into: &step)
            }
        default:
            break
        }
        return step
    }

    /// Picks what starts now, up to the bound, in plan order; reused and skipped tasks release their dependents
    /// at once. The starts count as running from here on; `unstart` takes them back if their commit fails.
    /// Once the run has stopped (a failure without --keep-going, or a signal) and nothing runs, what never
    /// started releases its dependents, so the tasks that run after failures still can.
    package mutating func next(at date: Date) -> Step {
        var step = Step()
        pick(at: date, into: &step)
        if isStopped, internalError == nil, running + step.starts.count == 0, windDown() {
            pick(at: date, into: &step)
        }
        running += step.starts.count
        return step
    }

    private mutating func pick(at date: Date, into step: inout Step) {
        // Instances of a matrix at its `max_parallel` wait, in rank order, for one of theirs to end.
        var held: [Int] = []
        defer { for r in held { ready.push(r) } }
        while running + step.starts.count < maxParallel, internalError == nil, let r = ready.pop() {
            let index = byRank[r]
            // Stopped: only a task that runs after failures may start; the others stay pending, for `finish`.
            if isStopped && !afterFailure[index] { continue }
            let task = workflow.tasks[index]
            if let group = task.group, let limit = task.groupMaxParallel, execution.decisions[index].kind == .run,
               runningInGroup[group, default: 0] >= limit {
                held.append(r)
                continue
            }
            let decision = execution.decisions[index]
            switch decision.kind {
            case .reuse:
                statuses[index] = .succeeded
                scope.taskStatuses[task.id] = TaskStatus.succeeded.rawValue
                step.notices.append(.reused(task.id, from: decision.reusedFrom))
                if let from = decision.reusedFrom, let fingerprint = decision.fingerprint {
                    step.transitions.append(.taskReused(run: runID, task: task.id, fingerprint: fingerprint,
                                                        outputs: execution.reusedOutputs[task.id] ?? [:], from: from, at: date))
                }
                release(index)
                continue
            case .skip:
                skip(index, reason: decision.reason, at: date, into: &step)
                release(index)
                continue
            case .run:
                break
            }
            if let condition = task.condition {
                var scope = scope
                if afterFailure[index] { scope.upstream = upstreamStatus(of: index) }
                if !condition.evaluate(in: scope).isTruthy {
                    skip(index, reason: "condition is false: \(condition)", at: date, into: &step)
                    release(index)
                    continue
                }
            }
            guard let action = registry[task.uses] else {
                // Validation rejects unknown actions; this guards a registry that changed under it.
                settle(index, .failed, reason: "no action named '\(task.uses)'", at: date, into: &step)
                fail(index, at: date, into: &step)
                continue
            }
            statuses[index] = .running
            countRunning(task, 1)
            let number = execution.previousAttempts[index] + 1
            // The planner rendered and fingerprinted a task that no rerun upstream feeds: the same values.
            let rendered = execution.rendered[index] ?? RenderedTask(task, workflowEnv: workflow.env, scope: scope)
            let fingerprint = decision.fingerprint ?? Fingerprint.of(task, rendered, actionVersion: action.version, masker: scope.fingerprintMasker)
            let path = logPath(task.id, number)
            step.transitions.append(.attemptStarted(run: runID, task: task.id, attempt: number, fingerprint: fingerprint,
                                                    logPath: path, at: date))
            step.starts.append(Start(index: index, task: task, action: action, attempt: number, fingerprint: fingerprint,
                                     logPath: path, rendered: rendered))
        }
    }

    /// Releases the dependents of every task that will not start or has ended without releasing them; true
    /// if that made anything ready.
    private mutating func windDown() -> Bool {
        let before = ready.count
        for index in statuses.indices where !released[index] && statuses[index] != .running { release(index) }
        return ready.count > before
    }

    /// How the upstream of `index` ended, for its status functions.
    private func upstreamStatus(of index: Int) -> UpstreamStatus {
        var status = UpstreamStatus(cancelled: isCancelled)
        for u in execution.graph.upstream(of: index) {
            switch statuses[u] {
            case .failed, .timedOut:
                if !workflow.tasks[u].continueOnError { status.failed = true }
            case .pending, .running, .interrupted:
                status.incomplete = true
            case .succeeded, .reused, .skipped:
                break
            }
        }
        return status
    }

    /// A bounded matrix or foreach instance started (+1) or ended or was taken back (-1).
    private mutating func countRunning(_ task: TaskSpec, _ delta: Int) {
        guard let group = task.group, task.groupMaxParallel != nil else { return }
        runningInGroup[group, default: 0] += delta
    }

    /// The starts of `step` were not recorded: they never ran, and nothing new starts.
    package mutating func unstart(_ starts: [Start], because error: String) {
        for start in starts {
            statuses[start.index] = .pending
            countRunning(start.task, -1)
        }
        running -= starts.count
        stop(internalError: error)
    }

    /// flow could not record state: nothing new starts, and the run fails with `error`.
    package mutating func stop(internalError error: String) {
        internalError = internalError ?? error
    }

    /// Nothing new starts from now on, except tasks that run after failures, once nothing else runs.
    package mutating func cancel() {
        isCancelled = true
        summary.status = RunStatus.interrupted.rawValue
        scope.runSummary = summary.json
    }

    /// Settles every task that never started and says how the run ended. `abandoned`: why the run could not
    /// start at all, the reason its tasks did not.
    package mutating func finish(at date: Date, abandoned: String? = nil) -> (Step, RunOutcome) {
        if let abandoned { internalError = internalError ?? abandoned }
        var step = Step()
        let interrupted = isCancelled || statuses.contains(.interrupted)
        for index in statuses.indices where statuses[index] == .pending {
            let reason: String
            if interrupted {
                reason = "not started: the run was interrupted"
            } else if let abandoned {
                reason = "not started: \(abandoned)"
            } else if internalError != nil {
                reason = "not started: flow could not record state"
            } else {
                reason = stopReason.map { "not started: \($0)" } ?? "not started"
            }
            settle(index, .pending, reason: reason, at: date, into: &step)
            step.notices.append(.notStarted(workflow.tasks[index].id, reason: reason))
        }
        return (step, outcome(interrupted: interrupted))
    }

    /// How the run ends as things stand (after `finish`).
    package func outcome(interrupted: Bool? = nil) -> RunOutcome {
        let interrupted = interrupted ?? (isCancelled || statuses.contains(.interrupted))
        var byID: [TaskID: TaskStatus] = [:]
        for (i, task) in workflow.tasks.enumerated() { byID[task.id] = statuses[i] }
        let status: RunStatus = interrupted ? .interrupted
            : (failed || internalError != nil || statuses.contains(.pending)) ? .failed : .succeeded
        return RunOutcome(status: status, statuses: byID, internalError: internalError)
    }

    private mutating func skip(_ index: Int, reason: String, at date: Date, into step: inout Step) {
        settle(index, .skipped, reason: reason, at: date, into: &step)
        step.notices.append(.skipped(workflow.tasks[index].id, reason: reason))
    }

    private mutating func settle(_ index: Int, _ status: TaskStatus, reason: String?, at date: Date, into step: inout Step) {
        statuses[index] = status
        scope.taskStatuses[workflow.tasks[index].id] = status.rawValue
        step.transitions.append(.taskSettled(run: runID, task: workflow.tasks[index].id, status: status, reason: reason, at: date))
    }

    /// A failed task: its downstream can never run, except the tasks that run after failures (and what they
    /// feed, decided once they end); without --keep-going nothing else new starts.
    private mutating func fail(_ index: Int, at date: Date, into step: inout Step) {
        failed = true
        if !isCancelled { summary.status = RunStatus.failed.rawValue }
        scope.runSummary = summary.json
        let id = workflow.tasks[index].id
        var skipped: [Int] = []
        for d in execution.graph.downstream(of: index).sorted() where statuses[d] == .pending && !afterFailure[d] {
            skip(d, reason: "upstream '\(id)' failed", at: date, into: &step)
            skipped.append(d)
        }
        release(index)
        for d in skipped { release(d) }
        if !keepGoing { stopReason = stopReason ?? "the run stopped after '\(id)' failed" }
    }

    /// A task that ended (or never will start) counts as done for its dependents; one whose count reaches
    /// zero and has not been decided is ready.
    private mutating func release(_ index: Int) {
        guard !released[index] else { return }
        released[index] = true
        for d in execution.graph.dependents[index] {
            remaining[d] -= 1
            if remaining[d] == 0 && statuses[d] == .pending { ready.push(rank[d]) }
        }
    }
}
