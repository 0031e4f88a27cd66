import Foundation
import FlowTestSupport
import GRDB
import Testing

extension EndToEnd {
    /// Stored data flow cannot read is never guessed at and never traps: exit 70, a message naming it, nothing changed.
    @Suite("damaged or newer stored data, end to end")
    struct StoredDataEndToEndTests {
        func damaged(_ sql: String) async throws -> Project {
            let p = Project()
            try p.workflow("w", "params:\n  x: a\ntasks:\n  a:\n    run: \"true\"\n  b:\n    needs: [a]\n    run: exit 1\n")
            #expect(try await p.flow("run", "w").status == 1)
            try await blocking {
                let queue = try DatabaseQueue(path: p.root + "/.flow/state.db")
                try queue.writeWithoutTransaction { db in try db.execute(sql: sql) }
                try queue.close()
            }
            return p
        }

        func bytes(_ p: Project) throws -> Data { try Data(contentsOf: p.dir.url(".flow/state.db")) }

        @Test("an unreadable stored value makes every command exit 70 naming it, never a trap, never a guess",
              arguments: [
                ("UPDATE runs SET status = 'paused'", "runs.status of run 1 is 'paused', a status this flow does not know"),
                ("UPDATE runs SET params_json = 'not json'", "runs.params_json of run 1 is not a JSON object of strings"),
                ("UPDATE runs SET created_at = 'yesterday'", "runs.created_at of run 1 holds"),
                ("UPDATE attempts SET started_at = 'noon'", "attempts.started_at of attempt"),
                ("UPDATE task_states SET status = 'frozen' WHERE task = 'b'", "task_states.status of task 'b' of run 1 is 'frozen'"),
              ])
        func unreadable(_ sql: String, _ message: String) async throws {
            let p = try await damaged(sql)
            let commands: [[String]] = sql.contains("attempts") ? [["logs", "1"]] : [["status", "w"], ["history", "w"], ["run", "w"]]
            for command in commands {
                let result = try await p.flow(arguments: command)
                #expect(result.status == 70, "flow \(command.joined(separator: " ")) → \(result.status): \(result.stdout)\(result.stderr)")
                #expect(result.stderr.contains(message), "flow \(command.joined(separator: " ")): \(result.stderr)")
                #expect(result.stderr.contains("flow changed nothing"))
            }
        }

        @Test("a state database from a newer flow is refused by every command and not written")
        func newerStateDatabase() async throws {
            let p = try await damaged("INSERT INTO grdb_migrations(identifier) VALUES ('v9-from-the-future')")
            let before = try bytes(p)
            for command in [["run", "w"], ["status", "w"], ["run", "w", "--fresh"]] {
                let result = try await p.flow(arguments: command)
                #expect(result.status == 70, "\(command): \(result.stderr)")
                #expect(result.stderr.contains("written by a newer flow"), "\(result.stderr)")
            }
            #expect(try bytes(p) == before)
        }
    }
}
