import FlowCore
import FlowPlan
import Foundation

/// Runs an execution plan: ready tasks in topological order, at most `maxParallel` at once, every
/// transition written to the checkpoint store before the engine moves on.
package struct Engine: Sendable {
    package let registry: ActionRegistry
    package let store: any CheckpointStore
    package let options: EngineOptions
    package let events: @Sendable (EngineEvent) -> Void

    package init(registry: ActionRegistry, store: any CheckpointStore, options: EngineOptions,
                 events: @escaping @Sendable (EngineEvent) -> Void = { _ in }) {
        self.registry = registry
        self.store = store
        self.options = options
        self.events = events
    }

    /// An attempt whose `running` row is committed, handed to the task that runs it.
    struct StartedAttempt: Sendable {
        var id: AttemptID
        var number: Int
        var logPath: String
        var fingerprint: String
    }

    struct Completion: Sendable {
        var index: Int
        var status: TaskStatus
        var outputs: [String: String]
        var storeError: String?
        /// The last attempt's end. The run loop commits it together with the starts it releases.
        var finish: Transition? = nil
        /// Reported once `finish` is committed.
        var finished: EngineEvent? = nil
    }

    /// Executes `plan` as run `runID`. Cancelling the calling task interrupts the run: nothing new starts,
    /// running tasks get SIGTERM (then SIGKILL after the grace period) and are recorded `interrupted`.
    package func run(_ plan: ExecutionPlan, runID: RunID, scope baseScope: EvaluationScope) async -> RunOutcome {
        let workflow = plan.workflow
        let graph = plan.graph
        let count = workflow.tasks.count
        var scope = baseScope
        for (task, outputs) in plan.reusedOutputs { scope.outputs[task] = outputs }
        var statuses = [TaskStatus](repeating: .pending, count: count)
        var remaining = graph.dependencies.map(\.count)
        var ready = MinHeap()
        var rank = [Int](repeating: 0, count: count)
        for (position, index) in plan.order.enumerated() { rank[index] = position }
        var byRank = [Int](repeating: 0, count: count)
        for (index, r) in rank.enumerated() { byRank[r] = index }
        for i in 0..<count where remaining[i] == 0 { ready.push(rank[i]) }
        var stopReason: String?
        var internalError: String?
        var failed = false
        let maxParallel = min(options.maxParallel, max(1, count))
        let logFolder = "\(options.logDirectory)/\(runID)"
        // Created once here rather than per attempt: a folder per task costs more than the task's own spawn.
        for folder in [logFolder, "\(options.scratchDirectory)/\(runID)"] {
            try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        }
        // Transitions decided but not yet committed, and the events that report them once they are.
        var pending: [Transition] = []
        var pendingEvents: [EngineEvent] = []

        func settle(_ index: Int, _ status: TaskStatus, reason: String?) {
            statuses[index] = status
            pending.append(.taskSettled(run: runID, task: workflow.tasks[index].id, status: status, reason: reason, at: Date()))
        }

        /// Commits everything pending in one transaction, then reports it. Returns the new attempts' IDs.
        func commit() -> [AttemptID]? {
            guard !pending.isEmpty else {
                pendingEvents.forEach(events)
                pendingEvents.removeAll()
                return []
            }
            defer {
                pending.removeAll()
                pendingEvents.removeAll()
            }
            do {
                let ids = try store.record(pending)
                pendingEvents.forEach(events)
                return ids
            } catch {
                internalError = internalError ?? "cannot record \(Engine.describe(pending)): \(error)"
                for event in pendingEvents {
                    if case .taskFinished(let id, let status, let attempt, let duration, let message) = event {
                        events(.taskFinished(id, status: status == .succeeded ? .failed : status, attempt: attempt,
                                             duration: duration, error: "\(message ?? "finished") — and flow could not record it"))
                    } else {
                        events(event)
                    }
                }
                return nil
            }
        }

        /// Marks everything downstream of a failed task as skipped; they can never become ready.
        func skipDownstream(of index: Int) {
            let id = workflow.tasks[index].id
            for d in graph.downstream(of: index).sorted() where statuses[d] == .pending {
                let reason = "upstream '\(id)' failed"
                settle(d, .skipped, reason: reason)
                pendingEvents.append(.taskSkipped(workflow.tasks[d].id, reason: reason))
            }
        }

        /// A task that ends satisfied releases its dependents.
        func release(_ index: Int) {
            for d in graph.dependents[index] {
                remaining[d] -= 1
                if remaining[d] == 0 && statuses[d] == .pending { ready.push(rank[d]) }
            }
        }

        await withTaskGroup(of: Completion.self) { group in
            var running = 0

            /// Starts what is ready, up to the bound. The starts are committed with whatever else is pending (the
            /// end of the task that released them), so a task's end and its dependents' starts cost one commit.
            func launch() {
                var starting: [(index: Int, action: any Action, started: StartedAttempt)] = []
                while running + starting.count < maxParallel, stopReason == nil, internalError == nil, !Task.isCancelled,
                      let r = ready.pop() {
                    let index = byRank[r]
                    let task = workflow.tasks[index]
                    let decision = plan.decisions[index]
                    switch decision.kind {
                    case .reuse:
                        statuses[index] = .succeeded
                        pendingEvents.append(.taskReused(task.id))
                        release(index)
                        continue
                    case .skip:
                        settle(index, .skipped, reason: decision.reason)
                        pendingEvents.append(.taskSkipped(task.id, reason: decision.reason))
                        release(index)
                        continue
                    case .run:
                        break
                    }
                    if let condition = task.condition, !condition.evaluate(in: scope).isTruthy {
                        let reason = "condition is false: \(condition)"
                        settle(index, .skipped, reason: reason)
                        pendingEvents.append(.taskSkipped(task.id, reason: reason))
                        release(index)
                        continue
                    }
                    guard let action = registry[task.uses] else {
                        // Validation rejects unknown actions; this guards a registry that changed under it.
                        settle(index, .failed, reason: "no action named '\(task.uses)'")
                        failed = true
                        skipDownstream(of: index)
                        if !options.keepGoing { stopReason = stopReason ?? "the run stopped after '\(task.id)' failed" }
                        continue
                    }
                    statuses[index] = .running
                    // Attempt numbers continue across resumes, so earlier attempts' logs are kept.
                    let number = plan.previousAttempts[index] + 1
                    let fingerprint = Fingerprint.of(task, workflowEnv: workflow.env, actionVersion: action.version, scope: scope)
                    let logPath = "\(logFolder)/\(task.id).\(number).log"
                    pending.append(.attemptStarted(run: runID, task: task.id, attempt: number, fingerprint: fingerprint,
                                                   logPath: logPath, at: Date()))
                    starting.append((index, action, StartedAttempt(id: 0, number: number, logPath: logPath, fingerprint: fingerprint)))
                }
                guard let ids = commit() else {
                    for s in starting { statuses[s.index] = .pending }
                    return
                }
                guard !starting.isEmpty else { return }
                CrashPoint.hit("after-attempt-row")
                for (s, id) in zip(starting, ids) {
                    let task = workflow.tasks[s.index]
                    var started = s.started
                    started.id = id
                    events(.taskStarted(task.id, attempt: started.number))
                    running += 1
                    let taskScope = scope
                    let index = s.index
                    let action = s.action
                    group.addTask {
                        await self.execute(task, action: action, index: index, runID: runID, scope: taskScope,
                                           workflow: workflow, first: started)
                    }
                }
            }

            launch()
            while let completion = await group.next() {
                running -= 1
                let index = completion.index
                let task = workflow.tasks[index]
                statuses[index] = completion.status
                if let error = completion.storeError { internalError = internalError ?? error }
                if let finish = completion.finish { pending.append(finish) }
                if let finished = completion.finished { pendingEvents.append(finished) }
                switch completion.status {
                case .succeeded:
                    scope.outputs[task.id] = completion.outputs
                    release(index)
                case .failed, .timedOut:
                    if task.continueOnError {
                        scope.outputs[task.id] = completion.outputs
                        release(index)
                    } else {
                        failed = true
                        skipDownstream(of: index)
                        if !options.keepGoing { stopReason = stopReason ?? "the run stopped after '\(task.id)' failed" }
                    }
                default:
                    break
                }
                launch()
            }
        }

        let interrupted = Task.isCancelled || statuses.contains(.interrupted)
        for index in 0..<count where statuses[index] == .pending {
            let reason = interrupted ? "not started: the run was interrupted"
                : internalError != nil ? "not started: flow could not record state"
                : stopReason.map { "not started: \($0)" } ?? "not started"
            settle(index, .pending, reason: reason)
            pendingEvents.append(.taskNotStarted(workflow.tasks[index].id, reason: reason))
        }
        _ = commit()
        try? FileManager.default.removeItem(atPath: "\(options.scratchDirectory)/\(runID)")
        var byID: [TaskID: TaskStatus] = [:]
        for (i, task) in workflow.tasks.enumerated() { byID[task.id] = statuses[i] }
        let status: RunStatus = interrupted ? .interrupted
            : (failed || internalError != nil || statuses.contains(.pending)) ? .failed : .succeeded
        return RunOutcome(status: status, statuses: byID, internalError: internalError)
    }

    /// What a batch of transitions records, for an error message: "the end of 'a' and the start of 'b'".
    static func describe(_ transitions: [Transition]) -> String {
        let parts = transitions.map { transition -> String in
            switch transition {
            case .attemptStarted(_, let task, _, _, _, _): return "the start of '\(task)'"
            case .attemptFinished(_, _, let task, _, _, _, _): return "the end of '\(task)'"
            case .taskSettled(_, let task, let status, _, _): return "'\(task)' as \(status.rawValue)"
            }
        }
        let shown = parts.prefix(3).joined(separator: ", ")
        return parts.count > 3 ? "\(shown) and \(parts.count - 3) more" : shown
    }
}
