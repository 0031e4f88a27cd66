import FlowCore
import GRDB

/// Append-only, named migrations. A released migration never changes: add a new one instead.
enum StateSchema {
    static let identifiers = ["v1-runs-tasks-attempts", "v2-lean-attempts-task-states", "v3-schedule-ledger", "v4-ledger-pruned-runs",
                              "v5-run-selection", "v6-run-parent"]
    /// How many of ours are applied, how many migrations in all, and the user version, in one row as text.
    private static let appliedCount = """
        SELECT (SELECT COUNT(*) FROM grdb_migrations WHERE identifier IN (\(identifiers.map { _ in "?" }.joined(separator: ", "))))
            || ' ' || (SELECT COUNT(*) FROM grdb_migrations) || ' ' || (SELECT user_version FROM pragma_user_version)
        """

    enum State: Equatable {
        case current
        case needsMigration
        /// Written by a newer flow: a migration this flow does not know, or a user version it never sets.
        case newer(String)
    }

    /// Whether every migration is applied, in one query, where GRDB's migrator ran a `CREATE TABLE IF NOT EXISTS`
    /// and read the applied set twice at every start (about 640,000 instructions, 4% of a one-task run).
    /// Any failure (no `grdb_migrations` table yet, a damaged file) answers "needs migration": the migrator then
    /// runs and reports what is wrong.
    static func state(_ db: Database) -> State {
        do {
            var applied = try FastStatement(db, appliedCount)
            for (index, identifier) in identifiers.enumerated() { applied.bind(Int32(index + 1), identifier) }
            let numbers = (try applied.text() ?? "").split(separator: " ").compactMap { Int($0) }
            guard numbers.count == 3 else { return .needsMigration }
            if numbers[1] > numbers[0] { return .newer("it has \(numbers[1] - numbers[0]) migration(s) this flow does not know") }
            if numbers[2] > 0 { return .newer("its user_version is \(numbers[2])") }
            return numbers[0] == identifiers.count ? .current : .needsMigration
        } catch {
            return .needsMigration
        }
    }

    static func isCurrent(_ db: Database) -> Bool { state(db) == .current }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration(identifiers[0]) { db in
            try db.execute(sql: """
                CREATE TABLE runs(
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    workflow TEXT NOT NULL,
                    workflow_path TEXT NOT NULL,
                    status TEXT NOT NULL,
                    params_json TEXT NOT NULL,
                    overrides_json TEXT NOT NULL,
                    started_at TEXT NOT NULL,
                    created_at REAL NOT NULL,
                    updated_at REAL NOT NULL,
                    finished_at REAL,
                    pid INTEGER,
                    host TEXT,
                    resumes INTEGER NOT NULL DEFAULT 0,
                    error TEXT
                );
                CREATE INDEX runs_by_workflow ON runs(workflow, id);
                CREATE TABLE task_states(
                    run_id INTEGER NOT NULL REFERENCES runs(id),
                    task TEXT NOT NULL,
                    status TEXT NOT NULL,
                    fingerprint TEXT,
                    attempts INTEGER NOT NULL DEFAULT 0,
                    reason TEXT,
                    started_at REAL,
                    finished_at REAL,
                    PRIMARY KEY(run_id, task)
                );
                CREATE TABLE attempts(
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    run_id INTEGER NOT NULL REFERENCES runs(id),
                    task TEXT NOT NULL,
                    attempt INTEGER NOT NULL,
                    status TEXT NOT NULL,
                    fingerprint TEXT NOT NULL,
                    pid INTEGER,
                    started_at REAL NOT NULL,
                    finished_at REAL,
                    exit_code INTEGER,
                    signal INTEGER,
                    log_path TEXT,
                    error TEXT
                );
                CREATE INDEX attempts_by_task ON attempts(run_id, task, attempt);
                CREATE INDEX attempts_running ON attempts(status) WHERE status = 'running';
                CREATE TABLE outputs(
                    run_id INTEGER NOT NULL REFERENCES runs(id),
                    task TEXT NOT NULL,
                    key TEXT NOT NULL,
                    value TEXT NOT NULL,
                    PRIMARY KEY(run_id, task, key)
                );
                CREATE TABLE checkpoints(
                    run_id INTEGER NOT NULL REFERENCES runs(id),
                    task TEXT NOT NULL,
                    key TEXT NOT NULL,
                    value TEXT NOT NULL,
                    updated_at REAL NOT NULL,
                    PRIMARY KEY(run_id, task, key)
                );
                CREATE TABLE leases(
                    workflow TEXT PRIMARY KEY,
                    run_id INTEGER NOT NULL,
                    pid INTEGER NOT NULL,
                    host TEXT NOT NULL,
                    acquired_at REAL NOT NULL
                );
                """)
            CrashPoint.hit("during-state-migration")
        }
        // Fewer b-trees touched per transition: a task's end plus the next start wrote 6 pages to the WAL in v1,
        // 3 now. `attempts` loses AUTOINCREMENT (attempts are never deleted, so ids are never reused anyway, and
        // it cost a sqlite_sequence page per insert) and the partial index on running attempts (recovery looks
        // them up by run); `task_states` is keyed by (run_id, task) alone instead of a rowid plus a unique index.
        migrator.registerMigration(identifiers[1]) { db in
            try db.execute(sql: """
                CREATE TABLE attempts_v2(
                    id INTEGER PRIMARY KEY,
                    run_id INTEGER NOT NULL REFERENCES runs(id),
                    task TEXT NOT NULL,
                    attempt INTEGER NOT NULL,
                    status TEXT NOT NULL,
                    fingerprint TEXT NOT NULL,
                    pid INTEGER,
                    started_at REAL NOT NULL,
                    finished_at REAL,
                    exit_code INTEGER,
                    signal INTEGER,
                    log_path TEXT,
                    error TEXT
                );
                INSERT INTO attempts_v2(id, run_id, task, attempt, status, fingerprint, pid, started_at, finished_at,
                                        exit_code, signal, log_path, error)
                    SELECT id, run_id, task, attempt, status, fingerprint, pid, started_at, finished_at, exit_code, signal,
                           log_path, error FROM attempts;
                DROP TABLE attempts;
                ALTER TABLE attempts_v2 RENAME TO attempts;
                CREATE INDEX attempts_by_task ON attempts(run_id, task, attempt);
                CREATE TABLE task_states_v2(
                    run_id INTEGER NOT NULL REFERENCES runs(id),
                    task TEXT NOT NULL,
                    status TEXT NOT NULL,
                    fingerprint TEXT,
                    attempts INTEGER NOT NULL DEFAULT 0,
                    reason TEXT,
                    started_at REAL,
                    finished_at REAL,
                    PRIMARY KEY(run_id, task)
                ) WITHOUT ROWID;
                INSERT INTO task_states_v2(run_id, task, status, fingerprint, attempts, reason, started_at, finished_at)
                    SELECT run_id, task, status, fingerprint, attempts, reason, started_at, finished_at FROM task_states;
                DROP TABLE task_states;
                ALTER TABLE task_states_v2 RENAME TO task_states;
                """)
            CrashPoint.hit("during-state-migration-v2")
        }
        // Schedules: one ledger row per due tick of a workflow (unique: a tick is decided once), the watermark up
        // to which ticks are decided, and a scheduled run's tick on its run.
        migrator.registerMigration(identifiers[2]) { db in
            try db.execute(sql: """
                CREATE TABLE schedule_ledger(
                    workflow TEXT NOT NULL,
                    tick_utc INTEGER NOT NULL,
                    status TEXT NOT NULL,
                    run_id INTEGER REFERENCES runs(id),
                    decided_at REAL NOT NULL,
                    PRIMARY KEY(workflow, tick_utc)
                ) WITHOUT ROWID;
                CREATE TABLE schedule_watermarks(
                    workflow TEXT PRIMARY KEY,
                    schedule TEXT NOT NULL,
                    watermark INTEGER NOT NULL,
                    updated_at REAL NOT NULL
                );
                ALTER TABLE runs ADD COLUMN scheduled_for INTEGER;
                ALTER TABLE runs ADD COLUMN interval_start INTEGER;
                """)
        }
        // Retention: a pruned run's ledger rows keep its id here (their `run_id` becomes NULL, which the foreign
        // key needs), so a pruned tick is never taken for one whose run never started.
        migrator.registerMigration(identifiers[3]) { db in
            try db.execute(sql: "ALTER TABLE schedule_ledger ADD COLUMN pruned_run_id INTEGER")
        }
        // What `--only`/`--from` selected (TaskSelection.stored); NULL for the whole workflow.
        migrator.registerMigration(identifiers[4]) { db in
            try db.execute(sql: "ALTER TABLE runs ADD COLUMN selection TEXT")
        }
        // A child run (`uses: workflow`): the run and task that started it; an index finds a run's children.
        migrator.registerMigration(identifiers[5]) { db in
            try db.execute(sql: """
                ALTER TABLE runs ADD COLUMN parent_run_id INTEGER;
                ALTER TABLE runs ADD COLUMN parent_task TEXT;
                CREATE INDEX runs_by_parent ON runs(parent_run_id) WHERE parent_run_id IS NOT NULL;
                """)
        }
        return migrator
    }
}
