import Foundation

/// How an attempt ended.
package struct AttemptOutcome: Sendable, Hashable {
    package var status: TaskStatus
    package var exitCode: Int32?
    package var signal: Int32?
    package var error: String?

    package init(status: TaskStatus, exitCode: Int32? = nil, signal: Int32? = nil, error: String? = nil) {
        self.status = status
        self.exitCode = exitCode
        self.signal = signal
        self.error = error
    }
}

/// The identifier of one attempt row.
package typealias AttemptID = Int64

/// One state change of a run. The engine hands several to `CheckpointStore.record` at once when they
/// happen together (a task's end and the starts it releases), so they cost one commit, not one each.
package enum Transition: Sendable {
    /// The `running` attempt row (and the task's state), written before the action starts.
    case attemptStarted(run: RunID, task: TaskID, attempt: Int, fingerprint: String, logPath: String, at: Date)
    /// The end of an attempt with the task's outputs and state. `logKept` false: the attempt wrote no
    /// output and left no log file. `firstInRun`: the run's first attempt of the task, so no earlier attempt
    /// can have left outputs to replace.
    case attemptFinished(attempt: AttemptID, run: RunID, task: TaskID, outcome: AttemptOutcome,
                         outputs: [String: String], isFinal: Bool, logKept: Bool = true, at: Date, firstInRun: Bool = false)
    /// A task that ends without an attempt: skipped, or left pending.
    case taskSettled(run: RunID, task: TaskID, status: TaskStatus, reason: String?, at: Date)
    /// A task a `--only`/`--from` run does not run: its success in run `from` (same fingerprint) stands, with
    /// those outputs, as this run's.
    case taskReused(run: RunID, task: TaskID, fingerprint: String, outputs: [String: String], from: RunID, at: Date)
    /// The process group a running attempt started, so a later runner can stop it if this one dies. The engine
    /// sends it with the next transaction, or on its own shortly after: until it is written, a dead runner's
    /// processes are still found by their `FLOW_RUN_ID` + `FLOW_STATE` environment tag.
    case processStarted(attempt: AttemptID, pid: Int32)
}

/// The engine's view of the state database: every transition is written before the engine moves on.
package protocol CheckpointStore: Sendable {
    /// Writes `transitions` in order in one transaction: all of them or none. Returns the new attempts' IDs,
    /// one per `.attemptStarted`, in order.
    func record(_ transitions: [Transition]) throws -> [AttemptID]
    /// Commits in-task checkpoint values (upserts by key).
    func saveCheckpoint(run: RunID, task: TaskID, values: [String: String], at date: Date) throws
    func checkpoint(run: RunID, task: TaskID) throws -> [String: String]
}

extension CheckpointStore {
    /// Records one attempt's start on its own.
    package func attemptStarted(run: RunID, task: TaskID, attempt: Int, fingerprint: String, logPath: String,
                                at date: Date) throws -> AttemptID {
        let ids = try record([.attemptStarted(run: run, task: task, attempt: attempt, fingerprint: fingerprint,
                                              logPath: logPath, at: date)])
        guard let id = ids.first else { throw TaskFailure("the store returned no attempt id") }
        return id
    }

    package func taskSettled(run: RunID, task: TaskID, status: TaskStatus, reason: String?, at date: Date) throws {
        _ = try record([.taskSettled(run: run, task: task, status: status, reason: reason, at: date)])
    }
}
