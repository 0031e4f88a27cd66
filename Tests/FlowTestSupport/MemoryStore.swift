import FlowCore
import Foundation
import Synchronization

/// An in-memory `CheckpointStore` that records every call, for engine tests.
package final class MemoryStore: CheckpointStore {
    package struct Attempt: Sendable {
        package var id: AttemptID
        package var task: TaskID
        package var attempt: Int
        package var fingerprint: String
        package var outcome: AttemptOutcome?
        package var pid: Int32?
    }

    private struct State {
        var attempts: [Attempt] = []
        var settled: [TaskID: (TaskStatus, String?)] = [:]
        var outputs: [TaskID: [String: String]] = [:]
        var checkpoints: [TaskID: [String: String]] = [:]
        var failStartsAfter: Int?
    }

    private let state = Mutex(State())

    package init(failStartsAfter: Int? = nil) {
        state.withLock { $0.failStartsAfter = failStartsAfter }
    }

    package var attempts: [Attempt] { state.withLock { $0.attempts } }
    package func settled(_ task: TaskID) -> (TaskStatus, String?)? { state.withLock { $0.settled[task] } }
    package func outputs(_ task: TaskID) -> [String: String]? { state.withLock { $0.outputs[task] } }

    package func attemptStarted(run: RunID, task: TaskID, attempt: Int, fingerprint: String, logPath: String, at date: Date) throws -> AttemptID {
        try state.withLock { s in
            if let limit = s.failStartsAfter, s.attempts.count >= limit {
                throw TaskFailure("disk I/O error (simulated)")
            }
            let id = AttemptID(s.attempts.count + 1)
            s.attempts.append(Attempt(id: id, task: task, attempt: attempt, fingerprint: fingerprint))
            return id
        }
    }

    package func processStarted(attempt: AttemptID, pid: Int32) throws {
        state.withLock { $0.attempts[Int(attempt) - 1].pid = pid }
    }

    package func attemptFinished(attempt: AttemptID, run: RunID, task: TaskID, outcome: AttemptOutcome,
                                 outputs: [String: String], isFinal: Bool, at date: Date) throws {
        state.withLock { s in
            s.attempts[Int(attempt) - 1].outcome = outcome
            s.outputs[task] = outputs
            if isFinal { s.settled[task] = (outcome.status, outcome.error) }
        }
    }

    package func taskSettled(run: RunID, task: TaskID, status: TaskStatus, reason: String?, at date: Date) throws {
        state.withLock { $0.settled[task] = (status, reason) }
    }

    package func saveCheckpoint(run: RunID, task: TaskID, values: [String: String], at date: Date) throws {
        state.withLock { s in s.checkpoints[task, default: [:]].merge(values) { _, new in new } }
    }

    package func checkpoint(run: RunID, task: TaskID) throws -> [String: String] {
        state.withLock { $0.checkpoints[task] ?? [:] }
    }
}
