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
        var saves: [[String: String]] = []
        var failStartsAfter: Int?
        var transactions = 0
        var batches: [[String]] = []
    }

    private let state = Mutex(State())

    package init(failStartsAfter: Int? = nil) {
        state.withLock { $0.failStartsAfter = failStartsAfter }
    }

    package var attempts: [Attempt] { state.withLock { $0.attempts } }
    package func settled(_ task: TaskID) -> (TaskStatus, String?)? { state.withLock { $0.settled[task] } }
    package func outputs(_ task: TaskID) -> [String: String]? { state.withLock { $0.outputs[task] } }
    /// Every `saveCheckpoint` call's values, in order.
    package var checkpointSaves: [[String: String]] { state.withLock { $0.saves } }

    /// How many `record` calls (transactions) the engine made.
    package var transactions: Int { state.withLock { $0.transactions } }
    /// Each transaction's transitions, in order, as "start a", "end a", "settle a".
    package var batches: [[String]] { state.withLock { $0.batches } }

    package func record(_ transitions: [Transition]) throws -> [AttemptID] {
        try state.withLock { s in
            // All or nothing, like a transaction: check before changing anything.
            let starts = transitions.filter { if case .attemptStarted = $0 { return true } else { return false } }.count
            if let limit = s.failStartsAfter, starts > 0, s.attempts.count + starts > limit {
                throw TaskFailure("disk I/O error (simulated)")
            }
            s.transactions += 1
            var ids: [AttemptID] = []
            var names: [String] = []
            for transition in transitions {
                switch transition {
                case let .attemptStarted(_, task, attempt, fingerprint, _, _):
                    let id = AttemptID(s.attempts.count + 1)
                    s.attempts.append(Attempt(id: id, task: task, attempt: attempt, fingerprint: fingerprint))
                    ids.append(id)
                    names.append("start \(task)")
                case let .attemptFinished(attempt, _, task, outcome, outputs, isFinal, _, _, _):
                    s.attempts[Int(attempt) - 1].outcome = outcome
                    s.outputs[task] = outputs
                    if isFinal { s.settled[task] = (outcome.status, outcome.error) }
                    names.append("end \(task)")
                case let .taskSettled(_, task, status, reason, _):
                    s.settled[task] = (status, reason)
                    names.append("settle \(task)")
                case let .taskReused(_, task, _, outputs, from, _):
                    s.outputs[task] = outputs
                    s.settled[task] = (.succeeded, "reused from run \(from)")
                    names.append("reuse \(task)")
                case let .processStarted(attempt, pid):
                    s.attempts[Int(attempt) - 1].pid = pid
                    names.append("pid \(pid)")
                }
            }
            s.batches.append(names)
            return ids
        }
    }

    package func saveCheckpoint(run: RunID, task: TaskID, values: [String: String], at date: Date) throws {
        state.withLock { s in
            s.checkpoints[task, default: [:]].merge(values) { _, new in new }
            s.saves.append(values)
        }
    }

    package func checkpoint(run: RunID, task: TaskID) throws -> [String: String] {
        state.withLock { $0.checkpoints[task] ?? [:] }
    }
}
