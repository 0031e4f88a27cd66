import Foundation
import FlowCore

/// What the engine reports as a run progresses; the CLI renders these as progress lines.
package enum EngineEvent: Sendable {
    case taskStarted(TaskID, attempt: Int)
    case taskRetrying(TaskID, attempt: Int, delay: Duration, error: String)
    /// `logTail`: for a task that failed for good, the last lines of its last attempt's log.
    case taskFinished(TaskID, status: TaskStatus, attempt: Int, duration: Duration, error: String?, logTail: [String] = [])
    /// `from`: the earlier run whose success a `--only`/`--from` run took; nil for this run's own.
    case taskReused(TaskID, from: RunID?)
    case taskSkipped(TaskID, reason: String)
    case taskNotStarted(TaskID, reason: String)

    /// This event as reported when the state it reports could not be committed: a task's end then reads as
    /// a failure (a success that is not recorded did not happen as far as a resume is concerned).
    var unrecorded: EngineEvent {
        guard case .taskFinished(let id, let status, let attempt, let duration, let message, let tail) = self else { return self }
        return .taskFinished(id, status: status == .succeeded ? .failed : status, attempt: attempt, duration: duration,
                             error: "\(message ?? "finished") — and flow could not record it", logTail: tail)
    }
}

/// Options for one execution.
package struct EngineOptions: Sendable {
    package var maxParallel: Int
    package var keepGoing: Bool
    package var gracePeriod: Duration
    /// Where attempt logs go: `<logDirectory>/<run>/<task>.<attempt>.log`.
    package var logDirectory: String
    /// Where per-attempt scratch files (`$FLOW_OUTPUT`) go.
    package var scratchDirectory: String
    /// The folder relative `working_directory` values resolve against.
    package var projectDirectory: String
    /// The run's clock (`FLOW_NOW` pins it).
    package var now: Date
    /// Extra environment for every task, such as `FLOW_STATE`, which tags a run's processes.
    package var taskEnvironment: [String: String] = [:]
    /// What a task inherits of flow's environment (a workflow's secrets taken out); in-process actions see it
    /// as `TaskContext.inherited`.
    package var inherited: [String: String] = HostEnvironment.all
    /// Replaces the run's secrets in everything an attempt leaves: its log lines, outputs, error, checkpoints.
    package var masker = SecretMasker.none
    /// Seeds retry jitter; fixed in tests.
    package var jitter: @Sendable () -> Double

    package init(maxParallel: Int, keepGoing: Bool = false, gracePeriod: Duration = .seconds(5), logDirectory: String,
                 scratchDirectory: String, projectDirectory: String, now: Date = Date(),
                 jitter: @escaping @Sendable () -> Double = { Double.random(in: -1...1) }) {
        self.maxParallel = max(1, maxParallel)
        self.keepGoing = keepGoing
        self.gracePeriod = gracePeriod
        self.logDirectory = logDirectory
        self.scratchDirectory = scratchDirectory
        self.projectDirectory = projectDirectory
        self.now = now
        self.jitter = jitter
    }
}
