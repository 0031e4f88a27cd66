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
        // Scratch files are named by run, task and attempt, and attempt numbers are never reused within a run,
        // so only an earlier process with this run id (a crashed run now resumed, or a state database removed
        // while .flow/tmp was kept) can have left files here: cleared once, so no attempt must check its own.
        try? FileManager.default.removeItem(atPath: scratchFolder)
        // Created once here rather than per attempt: a folder per task costs more than the task's own spawn.
        for folder in [logFolder, scratchFolder] {
            try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        }
        let scheduler = RunScheduler(engine: self, plan: plan, runID: runID, scope: scope, maxParallel: maxParallel)
        let outcome: RunOutcome
        do {
            let mailbox = try RunLoop.Mailbox()
            outcome = await withTaskCancellationHandler {
                await withCheckedContinuation { (continuation: CheckedContinuation<RunOutcome, Never>) in
                    // The loop blocks in epoll_wait, so it gets a thread of its own rather than one of the
                    // concurrency pool's (two, on this machine).
                    let thread = Thread {
                        let loop = RunLoop(engine: self, scheduler: scheduler, runID: runID, mailbox: mailbox,
                                           logFolder: logFolder)
                        continuation.resume(returning: loop.run())
                    }
                    thread.name = "flow-run"
                    thread.start()
                }
            } onCancel: {
                mailbox.post(.cancel)
            }
        } catch {
            outcome = scheduler.abandon(because: "cannot start the run loop: \(error)")
        }
        try? FileManager.default.removeItem(atPath: scratchFolder)
        return outcome
    }

    /// What a batch of transitions records, for an error message: "the end of 'a' and the start of 'b'".
    static func describe(_ transitions: [Transition]) -> String {
        let parts = transitions.map { transition -> String in
            switch transition {
            case .attemptStarted(_, let task, _, _, _, _): return "the start of '\(task)'"
            case .attemptFinished(_, _, let task, _, _, _, _, _, _): return "the end of '\(task)'"
            case .taskSettled(_, let task, let status, _, _): return "'\(task)' as \(status.rawValue)"
            }
        }
        let shown = parts.prefix(3).joined(separator: ", ")
        return parts.count > 3 ? "\(shown) and \(parts.count - 3) more" : shown
    }
}
