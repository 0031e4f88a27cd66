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
                case let .attemptFinished(attempt, run, task, outcome, outputs, isFinal, logKept, date, firstInRun):
                    try Self.finishAttempt(db, attempt: attempt, run: run, task: task, outcome: outcome, outputs: outputs,
                                           isFinal: isFinal, logKept: logKept, at: date, firstInRun: firstInRun)
                case let .taskSettled(run, task, status, reason, date):
                    try Self.settleTask(db, run: run, task: task, status: status, reason: reason, at: date)
                case let .taskReused(run, task, fingerprint, outputs, from, date):
                    try Self.reuseTask(db, run: run, task: task, fingerprint: fingerprint, outputs: outputs, from: from, at: date)
                case let .processStarted(attempt, pid):
                    try Self.recordProcess(db, attempt: attempt, pid: pid)
                }
            }
            return ids
        }
    }

    private static func recordProcess(_ db: Database, attempt: AttemptID, pid: Int32) throws {
        var update = try FastStatement(db, "UPDATE attempts SET pid = ? WHERE id = ?")
        update.bind(1, Int64(pid))
        update.bind(2, attempt)
        try update.run()
    }

    private static func insertAttempt(_ db: Database, run: RunID, task: TaskID, attempt: Int, fingerprint: String,
                                      logPath: String, at date: Date) throws -> AttemptID {
        let now = date.timeIntervalSince1970
        if attempt > 1 {
            // In-task progress belongs to the work the fingerprint names; new work starts from scratch.
            // (A first attempt has no progress to clear.)
            var select = try FastStatement(db, "SELECT fingerprint FROM task_states WHERE run_id = ? AND task = ?")
            select.bind(1, run)
            select.bind(2, task.rawValue)
            if let previous = try select.text(), previous != fingerprint {
                var delete = try FastStatement(db, "DELETE FROM checkpoints WHERE run_id = ? AND task = ?")
                delete.bind(1, run)
                delete.bind(2, task.rawValue)
                try delete.run()
            }
        }
        var insert = try FastStatement(db, """
            INSERT INTO attempts(run_id, task, attempt, status, fingerprint, started_at, log_path)
            VALUES (?, ?, ?, 'running', ?, ?, ?)
            """)
        insert.bind(1, run)
        insert.bind(2, task.rawValue)
        insert.bind(3, attempt)
        insert.bind(4, fingerprint)
        insert.bind(5, now)
        insert.bind(6, logPath)
        try insert.run()
        let id = db.lastInsertedRowID
        var state = try FastStatement(db, """
            INSERT INTO task_states(run_id, task, status, fingerprint, attempts, reason, started_at, finished_at)
            VALUES (?, ?, 'running', ?, 1, NULL, ?, NULL)
            ON CONFLICT(run_id, task) DO UPDATE SET status = 'running', fingerprint = excluded.fingerprint,
                attempts = attempts + 1, reason = NULL, started_at = excluded.started_at, finished_at = NULL
            """)
        state.bind(1, run)
        state.bind(2, task.rawValue)
        state.bind(3, fingerprint)
        state.bind(4, now)
        try state.run()
        return id
    }

    private static func finishAttempt(_ db: Database, attempt: AttemptID, run: RunID, task: TaskID, outcome: AttemptOutcome,
                                      outputs: [String: String], isFinal: Bool, logKept: Bool, at date: Date,
                                      firstInRun: Bool) throws {
        let now = date.timeIntervalSince1970
        // An attempt that wrote nothing keeps no log file: its path goes (CASE without ELSE is NULL).
        var update = try FastStatement(db, """
            UPDATE attempts SET status = ?, finished_at = ?, exit_code = ?, signal = ?, error = ?,
                log_path = CASE WHEN ? THEN log_path END WHERE id = ?
            """)
        update.bind(1, outcome.status.rawValue)
        update.bind(2, now)
        update.bind(3, outcome.exitCode.map { Int64($0) })
        update.bind(4, outcome.signal.map { Int64($0) })
        update.bind(5, outcome.error)
        update.bind(6, logKept)
        update.bind(7, attempt)
        try update.run()
        // Outputs are replaced whole, so a re-run never leaves a stale key behind. (A run's first attempt of a
        // task has nothing to replace: only this task's earlier attempts in this run write its rows.)
        if !firstInRun { try deleteOutputs(db, run: run, task: task) }
        if outcome.status == .succeeded || outcome.status == .failed { try insertOutputs(db, run: run, task: task, outputs) }
        // A retry is coming: the task stays `running` between attempts.
        var state = try FastStatement(db, "UPDATE task_states SET status = ?, finished_at = ?, reason = ? WHERE run_id = ? AND task = ?")
        state.bind(1, isFinal ? outcome.status.rawValue : TaskStatus.running.rawValue)
        state.bind(2, isFinal ? now : nil)
        state.bind(3, outcome.error)
        state.bind(4, run)
        state.bind(5, task.rawValue)
        try state.run()
    }

    private static func deleteOutputs(_ db: Database, run: RunID, task: TaskID) throws {
        var delete = try FastStatement(db, "DELETE FROM outputs WHERE run_id = ? AND task = ?")
        delete.bind(1, run)
        delete.bind(2, task.rawValue)
        try delete.run()
    }

    /// The reused task's state says where its success comes from; its outputs are copied, so this run reads
    /// (and a resume reuses) them without the earlier run, which may be pruned.
    private static func reuseTask(_ db: Database, run: RunID, task: TaskID, fingerprint: String, outputs: [String: String],
                                  from: RunID, at date: Date) throws {
        try deleteOutputs(db, run: run, task: task)
        var upsert = try FastStatement(db, """
            INSERT INTO task_states(run_id, task, status, fingerprint, attempts, reason, started_at, finished_at)
            VALUES (?, ?, 'succeeded', ?, 0, ?, NULL, ?)
            ON CONFLICT(run_id, task) DO UPDATE SET status = 'succeeded', fingerprint = excluded.fingerprint,
                reason = excluded.reason, finished_at = excluded.finished_at
            """)
        upsert.bind(1, run)
        upsert.bind(2, task.rawValue)
        upsert.bind(3, fingerprint)
        upsert.bind(4, "reused from run \(from)")
        upsert.bind(5, date.timeIntervalSince1970)
        try upsert.run()
        try insertOutputs(db, run: run, task: task, outputs)
    }

    private static func insertOutputs(_ db: Database, run: RunID, task: TaskID, _ outputs: [String: String]) throws {
        guard !outputs.isEmpty else { return }
        var insert = try FastStatement(db, "INSERT INTO outputs(run_id, task, key, value) VALUES (?, ?, ?, ?)")
        for (key, value) in outputs {
            insert.bind(1, run)
            insert.bind(2, task.rawValue)
            insert.bind(3, key)
            insert.bind(4, value)
            try insert.run()
        }
    }

    private static func settleTask(_ db: Database, run: RunID, task: TaskID, status: TaskStatus, reason: String?,
                                   at date: Date) throws {
        if status == .skipped { try deleteOutputs(db, run: run, task: task) }
        var upsert = try FastStatement(db, """
            INSERT INTO task_states(run_id, task, status, attempts, reason, finished_at) VALUES (?, ?, ?, 0, ?, ?)
            ON CONFLICT(run_id, task) DO UPDATE SET status = excluded.status, reason = excluded.reason,
                finished_at = excluded.finished_at
            """)
        upsert.bind(1, run)
        upsert.bind(2, task.rawValue)
        upsert.bind(3, status.rawValue)
        upsert.bind(4, reason)
        upsert.bind(5, status.isTerminal ? date.timeIntervalSince1970 : nil)
        try upsert.run()
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
                let stored = StoredRow(row, table: "checkpoints") { _ in "task '\(task)' of run \(run)" }
                values[try stored.value("key")] = try stored.value("value") as String
            }
            return values
        }
    }
}
