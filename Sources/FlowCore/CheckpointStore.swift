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

/// The engine's view of the state database: every transition is written before the engine moves on.
package protocol CheckpointStore: Sendable {
    /// Writes the `running` attempt row (and the task's state) before the action starts.
    func attemptStarted(run: RunID, task: TaskID, attempt: Int, fingerprint: String, logPath: String,
                        at date: Date) throws -> AttemptID
    /// Records the process group of a running attempt, so a later runner can kill orphans.
    func processStarted(attempt: AttemptID, pid: Int32) throws
    /// Ends an attempt and, in the same transaction, records the task's outputs and state.
    func attemptFinished(attempt: AttemptID, run: RunID, task: TaskID, outcome: AttemptOutcome,
                         outputs: [String: String], isFinal: Bool, at date: Date) throws
    /// Records a task that ends without an attempt: skipped, reused, or left pending.
    func taskSettled(run: RunID, task: TaskID, status: TaskStatus, reason: String?, at date: Date) throws
    /// Commits in-task checkpoint values (upserts by key).
    func saveCheckpoint(run: RunID, task: TaskID, values: [String: String], at date: Date) throws
    func checkpoint(run: RunID, task: TaskID) throws -> [String: String]
}
