import FlowCore
import FlowPlan
import Foundation

/// Makes the command runner of one run, given the run's log folder. Called on the run's loop thread.
package typealias CommandRunnerFactory = @Sendable (_ logFolder: String) throws -> any CommandRunner

/// Runs an execution plan: ready tasks in topological order, at most `maxParallel` at once, every
/// transition written to the checkpoint store before the engine moves on. The work is done by a `Builder`
/// on a thread of its own, which owns the run's `RunPlan` and `CommandRunner`.
package struct Engine: Sendable {
    package let registry: ActionRegistry
    package let store: any CheckpointStore
    package let options: EngineOptions
    package let events: @Sendable (EngineEvent) -> Void
    package let makeRunner: CommandRunnerFactory

    package init(registry: ActionRegistry, store: any CheckpointStore, options: EngineOptions,
                 runner makeRunner: @escaping CommandRunnerFactory, events: @escaping @Sendable (EngineEvent) -> Void = { _ in }) {
        self.registry = registry
        self.store = store
        self.options = options
        self.makeRunner = makeRunner
        self.events = events
    }

    /// Executes `plan` as run `runID`; `scope` is the run's, complete (its id included). Cancelling the
    /// calling task interrupts the run: nothing new starts, running tasks get SIGTERM (then SIGKILL after the
    /// grace period) and are recorded `interrupted`.
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
        let runPlan = RunPlan(plan, runID: runID, scope: scope, registry: registry, maxParallel: maxParallel,
                              keepGoing: options.keepGoing, logPath: { [self] task, attempt in logPath(run: runID, task: task, attempt: attempt) })
        let mailbox = Builder.Mailbox()
        let outcome = await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<RunOutcome, Never>) in
                // The loop blocks in the runner's wait, so it gets a thread of its own rather than one of the
                // concurrency pool's (two, on this machine); the state database is written from it alone.
                let thread = Thread {
                    let outcome: RunOutcome
                    do {
                        let runner = try makeRunner(logFolder)
                        outcome = Builder(engine: self, plan: runPlan, runner: runner, mailbox: mailbox).run()
                    } catch {
                        outcome = abandon(runPlan, because: "cannot start the run loop: \(error)")
                    }
                    continuation.resume(returning: outcome)
                }
                thread.name = "flow-run"
                thread.start()
            }
        } onCancel: {
            mailbox.post(.cancel)
        }
        try? FileManager.default.removeItem(atPath: scratchFolder)
        return outcome
    }

    /// Ends a run that could not start at all: every task is settled as not started, for the real cause.
    private func abandon(_ plan: RunPlan, because reason: String) -> RunOutcome {
        var plan = plan
        let (step, outcome) = plan.finish(at: Date(), abandoned: reason)
        do {
            _ = try store.record(step.transitions)
            step.notices.forEach { events(EngineEvent($0)) }
        } catch {
            return RunOutcome(status: .failed, statuses: outcome.statuses, internalError: "\(reason); and flow could not record it: \(error)")
        }
        return outcome
    }

    /// What a batch of transitions records, for an error message: "the end of 'a' and the start of 'b'".
    static func describe(_ transitions: [Transition]) -> String {
        let parts = transitions.compactMap { transition -> String? in
            switch transition {
            case .attemptStarted(_, let task, _, _, _, _): return "the start of '\(task)'"
            case .attemptFinished(_, _, let task, _, _, _, _, _, _): return "the end of '\(task)'"
            case .taskSettled(_, let task, let status, _, _): return "'\(task)' as \(status.rawValue)"
            case .taskReused(_, let task, _, _, let from, _): return "'\(task)' as reused from run \(from)"
            case .processStarted: return nil
            }
        }
        guard !parts.isEmpty else { return "the process groups of running tasks" }
        let shown = parts.prefix(3).joined(separator: ", ")
        return parts.count > 3 ? "\(shown) and \(parts.count - 3) more" : shown
    }

    /// `<logDirectory>/<run>/<task>.<attempt>.log`: attempt numbers continue across resumes, so earlier
    /// attempts' logs are kept.
    func logPath(run: RunID, task: TaskID, attempt: Int) -> String {
        "\(logFolder(run: run))/\(task).\(attempt).log"
    }

    func logFolder(run: RunID) -> String {
        "\(options.logDirectory)/\(run)"
    }

    static func resolve(_ path: String?, in directory: String) -> String {
        guard let path, !path.isEmpty else { return directory }
        return FilePath.resolve(path, in: directory)
    }
}

extension EngineEvent {
    init(_ notice: RunPlan.Notice) {
        switch notice {
        case .reused(let task, let from): self = .taskReused(task, from: from)
        case .skipped(let task, let reason): self = .taskSkipped(task, reason: reason)
        case .notStarted(let task, let reason): self = .taskNotStarted(task, reason: reason)
        }
    }
}
