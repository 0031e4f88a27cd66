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

    struct Completion: Sendable {
        var index: Int
        var status: TaskStatus
        var outputs: [String: String]
        var storeError: String?
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
        // Created once here rather than per attempt: a folder per task costs more than the task's own spawn.
        for folder in ["\(options.logDirectory)/\(runID)", "\(options.scratchDirectory)/\(runID)"] {
            try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        }

        func settle(_ index: Int, _ status: TaskStatus, reason: String?) {
            statuses[index] = status
            do {
                try store.taskSettled(run: runID, task: workflow.tasks[index].id, status: status, reason: reason, at: Date())
            } catch {
                internalError = internalError ?? "cannot record task state: \(error)"
            }
        }

        /// Marks everything downstream of a failed task as skipped; they can never become ready.
        func skipDownstream(of index: Int) {
            let id = workflow.tasks[index].id
            for d in graph.downstream(of: index).sorted() where statuses[d] == .pending {
                let reason = "upstream '\(id)' failed"
                settle(d, .skipped, reason: reason)
                events(.taskSkipped(workflow.tasks[d].id, reason: reason))
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

            func launch() {
                while running < maxParallel, stopReason == nil, internalError == nil, !Task.isCancelled, let r = ready.pop() {
                    let index = byRank[r]
                    let task = workflow.tasks[index]
                    let decision = plan.decisions[index]
                    switch decision.kind {
                    case .reuse:
                        statuses[index] = .succeeded
                        events(.taskReused(task.id))
                        release(index)
                        continue
                    case .skip:
                        settle(index, .skipped, reason: decision.reason)
                        events(.taskSkipped(task.id, reason: decision.reason))
                        release(index)
                        continue
                    case .run:
                        break
                    }
                    if let condition = task.condition, !condition.evaluate(in: scope).isTruthy {
                        let reason = "condition is false: \(condition)"
                        settle(index, .skipped, reason: reason)
                        events(.taskSkipped(task.id, reason: reason))
                        release(index)
                        continue
                    }
                    statuses[index] = .running
                    running += 1
                    let taskScope = scope
                    let previous = plan.previousAttempts[index]
                    group.addTask {
                        await self.execute(task, index: index, runID: runID, scope: taskScope, workflow: workflow,
                                           previousAttempts: previous)
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
            events(.taskNotStarted(workflow.tasks[index].id, reason: reason))
        }
        try? FileManager.default.removeItem(atPath: "\(options.scratchDirectory)/\(runID)")
        var byID: [TaskID: TaskStatus] = [:]
        for (i, task) in workflow.tasks.enumerated() { byID[task.id] = statuses[i] }
        let status: RunStatus = interrupted ? .interrupted
            : (failed || internalError != nil || statuses.contains(.pending)) ? .failed : .succeeded
        return RunOutcome(status: status, statuses: byID, internalError: internalError)
    }
}
