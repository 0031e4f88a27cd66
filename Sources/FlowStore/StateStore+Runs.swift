import FlowCore
import Foundation
import GRDB

extension StateStore {
    /// Creates a run; with `lease`, records in the same commit that the new run holds it.
    /// `tick`: a scheduled run's ledger row (workflow, tick) and interval start; the run is attached to it in
    /// the same commit, so a tick never has a run the ledger does not name.
    package func createRun(workflow: String, workflowPath: String, params: [String: String], overrides: [String: String],
                           startedAt: String, pid: Int32, lease: RunLease? = nil,
                           tick: (at: Int64, intervalStart: Int64?)? = nil, selection: TaskSelection? = nil,
                           parent: ParentLink? = nil) throws(StoreError) -> RunID {
        try write { db in
            let now = StateStore.now()
            try db.execute(sql: """
                INSERT INTO runs(workflow, workflow_path, status, params_json, overrides_json, started_at, created_at, updated_at, pid,
                                 host, scheduled_for, interval_start, selection, parent_run_id, parent_task)
                VALUES (?, ?, 'running', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [workflow, workflowPath, JSONText.encode(params), JSONText.encode(overrides), startedAt, now, now,
                                 Int64(pid), ProcessInfo.processInfo.hostName, tick?.at, tick?.intervalStart,
                                 selection.flatMap { $0.isEmpty ? nil : $0.stored }, parent?.run, parent?.task.rawValue])
            let id = db.lastInsertedRowID
            if let tick {
                try db.execute(sql: "UPDATE schedule_ledger SET run_id = ? WHERE workflow = ? AND tick_utc = ?",
                               arguments: [id, workflow, tick.at])
            }
            try lease?.writeRow(db, run: id)
            return id
        }
    }

    /// Puts a failed or interrupted run back to `running` for a resume, with the current parameters.
    /// With `lease`, records in the same commit that the reopened run holds it.
    package func reopenRun(_ id: RunID, params: [String: String], overrides: [String: String], pid: Int32,
                           lease: RunLease? = nil) throws(StoreError) {
        try write { db in
            try db.execute(sql: """
                UPDATE runs SET status = 'running', params_json = ?, overrides_json = ?, pid = ?, updated_at = ?,
                    finished_at = NULL, error = NULL, resumes = resumes + 1 WHERE id = ?
                """, arguments: [JSONText.encode(params), JSONText.encode(overrides), Int64(pid), StateStore.now(), id])
            try lease?.writeRow(db, run: id)
        }
    }

    /// With `releasing`, the lease's row goes in the same commit (the lock itself stays until `release`).
    package func finishRun(_ id: RunID, status: RunStatus, error: String? = nil, releasing lease: RunLease? = nil) throws(StoreError) {
        try write { db in
            let now = StateStore.now()
            try db.execute(sql: "UPDATE runs SET status = ?, finished_at = ?, updated_at = ?, error = ? WHERE id = ?",
                           arguments: [status.rawValue, now, now, error, id])
            try lease?.deleteRow(db)
        }
        lease?.rowDeleted()
    }

    /// Marks a run whose runner died as interrupted, with its running attempts, and returns the
    /// process groups those attempts started so the caller can kill what is left of them.
    package func markInterrupted(_ id: RunID, reason: String) throws(StoreError) -> [Int32] {
        try write { db in
            let now = StateStore.now()
            let pids = try Int64.fetchAll(db, sql: "SELECT pid FROM attempts WHERE run_id = ? AND status = 'running' AND pid IS NOT NULL",
                                          arguments: [id]).map { Int32(truncatingIfNeeded: $0) }
            try db.execute(sql: "UPDATE attempts SET status = 'interrupted', finished_at = ?, error = ? WHERE run_id = ? AND status = 'running'",
                           arguments: [now, reason, id])
            try db.execute(sql: "UPDATE task_states SET status = 'interrupted', finished_at = ?, reason = ? WHERE run_id = ? AND status = 'running'",
                           arguments: [now, reason, id])
            try db.execute(sql: "UPDATE runs SET status = 'interrupted', finished_at = ?, updated_at = ?, error = ? WHERE id = ? AND status = 'running'",
                           arguments: [now, now, reason, id])
            return pids
        }
    }

    package func run(_ id: RunID) throws(StoreError) -> RunRecord? {
        try read { db in try Row.fetchOne(db, sql: "SELECT * FROM runs WHERE id = ?", arguments: [id]).map { try StateStore.runRecord($0) } }
    }

    package func latestRun(of workflow: String) throws(StoreError) -> RunRecord? {
        try read { db in
            try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM runs WHERE workflow = ? ORDER BY id DESC LIMIT 1"),
                             arguments: [workflow]).map { try StateStore.runRecord($0) }
        }
    }

    /// The newest run of `workflow` that `parent` started (`uses: workflow`): the one its task resumes.
    package func latestRun(of workflow: String, parent: ParentLink) throws(StoreError) -> RunRecord? {
        try read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM runs WHERE workflow = ? AND parent_run_id = ? AND parent_task = ? ORDER BY id DESC LIMIT 1",
                             arguments: [workflow, parent.run, parent.task.rawValue]).map { try StateStore.runRecord($0) }
        }
    }

    /// The runs `run`'s tasks started, oldest first.
    package func childRuns(of run: RunID) throws(StoreError) -> [RunRecord] {
        try read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM runs WHERE parent_run_id = ? ORDER BY id", arguments: [run]).map { try StateStore.runRecord($0) }
        }
    }

    /// Newest first; `before`: only runs with a smaller id (the next page).
    package func history(of workflow: String, limit: Int, before: RunID? = nil) throws(StoreError) -> [RunRecord] {
        try read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM runs WHERE workflow = ? AND id < ? ORDER BY id DESC LIMIT ?",
                             arguments: [workflow, before ?? Int64.max, limit])
                .map { try StateStore.runRecord($0) }
        }
    }

    /// The newest run of every workflow that has one.
    package func latestRuns() throws(StoreError) -> [String: RunRecord] {
        try read { db in
            let rows = try Row.fetchAll(db, sql: "SELECT * FROM runs WHERE id IN (SELECT MAX(id) FROM runs GROUP BY workflow)")
            return Dictionary(try rows.map { try StateStore.runRecord($0) }.map { ($0.workflow, $0) }, uniquingKeysWith: { a, _ in a })
        }
    }

    package func taskStates(of run: RunID) throws(StoreError) -> [TaskID: TaskStateRecord] {
        // Read through SQLite's C API: a resumed run reads every task's state, and GRDB's rows looked each
        // column up by name (about 58,000 instructions per task).
        try read { db in
            var outputs: [String: [String: String]] = [:]
            var outputRows = try FastStatement(db, "SELECT task, key, value FROM outputs WHERE run_id = ?")
            outputRows.bind(1, run)
            try outputRows.forEachRow { row in
                outputs[row.string(at: 0) ?? "", default: [:]][row.string(at: 1) ?? ""] = row.string(at: 2) ?? ""
            }
            var states: [TaskID: TaskStateRecord] = [:]
            var stateRows = try FastStatement(db, """
                SELECT task, status, fingerprint, attempts, reason, started_at, finished_at FROM task_states WHERE run_id = ?
                """)
            stateRows.bind(1, run)
            try stateRows.forEachRow { row in
                let task = row.string(at: 0) ?? ""
                guard let word = row.string(at: 1), let status = TaskStatus(rawValue: word) else {
                    throw UnreadableValue(table: "task_states", column: "status", row: "task '\(task)' of run \(run)",
                                          problem: "is '\(row.string(at: 1)?.prefix(40) ?? "NULL")', a status this flow does not know")
                }
                states[TaskID(task)] = TaskStateRecord(
                    task: TaskID(task), status: status,
                    fingerprint: row.string(at: 2), attempts: Int(row.int64(at: 3) ?? 0), reason: row.string(at: 4),
                    startedAt: StateStore.date(row.double(at: 5)), finishedAt: StateStore.date(row.double(at: 6)),
                    outputs: outputs[task] ?? [:])
            }
            return states
        }
    }

    /// The output `key` of every task of `run` that succeeded, without reading every task's state (the run summary
    /// reads the `summary` outputs after every run).
    /// The newest run of `workflow` in which `task` succeeded with `fingerprint`, and its outputs there: what a
    /// `--only`/`--from` run reuses for an unselected upstream task. `before`: only runs older than this one.
    package func earlierSuccess(workflow: String, task: TaskID, fingerprint: String, before: RunID) throws(StoreError) -> (run: RunID, outputs: [String: String])? {
        try read { db in
            var find = try FastStatement(db, """
                SELECT s.run_id FROM task_states s JOIN runs r ON r.id = s.run_id
                WHERE r.workflow = ? AND s.task = ? AND s.fingerprint = ? AND s.status = 'succeeded' AND s.run_id < ?
                ORDER BY s.run_id DESC LIMIT 1
                """)
            find.bind(1, workflow)
            find.bind(2, task.rawValue)
            find.bind(3, fingerprint)
            find.bind(4, before)
            var found: RunID?
            try find.forEachRow { row in found = row.int64(at: 0) }
            guard let run = found else { return nil }
            var rows = try FastStatement(db, "SELECT key, value FROM outputs WHERE run_id = ? AND task = ?")
            rows.bind(1, run)
            rows.bind(2, task.rawValue)
            var outputs: [String: String] = [:]
            try rows.forEachRow { row in outputs[row.string(at: 0) ?? ""] = row.string(at: 1) ?? "" }
            return (run, outputs)
        }
    }

    package func succeededOutputs(of run: RunID, key: String) throws(StoreError) -> [TaskID: String] {
        try read { db in
            var rows = try FastStatement(db, """
                SELECT o.task, o.value FROM outputs o JOIN task_states s ON s.run_id = o.run_id AND s.task = o.task
                WHERE o.run_id = ? AND o.key = ? AND s.status = 'succeeded'
                """)
            rows.bind(1, run)
            rows.bind(2, key)
            var values: [TaskID: String] = [:]
            try rows.forEachRow { row in values[TaskID(row.string(at: 0) ?? "")] = row.string(at: 1) ?? "" }
            return values
        }
    }

    package func attempts(of run: RunID, task: TaskID? = nil) throws(StoreError) -> [AttemptRecord] {
        // Through SQLite's C API, as `taskStates`: a run page reads every attempt of a 10,000-task run, and GRDB's
        // rows looked each column up by name (a quarter of that page's time).
        try read { db in
            var rows = try FastStatement(db, """
                SELECT id, run_id, task, attempt, status, fingerprint, pid, started_at, finished_at, exit_code, signal, log_path, error
                FROM attempts WHERE run_id = ?\(task == nil ? "" : " AND task = ?") ORDER BY id
                """)
            rows.bind(1, run)
            if let task { rows.bind(2, task.rawValue) }
            var attempts: [AttemptRecord] = []
            try rows.forEachRow { row in
                let id = row.int64(at: 0) ?? 0
                guard let word = row.string(at: 4), let status = TaskStatus(rawValue: word) else {
                    throw UnreadableValue(table: "attempts", column: "status", row: "attempt \(id)",
                                          problem: "is '\(row.string(at: 4)?.prefix(40) ?? "NULL")', a status this flow does not know")
                }
                for (column, name) in [(Int32(3), "attempt"), (6, "pid"), (7, "started_at"), (8, "finished_at"), (9, "exit_code"), (10, "signal")]
                where !row.isNumberOrNull(at: column) {
                    throw UnreadableValue(table: "attempts", column: name, row: "attempt \(id)",
                                          problem: "is '\(row.string(at: column)?.prefix(40) ?? "")', not a number")
                }
                guard let started = row.double(at: 7) else {
                    throw UnreadableValue(table: "attempts", column: "started_at", row: "attempt \(id)", problem: "is NULL")
                }
                attempts.append(AttemptRecord(
                    id: id, runID: row.int64(at: 1) ?? run, task: TaskID(row.string(at: 2) ?? ""), attempt: Int(row.int64(at: 3) ?? 0),
                    status: status, fingerprint: row.string(at: 5) ?? "", pid: row.int64(at: 6).map { Int32(truncatingIfNeeded: $0) },
                    startedAt: Date(timeIntervalSince1970: started), finishedAt: StateStore.date(row.double(at: 8)),
                    exitCode: row.int64(at: 9).map { Int32(truncatingIfNeeded: $0) }, signal: row.int64(at: 10).map { Int32(truncatingIfNeeded: $0) },
                    logPath: row.string(at: 11), error: row.string(at: 12)))
            }
            return attempts
        }
    }

    static func date(_ value: Double?) -> Date? { value.map { Date(timeIntervalSince1970: $0) } }

    private static func parent(_ row: StoredRow) throws -> ParentLink? {
        guard let run: Int64 = try row.optional("parent_run_id") else { return nil }
        let task: String = try row.value("parent_task")
        return ParentLink(run: run, task: TaskID(task))
    }

    private static func selection(_ row: StoredRow) throws -> TaskSelection? {
        guard let text: String = try row.optional("selection"), !text.isEmpty else { return nil }
        guard let selection = TaskSelection(stored: text) else { throw row.unreadable("selection", "is not a task selection (only=.../from=... lines)") }
        return selection
    }

    static func runRecord(_ raw: Row) throws -> RunRecord {
        let row = StoredRow(raw, table: "runs") { "run \(($0["id"] as DatabaseValue).description)" }
        return RunRecord(
            id: try row.value("id"), workflow: try row.value("workflow"), workflowPath: try row.value("workflow_path"),
            status: try row.status("status", as: RunStatus.self), params: try row.json("params_json"),
            overrides: try row.json("overrides_json"), startedAt: try row.value("started_at"),
            createdAt: try row.value("created_at", as: Double.self).date, updatedAt: try row.value("updated_at", as: Double.self).date,
            finishedAt: try row.date("finished_at"), pid: try row.int32("pid"),
            resumes: try row.value("resumes"), error: try row.optional("error"),
            scheduledFor: try row.optional("scheduled_for"), intervalStart: try row.optional("interval_start"),
            selection: try selection(row), parent: try parent(row))
    }
}
