import FlowCore
import Foundation
import GRDB

/// Retention: which old runs go, and their rows going with them.
extension StateStore {
    /// The runs of `workflows` to delete under the limits: every run beyond the newest `keepRuns`, and every run
    /// older than `keepDays` — except a running run, the newest run of each workflow and the newest one a resume
    /// could still pick up (failed or interrupted). Oldest first.
    package func pruneCandidates(of workflows: [String], keepRuns: Int?, keepDays: Int?, now: Date) throws(StoreError) -> [RunRecord] {
        var out: [RunRecord] = []
        for workflow in workflows {
            let runs = try history(of: workflow, limit: Int.max)
            let newestResumable = runs.first { $0.status.isResumable }?.id
            let cutoff = keepDays.map { now.addingTimeInterval(-Double($0) * 86_400) }
            for (rank, run) in runs.enumerated() {
                guard rank > 0, run.status != .running, run.id != newestResumable else { continue }
                let beyondCount = keepRuns.map { rank >= $0 } ?? false
                let tooOld = cutoff.map { run.createdAt < $0 } ?? false
                if beyondCount || tooOld { out.append(run) }
            }
        }
        return out.sorted { $0.id < $1.id }
    }

    /// Deletes one run and everything it owns in one transaction: its tasks, attempts, outputs and checkpoints;
    /// its ledger rows keep the tick and remember the run's id. Refuses a run that is running.
    package func deleteRun(_ id: RunID) throws(StoreError) {
        try write { db in
            guard try String.fetchOne(db, sql: "SELECT status FROM runs WHERE id = ?", arguments: [id]) != RunStatus.running.rawValue else {
                return
            }
            try db.execute(sql: "UPDATE schedule_ledger SET pruned_run_id = run_id, run_id = NULL WHERE run_id = ?", arguments: [id])
            for table in ["outputs", "checkpoints", "attempts", "task_states"] {
                try db.execute(sql: "DELETE FROM \(table) WHERE run_id = ?", arguments: [id])
            }
            try db.execute(sql: "DELETE FROM runs WHERE id = ?", arguments: [id])
        }
    }
}
