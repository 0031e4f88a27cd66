/// The state of a whole run. Stored as its raw value: never rename a case, add a new one instead.
package enum RunStatus: String, Sendable, Codable, CaseIterable {
    case running
    case succeeded
    case failed
    case interrupted

    package var isResumable: Bool { self == .failed || self == .interrupted }
}

/// The state of one task in a run, and of one attempt. Stored as its raw value: never rename a case.
package enum TaskStatus: String, Sendable, Codable, CaseIterable {
    /// Not started in this run (yet).
    case pending
    case running
    case succeeded
    case failed
    /// Its `if:` was false, or an upstream task failed.
    case skipped
    /// Reused from an earlier attempt of the same run without executing.
    case reused
    /// Stopped by a signal or a dead runner.
    case interrupted
    /// Ran past its `timeout`.
    case timedOut = "timed_out"

    package var isTerminal: Bool { self != .pending && self != .running }
    /// Whether dependents may run after this task ended in this state.
    package var satisfiesDependents: Bool { self == .succeeded || self == .reused || self == .skipped }
}
