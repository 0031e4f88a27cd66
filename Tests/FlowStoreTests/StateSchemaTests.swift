@testable import FlowStore
import FlowCore
import FlowTestSupport
import Foundation
import GRDB
import Testing

@Suite("state schema migrations")
struct StateSchemaTests {
    let dir = TemporaryDirectory()
    var path: String { dir.path + "/state.db" }

    @Test("a v1 database with history is upgraded in place: every run, attempt, state and output kept, ids continue")
    func upgradeFromV1() throws {
        do {
            let queue = try DatabaseQueue(path: path)
            try StateSchema.migrator.migrate(queue, upTo: "v1-runs-tasks-attempts")
            try queue.write { db in
                try db.execute(sql: """
                    INSERT INTO runs(id, workflow, workflow_path, status, params_json, overrides_json, started_at, created_at,
                                     updated_at) VALUES (1, 'w', '/w.yaml', 'failed', '{}', '{}', 't', 1, 2);
                    INSERT INTO attempts(id, run_id, task, attempt, status, fingerprint, pid, started_at, finished_at, exit_code,
                                         log_path, error)
                        VALUES (1, 1, 'a', 1, 'succeeded', 'fa', 10, 1, 2, 0, '/l/a.1.log', NULL),
                               (2, 1, 'b', 1, 'failed', 'fb', 11, 2, 3, 3, '/l/b.1.log', 'exited with status 3');
                    INSERT INTO task_states(run_id, task, status, fingerprint, attempts, reason, started_at, finished_at)
                        VALUES (1, 'a', 'succeeded', 'fa', 1, NULL, 1, 2), (1, 'b', 'failed', 'fb', 1, 'exited with status 3', 2, 3);
                    INSERT INTO outputs(run_id, task, key, value) VALUES (1, 'a', 'rows', '42');
                    """)
            }
        }
        let store = try StateStore(path: path)
        let states = try store.taskStates(of: 1)
        #expect(states[TaskID("a")]?.status == .succeeded)
        #expect(states[TaskID("a")]?.outputs == ["rows": "42"])
        #expect(states[TaskID("b")]?.reason == "exited with status 3")
        let attempts = try store.attempts(of: 1)
        #expect(attempts.map(\.id) == [1, 2])
        #expect(attempts.map(\.exitCode) == [0, 3])
        #expect(attempts.map(\.pid) == [10, 11])
        // New attempts continue after the old ids.
        let next = try store.attemptStarted(run: 1, task: TaskID("b"), attempt: 2, fingerprint: "fb", logPath: "/l/b.2.log", at: Date())
        #expect(next == 3)
        #expect(try store.taskStates(of: 1)[TaskID("b")]?.attempts == 2)
        #expect(try store.quickCheck() == "ok")

        let queue = try DatabaseQueue(path: path)
        let schema = try queue.read { db in
            try String.fetchAll(db, sql: "SELECT name || ': ' || sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY name")
        }
        #expect(schema.contains { $0.hasPrefix("task_states:") && $0.hasSuffix("WITHOUT ROWID") })
        #expect(schema.contains { $0.hasPrefix("attempts:") && !$0.contains("AUTOINCREMENT") })
        #expect(!schema.contains { $0.hasPrefix("attempts_running") })
        #expect(try queue.read { db in try db.tableExists("attempts_v2") || db.tableExists("task_states_v2") } == false)
    }

    @Test("the start-up check finds a database current only when every migration is applied")
    func currentCheck() throws {
        let queue = try DatabaseQueue(path: path)
        #expect(queue.inDatabase(StateSchema.isCurrent) == false)  // no grdb_migrations table yet
        try StateSchema.migrator.migrate(queue, upTo: StateSchema.identifiers[0])
        #expect(queue.inDatabase(StateSchema.isCurrent) == false)  // v2 missing: the migrator must run
        try StateSchema.migrator.migrate(queue)
        #expect(queue.inDatabase(StateSchema.isCurrent) == true)
        // A migration this flow does not know was written by a newer flow: not current, and not ours to migrate.
        try queue.write { db in try db.execute(sql: "INSERT INTO grdb_migrations(identifier) VALUES ('v9-from-the-future')") }
        #expect(queue.inDatabase(StateSchema.isCurrent) == false)
        #expect(queue.inDatabase(StateSchema.state) == .newer("it has 1 migration(s) this flow does not know"))
    }
}
