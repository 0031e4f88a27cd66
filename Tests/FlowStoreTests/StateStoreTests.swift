import FlowCore
import FlowStore
import FlowTestSupport
import Foundation
import GRDB
import Testing

@Suite("state store")
struct StateStoreTests {
    let dir = TemporaryDirectory()
    var path: String { dir.path + "/state/state.db" }

    @Test("creates the database in WAL mode with its schema")
    func creates() throws {
        let store = try StateStore(path: path)
        #expect(try store.quickCheck() == "ok")
        #expect(FileManager.default.fileExists(atPath: path))
        #expect(FileManager.default.fileExists(atPath: path + "-wal"))
        // Reopening migrates nothing and keeps data.
        let id = try store.createRun(workflow: "w", workflowPath: "/w.yaml", params: ["a": "1"], overrides: [:], startedAt: "t", pid: 1)
        let again = try StateStore(path: path)
        #expect(try again.run(id)?.params == ["a": "1"])
        // WAL is the file's own mode, seen by any other connection (the store sets it itself, not through GRDB).
        let other = try DatabaseQueue(path: path)
        #expect(try other.read { try String.fetchOne($0, sql: "PRAGMA journal_mode") } == "wal")
        try other.close()
    }

    @Test("a database left in rollback-journal mode is switched to WAL when the store opens it")
    func switchesToWAL() throws {
        try FileManager.default.createDirectory(atPath: dir.path + "/state", withIntermediateDirectories: true)
        let plain = try DatabaseQueue(path: path)
        #expect(try plain.writeWithoutTransaction { try String.fetchOne($0, sql: "PRAGMA journal_mode = DELETE") } == "delete")
        try plain.close()
        _ = try StateStore(path: path)
        let other = try DatabaseQueue(path: path)
        #expect(try other.read { try String.fetchOne($0, sql: "PRAGMA journal_mode") } == "wal")
        try other.close()
    }

    @Test("records an attempt's life: start, pid, finish with outputs, all readable back")
    func attemptLifecycle() throws {
        let store = try StateStore(path: path)
        let run = try store.createRun(workflow: "w", workflowPath: "/w.yaml", params: [:], overrides: [:], startedAt: "t", pid: 42)
        let task = TaskID("build")
        let a1 = try store.attemptStarted(run: run, task: task, attempt: 1, fingerprint: "f1", logPath: "/l1", at: Date())
        _ = try store.record([.processStarted(attempt: a1, pid: 777)])
        #expect(try store.taskStates(of: run)[task]?.status == .running)
        _ = try store.record([.attemptFinished(attempt: a1, run: run, task: task, outcome: AttemptOutcome(status: .failed, exitCode: 2, error: "boom"),
                                               outputs: ["partial": "1"], isFinal: false, at: Date(), firstInRun: true)])
        #expect(try store.taskStates(of: run)[task]?.status == .running, "a retry is coming")
        #expect(try store.taskStates(of: run)[task]?.outputs == ["partial": "1"])
        let a2 = try store.attemptStarted(run: run, task: task, attempt: 2, fingerprint: "f1", logPath: "/l2", at: Date())
        _ = try store.record([.attemptFinished(attempt: a2, run: run, task: task, outcome: AttemptOutcome(status: .succeeded),
                                               outputs: ["artifact": "app"], isFinal: true, at: Date())])
        let state = try #require(try store.taskStates(of: run)[task])
        #expect(state.status == .succeeded)
        #expect(state.attempts == 2)
        #expect(state.fingerprint == "f1")
        #expect(state.outputs == ["artifact": "app"], "outputs are replaced whole")
        let attempts = try store.attempts(of: run)
        #expect(attempts.map(\.status) == [.failed, .succeeded])
        #expect(attempts[0].exitCode == 2 && attempts[0].pid == 777 && attempts[0].error == "boom")
        #expect(attempts.map(\.logPath) == ["/l1", "/l2"])
    }

    @Test("checkpoints upsert by key, survive attempts, and reset when the fingerprint changes")
    func checkpoints() throws {
        let store = try StateStore(path: path)
        let run = try store.createRun(workflow: "w", workflowPath: "/w.yaml", params: [:], overrides: [:], startedAt: "t", pid: 1)
        let task = TaskID("load")
        _ = try store.attemptStarted(run: run, task: task, attempt: 1, fingerprint: "f1", logPath: "/l", at: Date())
        try store.saveCheckpoint(run: run, task: task, values: ["day": "1", "rows": "10"], at: Date())
        try store.saveCheckpoint(run: run, task: task, values: ["day": "2"], at: Date())
        #expect(try store.checkpoint(run: run, task: task) == ["day": "2", "rows": "10"])
        _ = try store.attemptStarted(run: run, task: task, attempt: 2, fingerprint: "f1", logPath: "/l", at: Date())
        #expect(try store.checkpoint(run: run, task: task) == ["day": "2", "rows": "10"])
        _ = try store.attemptStarted(run: run, task: task, attempt: 3, fingerprint: "f2", logPath: "/l", at: Date())
        #expect(try store.checkpoint(run: run, task: task).isEmpty)
    }

    @Test("a batch of transitions is one transaction: if one fails, none of them is kept")
    func batchIsAtomic() throws {
        let store = try StateStore(path: path)
        let run = try store.createRun(workflow: "w", workflowPath: "/w.yaml", params: [:], overrides: [:], startedAt: "t", pid: 1)
        let ids = try store.record([
            .attemptStarted(run: run, task: TaskID("a"), attempt: 1, fingerprint: "f", logPath: "/a", at: Date()),
            .attemptStarted(run: run, task: TaskID("b"), attempt: 1, fingerprint: "f", logPath: "/b", at: Date()),
        ])
        #expect(ids.count == 2)
        // The end of a, then a start that breaks a foreign key (no run 999): the whole batch rolls back.
        #expect(throws: StoreError.self) {
            try store.record([
                .attemptFinished(attempt: ids[0], run: run, task: TaskID("a"), outcome: AttemptOutcome(status: .succeeded),
                                 outputs: ["k": "v"], isFinal: true, at: Date()),
                .attemptStarted(run: 999, task: TaskID("c"), attempt: 1, fingerprint: "f", logPath: "/c", at: Date()),
            ])
        }
        let states = try store.taskStates(of: run)
        #expect(states[TaskID("a")]?.status == .running)
        #expect(states[TaskID("a")]?.outputs.isEmpty == true)
        #expect(try store.attempts(of: run).map(\.status) == [.running, .running])
        // The failed batch left no transaction open, and says what SQLite refused; a pid in it was rolled back
        // with it, and the next batch that carries it commits it.
        do {
            _ = try store.record([.processStarted(attempt: ids[1], pid: 4242),
                                  .attemptStarted(run: 999, task: TaskID("c"), attempt: 1, fingerprint: "f", logPath: "/c", at: Date())])
            Issue.record("a start in a run that does not exist was recorded")
        } catch {
            #expect("\(error)".contains("FOREIGN KEY"))
        }
        #expect(try store.attempts(of: run).map(\.pid) == [nil, nil])
        _ = try store.record([.processStarted(attempt: ids[1], pid: 4242),
                          .attemptFinished(attempt: ids[0], run: run, task: TaskID("a"), outcome: AttemptOutcome(status: .succeeded),
                                           outputs: ["k": "v"], isFinal: true, at: Date())])
        let reader = try StateStore(path: path)
        #expect(try reader.taskStates(of: run)[TaskID("a")]?.outputs == ["k": "v"])
        #expect(try reader.attempts(of: run).map(\.pid) == [nil, 4242])
    }

    @Test("marking a dead run interrupted returns the process groups of its running attempts")
    func markInterrupted() throws {
        let store = try StateStore(path: path)
        let run = try store.createRun(workflow: "w", workflowPath: "/w.yaml", params: [:], overrides: [:], startedAt: "t", pid: 1)
        let a = try store.attemptStarted(run: run, task: TaskID("a"), attempt: 1, fingerprint: "f", logPath: "/l", at: Date())
        _ = try store.record([.processStarted(attempt: a, pid: 4242)])
        let b = try store.attemptStarted(run: run, task: TaskID("b"), attempt: 1, fingerprint: "f", logPath: "/l", at: Date())
        _ = try store.record([.attemptFinished(attempt: b, run: run, task: TaskID("b"), outcome: AttemptOutcome(status: .succeeded),
                                               outputs: [:], isFinal: true, at: Date())])
        #expect(try store.staleRuns(of: "w") == [run])
        let groups = try store.markInterrupted(run, reason: "runner died")
        #expect(groups == [4242])
        #expect(try store.run(run)?.status == .interrupted)
        #expect(try store.taskStates(of: run)[TaskID("a")]?.status == .interrupted)
        #expect(try store.taskStates(of: run)[TaskID("b")]?.status == .succeeded)
        #expect(try store.staleRuns(of: "w").isEmpty)
    }

    @Test("history lists runs newest first; latest runs are per workflow")
    func history() throws {
        let store = try StateStore(path: path)
        let r1 = try store.createRun(workflow: "a", workflowPath: "/a", params: [:], overrides: [:], startedAt: "t", pid: 1)
        let r2 = try store.createRun(workflow: "b", workflowPath: "/b", params: [:], overrides: [:], startedAt: "t", pid: 1)
        let r3 = try store.createRun(workflow: "a", workflowPath: "/a", params: [:], overrides: [:], startedAt: "t", pid: 1)
        try store.finishRun(r1, status: .failed, error: "x")
        try store.reopenRun(r1, params: ["p": "2"], overrides: ["p": "2"], pid: 9)
        #expect(try store.run(r1)?.status == .running)
        #expect(try store.run(r1)?.resumes == 1)
        #expect(try store.history(of: "a", limit: 10).map(\.id) == [r3, r1])
        #expect(try store.latestRuns().mapValues(\.id) == ["a": r3, "b": r2])
    }

    @Test("only one lease per workflow: a second holder is refused and told who holds it")
    func lease() throws {
        let store = try StateStore(path: path)
        let lease = try RunLease.acquire(workflow: "daily", store: store)
        let run = try store.createRun(workflow: "daily", workflowPath: "/d", params: [:], overrides: [:], startedAt: "t", pid: 1,
                                      lease: lease)
        do {
            _ = try RunLease.acquire(workflow: "daily", store: store)
            Issue.record("second lease granted")
        } catch {
            guard case .held(let holder) = error else {
                Issue.record("unexpected \(error)")
                return
            }
            #expect(holder.runID == run)
            #expect(holder.pid == getpid())
        }
        let other = try RunLease.acquire(workflow: "other", store: store)
        other.release()
        lease.release()
        let again = try RunLease.acquire(workflow: "daily", store: store)
        again.release()
    }

    @Test("a run's creation records its lease and its end removes the record in the same commits; the lock stays until release")
    func leaseRowWithRun() throws {
        let store = try StateStore(path: path)
        let lease = try RunLease.acquire(workflow: "daily", store: store)
        let run = try store.createRun(workflow: "daily", workflowPath: "/d", params: [:], overrides: [:], startedAt: "t", pid: 1,
                                      lease: lease)
        #expect(try store.leaseHolder(of: "daily")?.runID == run)
        try store.finishRun(run, status: .failed, releasing: lease)
        #expect(try store.leaseHolder(of: "daily") == nil, "the run's end removed the row")
        #expect(throws: LeaseError.self, "the lock is held until release") { _ = try RunLease.acquire(workflow: "daily", store: store) }
        // A resumed run records its lease again when it is reopened.
        try store.reopenRun(run, params: [:], overrides: [:], pid: 1, lease: lease)
        #expect(try store.leaseHolder(of: "daily")?.runID == run)
        lease.release()
        #expect(try store.leaseHolder(of: "daily") == nil, "release removes a row the run's end did not")
        let again = try RunLease.acquire(workflow: "daily", store: store)
        again.release()
    }

    @Test("a damaged database is reported as damaged and left untouched")
    func damaged() throws {
        let store = try StateStore(path: path)
        _ = try store.createRun(workflow: "w", workflowPath: "/w", params: [:], overrides: [:], startedAt: "t", pid: 1)
        _ = store
        let garbage = Data(repeating: 0x5A, count: 8192)
        let bad = dir.path + "/bad.db"
        try garbage.write(to: URL(fileURLWithPath: bad))
        do {
            _ = try StateStore(path: bad)
            Issue.record("opened garbage")
        } catch {
            #expect("\(error)".contains("damaged"))
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: bad)) == garbage, "nothing was changed")
    }
}
