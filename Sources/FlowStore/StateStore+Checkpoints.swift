import FlowCore
import Foundation
import GRDB

extension StateStore: CheckpointStore {
    package func attemptStarted(run: RunID, task: TaskID, attempt: Int, fingerprint: String, logPath: String,
                                at date: Date) throws -> AttemptID {
        try write { db in
            let now = date.timeIntervalSince1970
            let previous = try String.fetchOne(db, sql: "SELECT fingerprint FROM task_states WHERE run_id = ? AND task = ?",
                                               arguments: [run, task.rawValue])
            if let previous, previous != fingerprint {
                // In-task progress belongs to the work the fingerprint names; new work starts from scratch.
                try db.execute(sql: "DELETE FROM checkpoints WHERE run_id = ? AND task = ?", arguments: [run, task.rawValue])
            }
            try db.execute(sql: """
                INSERT INTO attempts(run_id, task, attempt, status, fingerprint, started_at, log_path)
                VALUES (?, ?, ?, 'running', ?, ?, ?)
                """, arguments: [run, task.rawValue, attempt, fingerprint, now, logPath])
            let id = db.lastInsertedRowID
            try db.execute(sql: """
                INSERT INTO task_states(run_id, task, status, fingerprint, attempts, reason, started_at, finished_at)
                VALUES (?, ?, 'running', ?, 1, NULL, ?, NULL)
                ON CONFLICT(run_id, task) DO UPDATE SET status = 'running', fingerprint = excluded.fingerprint,
                    attempts = attempts + 1, reason = NULL, started_at = excluded.started_at, finished_at = NULL
                """, arguments: [run, task.rawValue, fingerprint, now])
            return id
        }
    }

    package func processStarted(attempt: AttemptID, pid: Int32) throws {
        try write { db in
            try db.execute(sql: "UPDATE attempts SET pid = ? WHERE id = ?", arguments: [Int64(pid), attempt])
        }
    }

    package func attemptFinished(attempt: AttemptID, run: RunID, task: TaskID, outcome: AttemptOutcome,
                                 outputs: [String: String], isFinal: Bool, at date: Date) throws {
        try write { db in
            let now = date.timeIntervalSince1970
            try db.execute(sql: """
                UPDATE attempts SET status = ?, finished_at = ?, exit_code = ?, signal = ?, error = ? WHERE id = ?
                """, arguments: [outcome.status.rawValue, now, outcome.exitCode.map { Int64($0) }, outcome.signal.map { Int64($0) },
                                 outcome.error, attempt])
            // Outputs are replaced whole, so a re-run never leaves a stale key behind.
            try db.execute(sql: "DELETE FROM outputs WHERE run_id = ? AND task = ?", arguments: [run, task.rawValue])
            if outcome.status == .succeeded || outcome.status == .failed {
                let insert = try db.cachedStatement(sql: "INSERT INTO outputs(run_id, task, key, value) VALUES (?, ?, ?, ?)")
                for (key, value) in outputs { try insert.execute(arguments: [run, task.rawValue, key, value]) }
            }
            // A retry is coming: the task stays `running` between attempts.
            let state = isFinal ? outcome.status.rawValue : TaskStatus.running.rawValue
            try db.execute(sql: "UPDATE task_states SET status = ?, finished_at = ?, reason = ? WHERE run_id = ? AND task = ?",
                           arguments: [state, isFinal ? now : nil, outcome.error, run, task.rawValue])
        }
    }

    package func taskSettled(run: RunID, task: TaskID, status: TaskStatus, reason: String?, at date: Date) throws {
        try write { db in
            let now = date.timeIntervalSince1970
            if status == .skipped {
                try db.execute(sql: "DELETE FROM outputs WHERE run_id = ? AND task = ?", arguments: [run, task.rawValue])
            }
            let finished: Double? = status.isTerminal ? now : nil
            try db.execute(sql: """
                INSERT INTO task_states(run_id, task, status, attempts, reason, finished_at) VALUES (?, ?, ?, 0, ?, ?)
                ON CONFLICT(run_id, task) DO UPDATE SET status = excluded.status, reason = excluded.reason,
                    finished_at = excluded.finished_at
                """, arguments: [run, task.rawValue, status.rawValue, reason, finished])
        }
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
