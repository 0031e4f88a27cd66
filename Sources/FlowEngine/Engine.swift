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
    package func run(_ plan: ExecutionPlan, runID: RunID, scope: EvaluationScope) async -> RunOutcome {
        let maxParallel = min(options.maxParallel, max(1, plan.workflow.tasks.count))
        let logFolder = logFolder(run: runID)
        let scratchFolder = "\(options.scratchDirectory)/\(runID)"
        // Created once here rather than per attempt: a folder per task costs more than the task's own spawn.
        for folder in [logFolder, scratchFolder] {
            try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        }
        let scheduler = RunScheduler(engine: self, plan: plan, runID: runID, scope: scope, maxParallel: maxParallel)
        // One lane per slot: each runs a task, reports its end and goes on with whatever that releases.
        let first = scheduler.start()
        await withTaskGroup(of: Void.self) { group in
            for lane in 0..<maxParallel {
                let initial = lane < first.count ? first[lane] : nil
                group.addTask {
                    let logs = LogRecycler(folder: logFolder, lane: lane)
                    defer { logs.close() }
                    var job = if let initial { initial } else { await scheduler.next(after: nil) }
                    while case .run(let task, let action, let index, let taskScope, let started) = job {
                        let completion = await self.execute(task, action: action, index: index, runID: runID, scope: taskScope,
                                                            workflow: plan.workflow, first: started, logs: logs)
                        job = await scheduler.next(after: completion)
                    }
                }
            }
        }
        try? FileManager.default.removeItem(atPath: scratchFolder)
        return scheduler.finish(interrupted: Task.isCancelled)
    }

    /// What a batch of transitions records, for an error message: "the end of 'a' and the start of 'b'".
    static func describe(_ transitions: [Transition]) -> String {
        let parts = transitions.map { transition -> String in
            switch transition {
            case .attemptStarted(_, let task, _, _, _, _): return "the start of '\(task)'"
            case .attemptFinished(_, _, let task, _, _, _, _, _): return "the end of '\(task)'"
            case .taskSettled(_, let task, let status, _, _): return "'\(task)' as \(status.rawValue)"
            }
        }
        let shown = parts.prefix(3).joined(separator: ", ")
        return parts.count > 3 ? "\(shown) and \(parts.count - 3) more" : shown
    }
}
