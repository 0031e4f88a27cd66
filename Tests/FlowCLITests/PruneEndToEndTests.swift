import Foundation
import FlowTestSupport
import Testing

extension EndToEnd {
    /// `flow prune` and `retention:`: old runs' rows and logs go together; what must stay, stays.
    @Suite("flow prune and retention, end to end")
    struct PruneEndToEndTests {
        func runIDs(_ p: Project, _ workflow: String) async throws -> [Int64] {
            let history = try await p.flow("history", workflow, "--json", "--limit", "1000")
            let doc = try #require(try JSONSerialization.jsonObject(with: Data(history.stdout.utf8)) as? [String: Any])
            return (doc["runs"] as? [[String: Any]] ?? []).compactMap { ($0["id"] as? NSNumber)?.int64Value }
        }

        @Test("--keep-runs: the newest N stay with their logs; older runs' rows and log folders go; --dry-run deletes nothing")
        func keepRuns() async throws {
            let p = Project()
            try p.workflow("w", "tasks:\n  a:\n    run: echo hello\n")
            for _ in 1...5 { #expect(try await p.flow("run", "w", "--fresh").status == 0) }
            let dry = try await p.flow("prune", "w", "--keep-runs", "2", "--dry-run")
            #expect(dry.status == 0 && dry.stdout.contains("w: would delete 3 runs (1, 2, 3)"), "\(dry.stdout)")
            #expect(try await runIDs(p, "w") == [5, 4, 3, 2, 1])
            let prune = try await p.flow("prune", "w", "--keep-runs", "2")
            #expect(prune.status == 0 && prune.stdout.contains("w: deleted 3 runs (1, 2, 3)"), "\(prune.stdout)")
            #expect(try await runIDs(p, "w") == [5, 4])
            for id in 1...3 { #expect(!p.dir.exists(".flow/logs/\(id)"), "run \(id)'s logs are gone") }
            #expect(p.dir.read(".flow/logs/5/a.1.log") == "hello\n")
            let left = try await SQLiteFile.rows(p.root + "/.flow/state.db",
                                                 "SELECT COUNT(*) FROM attempts WHERE run_id <= 3 UNION ALL SELECT COUNT(*) FROM task_states WHERE run_id <= 3")
            #expect(left == ["0", "0"])
            #expect(try await p.flow("prune", "w", "--keep-runs", "2").stdout.contains("nothing to prune"))
            #expect(try await p.flow("run", "w", "--fresh").status == 0, "new runs still get new ids")
            #expect(try await runIDs(p, "w").first == 6)
        }

        @Test("never pruned: the newest run, a running run, the newest failed one a resume needs; then it resumes")
        func keepsWhatItMust() async throws {
            let p = Project()
            try p.workflow("w", "tasks:\n  a:\n    run: test -f ok\n")
            #expect(try await p.flow("run", "w").status == 1)                // 1 failed: the resume target
            try p.dir.write("ok", "")
            try p.workflow("v", "tasks:\n  a:\n    run: echo v\n")
            #expect(try await p.flow("run", "v").status == 0)                // 2
            let prune = try await p.flow("prune", "--keep-runs", "1", "--keep-days", "1", env: ["FLOW_NOW": "2030-01-01T00:00:00Z"])
            #expect(prune.status == 0)
            let (w, v) = (try await runIDs(p, "w"), try await runIDs(p, "v"))
            #expect(w == [1] && v == [2], "each workflow's newest is kept")
            let resumed = try await p.flow("run", "w")
            #expect(resumed.status == 0 && resumed.stdout.contains("resuming run 1"), "\(resumed.stdout)")
        }

        @Test("retention: in the file applies by default and after scheduled runs; a pruned tick is never run again")
        func retentionAndSchedule() async throws {
            let p = Project()
            try p.workflow("nightly", """
                retention: { runs: 2, days: none }
                schedule:
                  cron: "0 20 * * *"
                  catchup: all
                tasks:
                  work:
                    run: echo "$FLOW_SCHEDULED_FOR" >> ran.txt
                """)
            #expect(try await p.flow("schedule", "tick", "--now", "2026-01-01T00:00:00Z").status == 0)
            let pass = try await p.flow("schedule", "tick", "--now", "2026-01-05T21:00:00Z")
            #expect(pass.status == 0, "\(pass.stdout)\(pass.stderr)")
            #expect(p.lines("ran.txt").count == 5)
            #expect(pass.stdout.contains("nightly: retention deleted"), "\(pass.stdout)")
            #expect(try await runIDs(p, "nightly") == [5, 4])
            // The pruned ticks stay decided: later passes run nothing again.
            #expect(try await p.flow("schedule", "tick", "--now", "2026-01-05T21:30:00Z").status == 0)
            #expect(p.lines("ran.txt").count == 5)
            let ledger = try await p.flow("schedule", "ledger", "nightly")
            #expect(ledger.stdout.split(separator: "\n").filter { $0.contains("caught-up") || $0.contains(" ran ") }.count == 5, "\(ledger.stdout)")
            let bad = Project()
            try bad.workflow("x", "retention: { runs: 0, weeks: 2 }\ntasks:\n  a:\n    run: echo\n")
            let invalid = try await bad.flow("validate", "x")
            #expect(invalid.status == 65 && invalid.stderr.contains("unknown key 'weeks'") && invalid.stderr.contains("'runs'"), "\(invalid.stderr)")
        }
    }
}
