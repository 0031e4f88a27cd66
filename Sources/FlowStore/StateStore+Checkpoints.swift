import FlowCore
import Foundation
import GRDB

extension StateStore: CheckpointStore {
    package func record(_ transitions: [Transition]) throws -> [AttemptID] {
        guard !transitions.isEmpty else { return [] }
        return try write { db in
            var ids: [AttemptID] = []
            for transition in transitions {
                switch transition {
                case let .attemptStarted(run, task, attempt, fingerprint, logPath, date):
                    ids.append(try Self.insertAttempt(db, run: run, task: task, attempt: attempt, fingerprint: fingerprint,
                                                      logPath: logPath, at: date))
                case let .attemptFinished(attempt, run, task, outcome, outputs, isFinal, logKept, date):
                    try Self.finishAttempt(db, attempt: attempt, run: run, task: task, outcome: outcome, outputs: outputs,
                                           isFinal: isFinal, logKept: logKept, at: date)
                case let .taskSettled(run, task, status, reason, date):
                    try Self.settleTask(db, run: run, task: task, status: status, reason: reason, at: date)
                }
            }
            return ids
        }
    }

    /// Queued and written with the next transaction, or by itself after `pidWriteDelay` if none comes:
    /// a short task's pid then costs no commit of its own.
    package func processStarted(attempt: AttemptID, pid: Int32) throws {
        // At most one timer at a time, however many tasks start: in a chain each pid rides with the task's own
        // end, and a timer per task would only wake a thread to find nothing to write.
        let arm = pendingPIDs.withLock { pending in
            pending.pids.append((attempt, pid))
            defer { pending.timerArmed = true }
            return !pending.timerArmed
        }
        guard arm else { return }
        DispatchQueue.global().asyncAfter(deadline: .now() + StateStore.pidWriteDelay) { [weak self] in
            guard let self else { return }
            let waiting = self.pendingPIDs.withLock { pending in
                pending.timerArmed = false
                return !pending.pids.isEmpty
            }
            if waiting { _ = try? self.write { _ in } }
        }
    }

    /// Called inside every write transaction before its own statements.
    static func writePendingPIDs(_ db: Database, _ pids: [(AttemptID, Int32)]) throws {
        guard !pids.isEmpty else { return }
        let update = try db.cachedStatement(sql: "UPDATE attempts SET pid = ? WHERE id = ?")
        for (attempt, pid) in pids { try update.execute(arguments: [Int64(pid), attempt]) }
    }

    private static func insertAttempt(_ db: Database, run: RunID, task: TaskID, attempt: Int, fingerprint: String,
                                      logPath: String, at date: Date) throws -> AttemptID {
        let now = date.timeIntervalSince1970
        if attempt > 1 {
            // In-task progress belongs to the work the fingerprint names; new work starts from scratch.
            // (A first attempt has no progress to clear.)
            let previous = try String.fetchOne(
                db.cachedStatement(sql: "SELECT fingerprint FROM task_states WHERE run_id = ? AND task = ?"),
                arguments: [run, task.rawValue])
            if let previous, previous != fingerprint {
                try db.cachedStatement(sql: "DELETE FROM checkpoints WHERE run_id = ? AND task = ?")
                    .execute(arguments: [run, task.rawValue])
            }
        }
        try db.cachedStatement(sql: """
            INSERT INTO attempts(run_id, task, attempt, status, fingerprint, started_at, log_path)
            VALUES (?, ?, ?, 'running', ?, ?, ?)
            """).execute(arguments: [run, task.rawValue, attempt, fingerprint, now, logPath])
        let id = db.lastInsertedRowID
        try db.cachedStatement(sql: """
            INSERT INTO task_states(run_id, task, status, fingerprint, attempts, reason, started_at, finished_at)
            VALUES (?, ?, 'running', ?, 1, NULL, ?, NULL)
            ON CONFLICT(run_id, task) DO UPDATE SET status = 'running', fingerprint = excluded.fingerprint,
                attempts = attempts + 1, reason = NULL, started_at = excluded.started_at, finished_at = NULL
            """).execute(arguments: [run, task.rawValue, fingerprint, now])
        return id
    }

    private static func finishAttempt(_ db: Database, attempt: AttemptID, run: RunID, task: TaskID, outcome: AttemptOutcome,
                                      outputs: [String: String], isFinal: Bool, logKept: Bool, at date: Date) throws {
        let now = date.timeIntervalSince1970
        // An attempt that wrote nothing keeps no log file: its path goes (CASE without ELSE is NULL).
        try db.cachedStatement(sql: """
            UPDATE attempts SET status = ?, finished_at = ?, exit_code = ?, signal = ?, error = ?,
                log_path = CASE WHEN ? THEN log_path END WHERE id = ?
            """).execute(arguments: [outcome.status.rawValue, now, outcome.exitCode.map { Int64($0) },
                                     outcome.signal.map { Int64($0) }, outcome.error, logKept, attempt])
        // Outputs are replaced whole, so a re-run never leaves a stale key behind.
        try db.cachedStatement(sql: "DELETE FROM outputs WHERE run_id = ? AND task = ?").execute(arguments: [run, task.rawValue])
        if outcome.status == .succeeded || outcome.status == .failed {
            let insert = try db.cachedStatement(sql: "INSERT INTO outputs(run_id, task, key, value) VALUES (?, ?, ?, ?)")
            for (key, value) in outputs { try insert.execute(arguments: [run, task.rawValue, key, value]) }
        }
        // A retry is coming: the task stays `running` between attempts.
        let state = isFinal ? outcome.status.rawValue : TaskStatus.running.rawValue
        try db.cachedStatement(sql: "UPDATE task_states SET status = ?, finished_at = ?, reason = ? WHERE run_id = ? AND task = ?")
            .execute(arguments: [state, isFinal ? now : nil, outcome.error, run, task.rawValue])
    }

    private static func settleTask(_ db: Database, run: RunID, task: TaskID, status: TaskStatus, reason: String?,
                                   at date: Date) throws {
        if status == .skipped {
            try db.cachedStatement(sql: "DELETE FROM outputs WHERE run_id = ? AND task = ?").execute(arguments: [run, task.rawValue])
        }
        let finished: Double? = status.isTerminal ? date.timeIntervalSince1970 : nil
        try db.cachedStatement(sql: """
            INSERT INTO task_states(run_id, task, status, attempts, reason, finished_at) VALUES (?, ?, ?, 0, ?, ?)
            ON CONFLICT(run_id, task) DO UPDATE SET status = excluded.status, reason = excluded.reason,
                finished_at = excluded.finished_at
            """).execute(arguments: [run, task.rawValue, status.rawValue, reason, finished])
    }

    package func saveCheckpoint(run: RunID, task: TaskID, values: [String: String], at date: Date) throws {
        guard !values.isEmpty else { return }
        try write { db in
            let upsert = try db.cachedStatement(sql: """
                INSERT INTO checkpoints(run_id, task, key, value, updated_at) VALUES (?, ?, ?, ?, ?)
                ON CONFLICT(run_id, task, key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at
                """)
            for (key, value) in values {
                try upsert.execute(arguments: [run, task.rawValue, key, value, date.timeIntervalSince1970])
            }
        }
    }

    package func checkpoint(run: RunID, task: TaskID) throws -> [String: String] {
        try read { db in
            var values: [String: String] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT key, value FROM checkpoints WHERE run_id = ? AND task = ?",
                                        arguments: [run, task.rawValue]) {
                values[row["key"]] = row["value"]
            }
            return values
        }
    }
}
