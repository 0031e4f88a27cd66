import FlowCore
import FlowPlan
import Foundation
import Synchronization

/// The state of one run, and the decisions made on it: which tasks are ready, which start, what is committed.
/// The run loop (`RunLoop`) reports each task's end with `complete(_:)` and gets back the starts it
/// released, committed together with that end. Decisions are made under one lock, one at a time, in order.
final class RunScheduler: Sendable {
    /// A task to start: its attempt row is committed. It carries its evaluated setup rather than the run's
    /// scope: a job holding the scope would make the next task's outputs copy every task's outputs.
    struct Job: Sendable {
        var setup: Engine.TaskSetup
        var action: any Action
        var started: Engine.StartedAttempt
        var task: TaskSpec { setup.task }
    }

    struct State {
        var statuses: [TaskStatus]
        var remaining: [Int]
        var ready = MinHeap()
        var scope: EvaluationScope
        var running = 0
        var stopReason: String?
        var internalError: String?
        var failed = false
        var cancelled = false
        /// Transitions decided but not yet committed, and the events that report them once they are.
        var pending: [Transition] = []
        var pendingEvents: [EngineEvent] = []
    }

    private let engine: Engine
    private let plan: ExecutionPlan
    private let runID: RunID
    private let rank: [Int]
    private let byRank: [Int]
    private let maxParallel: Int
    let state: Mutex<State>

    init(engine: Engine, plan: ExecutionPlan, runID: RunID, scope baseScope: EvaluationScope, maxParallel: Int) {
        self.engine = engine
        self.plan = plan
        self.runID = runID
        self.maxParallel = maxParallel
        let count = plan.workflow.tasks.count
        var rank = [Int](repeating: 0, count: count)
        for (position, index) in plan.order.enumerated() { rank[index] = position }
        var byRank = [Int](repeating: 0, count: count)
        for (index, r) in rank.enumerated() { byRank[r] = index }
        self.rank = rank
        self.byRank = byRank
        var scope = baseScope
        for (task, outputs) in plan.reusedOutputs { scope.outputs[task] = outputs }
        var state = State(statuses: [TaskStatus](repeating: .pending, count: count),
                          remaining: plan.graph.dependencies.map(\.count), scope: scope)
        for i in 0..<count where state.remaining[i] == 0 { state.ready.push(rank[i]) }
        self.state = Mutex(state)
    }

    /// The first jobs: everything ready at the start, up to the bound, in one commit.
    func start() -> [Job] {
        state.withLock { s in launch(&s) }
    }

    /// Records a task's end and starts what it releases, up to the bound, in one commit.
    func complete(_ completion: Engine.Completion) -> [Job] {
        state.withLock { s in
            apply(completion, to: &s)
            return launch(&s)
        }
    }

    /// Nothing new starts from now on.
    func cancel() {
        state.withLock { $0.cancelled = true }
    }

    /// Ends a run that could not start at all: every task is settled as not started.
    func abandon(because reason: String) -> RunOutcome {
        state.withLock { s in s.internalError = s.internalError ?? reason }
        return finish(abandoned: reason)
    }

    /// Settles every task that never started, commits, and reports how the run ended.
    /// `abandoned`: why the run could not start at all, the reason its tasks did not.
    func finish(abandoned: String? = nil) -> RunOutcome {
        state.withLock { s in
            let interrupted = s.cancelled || s.statuses.contains(.interrupted)
            for index in 0..<s.statuses.count where s.statuses[index] == .pending {
                let reason: String
                if interrupted {
                    reason = "not started: the run was interrupted"
                } else if let abandoned {
                    reason = "not started: \(abandoned)"
                } else if s.internalError != nil {
                    reason = "not started: flow could not record state"
                } else {
                    reason = s.stopReason.map { "not started: \($0)" } ?? "not started"
                }
                settle(index, .pending, reason: reason, in: &s)
                s.pendingEvents.append(.taskNotStarted(plan.workflow.tasks[index].id, reason: reason))
            }
            _ = commit(&s)
            var byID: [TaskID: TaskStatus] = [:]
            for (i, task) in plan.workflow.tasks.enumerated() { byID[task.id] = s.statuses[i] }
            let status: RunStatus = interrupted ? .interrupted
                : (s.failed || s.internalError != nil || s.statuses.contains(.pending)) ? .failed : .succeeded
            return RunOutcome(status: status, statuses: byID, internalError: s.internalError)
        }
    }

    private func apply(_ completion: Engine.Completion, to s: inout State) {
        s.running -= 1
        let index = completion.index
        let task = plan.workflow.tasks[index]
        s.statuses[index] = completion.status
        if let error = completion.storeError { s.internalError = s.internalError ?? error }
        if let finish = completion.finish { s.pending.append(finish) }
        if let finished = completion.finished { s.pendingEvents.append(finished) }
        switch completion.status {
        case .succeeded:
            s.scope.outputs[task.id] = completion.outputs
            release(index, in: &s)
        case .failed, .timedOut:
            if task.continueOnError {
                s.scope.outputs[task.id] = completion.outputs
                release(index, in: &s)
            } else {
                fail(index, in: &s)
            }
        default:
            break
        }
    }

    /// Picks what starts now (up to the bound) and commits it with everything pending, so a task's end
    /// and the starts it releases cost one commit.
    private func launch(_ s: inout State) -> [Job] {
        let workflow = plan.workflow
        var starting: [Job] = []
        while s.running + starting.count < maxParallel, s.stopReason == nil, s.internalError == nil, !s.cancelled,
              let r = s.ready.pop() {
            let index = byRank[r]
            let task = workflow.tasks[index]
            let decision = plan.decisions[index]
            switch decision.kind {
            case .reuse:
                s.statuses[index] = .succeeded
                s.pendingEvents.append(.taskReused(task.id))
                release(index, in: &s)
                continue
            case .skip:
                settle(index, .skipped, reason: decision.reason, in: &s)
                s.pendingEvents.append(.taskSkipped(task.id, reason: decision.reason))
                release(index, in: &s)
                continue
            case .run:
                break
            }
            if let condition = task.condition, !condition.evaluate(in: s.scope).isTruthy {
                let reason = "condition is false: \(condition)"
                settle(index, .skipped, reason: reason, in: &s)
                s.pendingEvents.append(.taskSkipped(task.id, reason: reason))
                release(index, in: &s)
                continue
            }
            guard let action = engine.registry[task.uses] else {
                // Validation rejects unknown actions; this guards a registry that changed under it.
                settle(index, .failed, reason: "no action named '\(task.uses)'", in: &s)
                fail(index, in: &s)
                continue
            }
            s.statuses[index] = .running
            let number = plan.previousAttempts[index] + 1
            // Rendered once: the fingerprint and the action's environment and inputs are the same values.
            let rendered = RenderedTask(task, workflowEnv: workflow.env, scope: s.scope)
            // A resumed run's plan computed it already for a task no rerun upstream feeds: the same values.
            let fingerprint = plan.decisions[index].fingerprint ?? Fingerprint.of(task, rendered, actionVersion: action.version)
            let logPath = engine.logPath(run: runID, task: task.id, attempt: number)
            s.pending.append(.attemptStarted(run: runID, task: task.id, attempt: number, fingerprint: fingerprint,
                                             logPath: logPath, at: Date()))
            starting.append(Job(setup: engine.setup(task, index: index, rendered: rendered), action: action,
                                started: Engine.StartedAttempt(id: 0, number: number, logPath: logPath, fingerprint: fingerprint)))
        }
        guard let ids = commit(&s) else {
            for job in starting { s.statuses[job.setup.index] = .pending }
            return []
        }
        guard !starting.isEmpty else { return [] }
        CrashPoint.hit("after-attempt-row")
        for (i, id) in zip(starting.indices, ids) {
            starting[i].started.id = id
            engine.events(.taskStarted(starting[i].task.id, attempt: starting[i].started.number))
        }
        s.running += starting.count
        return starting
    }

    /// Commits everything pending in one transaction, then reports it. The new attempts' IDs, or nil.
    private func commit(_ s: inout State) -> [AttemptID]? {
        defer {
            s.pending.removeAll()
            s.pendingEvents.removeAll()
        }
        guard !s.pending.isEmpty else {
            s.pendingEvents.forEach(engine.events)
            return []
        }
        do {
            let ids = try engine.store.record(s.pending)
            s.pendingEvents.forEach(engine.events)
            return ids
        } catch {
            s.internalError = s.internalError ?? "cannot record \(Engine.describe(s.pending)): \(error)"
            for event in s.pendingEvents { engine.events(event.unrecorded) }
            return nil
        }
    }

    private func settle(_ index: Int, _ status: TaskStatus, reason: String?, in s: inout State) {
        s.statuses[index] = status
        s.pending.append(.taskSettled(run: runID, task: plan.workflow.tasks[index].id, status: status, reason: reason, at: Date()))
    }

    /// A failed task: its downstream can never run; without --keep-going nothing new starts.
    private func fail(_ index: Int, in s: inout State) {
        s.failed = true
        let id = plan.workflow.tasks[index].id
        for d in plan.graph.downstream(of: index).sorted() where s.statuses[d] == .pending {
            let reason = "upstream '\(id)' failed"
            settle(d, .skipped, reason: reason, in: &s)
            s.pendingEvents.append(.taskSkipped(plan.workflow.tasks[d].id, reason: reason))
        }
        if !engine.options.keepGoing { s.stopReason = s.stopReason ?? "the run stopped after '\(id)' failed" }
    }

    /// A task that ends satisfied releases its dependents.
    private func release(_ index: Int, in s: inout State) {
        for d in plan.graph.dependents[index] {
            s.remaining[d] -= 1
            if s.remaining[d] == 0 && s.statuses[d] == .pending { s.ready.push(rank[d]) }
        }
    }
}
