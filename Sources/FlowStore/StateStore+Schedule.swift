import FlowCore
import Foundation
import GRDB

/// The schedule ledger: which ticks of a workflow were decided, how, and which run each started.
extension StateStore {
    /// Where a workflow's ticks are decided up to, and the schedule (its definition as text) that was in force.
    package func watermark(of workflow: String) throws(StoreError) -> (schedule: String, watermark: Int64)? {
        try read { db in
            // Cached statements here and below: a scheduler pass asks this of every workflow, and preparing the
            // statement again each time was most of an idle pass (callgrind).
            let statement = try db.cachedStatement(sql: "SELECT schedule, watermark FROM schedule_watermarks WHERE workflow = ?")
            guard let raw = try Row.fetchOne(statement, arguments: [workflow]) else { return nil }
            let row = StoredRow(raw, table: "schedule_watermarks") { _ in "workflow '\(workflow)'" }
            return (try row.value("schedule"), try row.value("watermark"))
        }
    }

    /// Records decided ticks and moves the watermark, in one transaction, only if the watermark is still
    /// `expected` (nil: none yet): two passes deciding at once write once, and the other learns it lost.
    /// Returns whether this call decided them.
    package func decideTicks(of workflow: String, schedule: String, expected: Int64?, watermark: Int64,
                             entries: [(tick: Int64, status: String)]) throws(StoreError) -> Bool {
        try write { db in
            let current = try Int64.fetchOne(db, sql: "SELECT watermark FROM schedule_watermarks WHERE workflow = ?", arguments: [workflow])
            guard current == expected else { return false }
            let now = StateStore.now()
            for entry in entries {
                try db.execute(sql: """
                    INSERT INTO schedule_ledger(workflow, tick_utc, status, decided_at) VALUES (?, ?, ?, ?)
                    ON CONFLICT(workflow, tick_utc) DO NOTHING
                    """, arguments: [workflow, entry.tick, entry.status, now])
            }
            try db.execute(sql: """
                INSERT INTO schedule_watermarks(workflow, schedule, watermark, updated_at) VALUES (?, ?, ?, ?)
                ON CONFLICT(workflow) DO UPDATE SET schedule = excluded.schedule, watermark = excluded.watermark,
                    updated_at = excluded.updated_at
                """, arguments: [workflow, schedule, watermark, now])
            return true
        }
    }

    /// A queued tick that now runs.
    package func setTickStatus(of workflow: String, tick: Int64, to status: String) throws(StoreError) {
        try write { db in
            try db.execute(sql: "UPDATE schedule_ledger SET status = ? WHERE workflow = ? AND tick_utc = ?",
                           arguments: [status, workflow, tick])
        }
    }

    /// Ticks that started, or wait to start, a run that has not ended: decided to run with no run yet, queued,
    /// or whose run is still `running` or `interrupted`. Oldest first. One indexed query, so a pass over idle
    /// workflows reads next to nothing.
    package func unfinishedTicks(of workflow: String) throws(StoreError) -> [LedgerEntry] {
        try ledgerRows(of: workflow, filter: """
            AND l.status IN ('ran', 'caught-up', 'queued') AND l.pruned_run_id IS NULL
            AND (l.run_id IS NULL OR r.status IN ('running', 'interrupted'))
            """, order: "ASC", limit: 10_000)
    }

    /// The ledger of a workflow, newest tick first, each with its run's status.
    package func ledger(of workflow: String, limit: Int = 1_000) throws(StoreError) -> [LedgerEntry] {
        try ledgerRows(of: workflow, filter: "", order: "DESC", limit: limit)
    }

    private func ledgerRows(of workflow: String, filter: String, order: String, limit: Int) throws(StoreError) -> [LedgerEntry] {
        try read { db in
            let statement = try db.cachedStatement(sql: """
                SELECT l.tick_utc, l.status, COALESCE(l.run_id, l.pruned_run_id) AS run_id, l.decided_at, r.status AS run_status
                FROM schedule_ledger l
                LEFT JOIN runs r ON r.id = l.run_id WHERE l.workflow = ? \(filter) ORDER BY l.tick_utc \(order) LIMIT ?
                """)
            let rows = try Row.fetchAll(statement, arguments: [workflow, limit])
            return try rows.map { raw in
                let row = StoredRow(raw, table: "schedule_ledger") { _ in "a tick of '\(workflow)'" }
                return LedgerEntry(tick: try row.value("tick_utc"), status: try row.value("status"), runID: try row.optional("run_id"),
                                   runStatus: try row.optionalStatus("run_status", as: RunStatus.self),
                                   decidedAt: Date(timeIntervalSince1970: try row.value("decided_at")))
            }
        }
    }
}
