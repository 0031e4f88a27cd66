import FlowCore
import FlowTasks
import FlowTestSupport
import Foundation
import Testing

@Suite("sql action")
struct SQLActionTests {
    let dir = TemporaryDirectory()

    func run(_ sql: String) async throws -> [String: String] {
        let ctx = TaskContext(runID: 1, task: TaskID("q"), attempt: 1, inputs: ["db": "data/test.db", "sql": sql], env: [:],
                              workingDirectory: dir.path, scratchDirectory: dir.path + "/s", log: MemoryLog(), checkpoint: [:],
                              saveCheckpoint: { _ in })
        return try await SQLAction().run(ctx)
    }

    @Test("runs statements in one transaction and outputs the last query's first row")
    func statements() async throws {
        try FileManager.default.createDirectory(atPath: dir.path + "/data", withIntermediateDirectories: true)
        let first = try await run("""
            CREATE TABLE t(k TEXT PRIMARY KEY, v INTEGER);
            INSERT INTO t VALUES ('a', 1), ('b', 2);
            """)
        #expect(first["changes"] == "2")
        let query = try await run("SELECT count(*) AS n, sum(v) AS total FROM t")
        #expect(query["n"] == "2" && query["total"] == "3" && query["rows"] == "1")
    }

    @Test("a failing statement rolls back everything before it in the same task")
    func rollback() async throws {
        try FileManager.default.createDirectory(atPath: dir.path + "/data", withIntermediateDirectories: true)
        _ = try await run("CREATE TABLE t(k TEXT PRIMARY KEY)")
        await #expect {
            _ = try await run("INSERT INTO t VALUES ('x'); INSERT INTO nope VALUES (1);")
        } throws: { error in
            (error as? TaskFailure)?.message.contains("nothing was committed") == true
        }
        #expect(try await run("SELECT count(*) AS n FROM t")["n"] == "0")
    }
}
