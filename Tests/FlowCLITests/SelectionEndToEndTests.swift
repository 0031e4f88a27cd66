import Foundation
import FlowTestSupport
import Testing

extension EndToEnd {
    /// `flow run --only` / `--from` and `flow plan` with them, with the built binary and a real state database.
    @Suite("--only and --from, end to end")
    struct SelectionEndToEndTests {
        /// fetch → load → features → report, and an unrelated task. Each appends to work.txt what it did and
        /// with which upstream output, so a test sees exactly what ran and what it read.
        static let chain = """
            params:
              day: "1"
            tasks:
              fetch:
                env: { DAY: "${{ params.day }}" }
                run: |
                  echo "fetch $DAY" >> work.txt
                  echo "rows=$DAY$DAY" >> "$FLOW_OUTPUT"
              load:
                needs: [fetch]
                env: { ROWS: "${{ tasks.fetch.outputs.rows }}" }
                run: |
                  test ! -f fail-load
                  echo "load $ROWS" >> work.txt
                  echo "loaded=L$ROWS" >> "$FLOW_OUTPUT"
              features:
                needs: [load]
                env: { LOADED: "${{ tasks.load.outputs.loaded }}" }
                run: echo "features $LOADED" >> work.txt
              report:
                needs: [features]
                run: echo report >> work.txt
              other:
                run: echo other >> work.txt
            """

        func statuses(_ p: Project) async throws -> [String: String] { try await p.taskStatuses("w") }

        @Test("--only reruns exactly that task with its upstream's outputs from the newest run where it succeeded; the rest is left out")
        func onlyReuses() async throws {
            let p = Project()
            try p.workflow("w", Self.chain)
            #expect(try await p.flow("run", "w").status == 0)
            try p.dir.write("work.txt", "")
            let only = try await p.flow("run", "w", "--only", "load", "--plain")
            #expect(only.status == 0, "\(only.stdout)\(only.stderr)")
            #expect(p.lines("work.txt") == ["load 11"], "only load ran, and it read fetch's output of run 1")
            let out = Project.unstamped(only.stdout)
            #expect(out.contains("  --only load: 1 to run, 1 reused from earlier runs, 3 left out"), "\(out)")
            #expect(out.contains { $0.contains("reused   fetch") && $0.contains("succeeded in run 1 with the same inputs") }, "\(out)")
            #expect(out.contains { $0.contains("skipped  features") && $0.contains("not selected (--only load)") }, "\(out)")
            let doc = try await p.statusJSON("w")
            let run = try #require(doc["run"] as? [String: Any])
            #expect(run["id"] as? Int == 2 && run["selection"] as? String == "--only load")
            let tasks = try #require(doc["tasks"] as? [[String: Any]])
            let fetch = try #require(tasks.first { $0["id"] as? String == "fetch" })
            #expect(fetch["status"] as? String == "succeeded" && fetch["reason"] as? String == "reused from run 1"
                    && (fetch["outputs"] as? [String: String]) == ["rows": "11"], "the reused outputs are this run's own: \(fetch)")
            #expect(try await statuses(p) == ["fetch": "succeeded", "load": "succeeded", "features": "skipped", "report": "skipped", "other": "skipped"])
        }

        @Test("--from reruns that task and everything downstream of it, reusing what feeds it")
        func fromReruns() async throws {
            let p = Project()
            try p.workflow("w", Self.chain)
            #expect(try await p.flow("run", "w").status == 0)
            try p.dir.write("work.txt", "")
            let from = try await p.flow("run", "w", "--from", "features")
            #expect(from.status == 0, "\(from.stdout)\(from.stderr)")
            #expect(p.lines("work.txt") == ["features L11", "report"])
            // Comma lists and repeated options add up; --only and --from together are their union.
            try p.dir.write("work.txt", "")
            #expect(try await p.flow("run", "w", "--only", "other", "--only", "report", "--from", "features").status == 0)
            #expect(Set(p.lines("work.txt")) == ["other", "features L11", "report"])
        }

        @Test("an upstream task with no earlier success for these inputs is refused with exit 2, naming it; no run is recorded")
        func missingUpstream() async throws {
            let p = Project()
            try p.workflow("w", Self.chain)
            let never = try await p.flow("run", "w", "--only", "features")
            #expect(never.status == 2, "\(never.stdout)\(never.stderr)")
            #expect(never.stderr.contains("--only features needs upstream tasks that cannot be reused:")
                    && never.stderr.contains("  fetch: no earlier run of the workflow has it succeeded with the same inputs")
                    && never.stderr.contains("  load: no earlier run"), "\(never.stderr)")
            #expect(!p.dir.exists(".flow/logs/1") && !p.dir.exists("work.txt"), "nothing ran, no run was made")
            #expect(try await p.flow("run", "w").status == 0)
            // Other params are other inputs: fetch's success with day=1 does not stand for day=2.
            let other = try await p.flow("run", "w", "--only", "load", "-p", "day=2")
            #expect(other.status == 2 && other.stderr.contains("  fetch: no earlier run"), "\(other.stderr)")
            // A task between two selected ones cannot be reused: its input is being made again.
            let between = try await p.flow("run", "w", "--only", "fetch,features")
            #expect(between.status == 2 && between.stderr.contains("  load: it needs 'fetch', which this selection runs"), "\(between.stderr)")
            let unknown = try await p.flow("run", "w", "--only", "laod")
            #expect(unknown.status == 2 && unknown.stderr.contains("has no task 'laod' (--only)") && unknown.stderr.contains("did you mean 'load'?"),
                    "\(unknown.stderr)")
            let empty = try await p.flow("run", "w", "--from", "load,")
            #expect(empty.status == 2 && empty.stderr.contains("--from takes task ids separated by commas"), "\(empty.stderr)")
            let history = try await p.flow("history", "w", "--json")
            #expect(history.stdout.components(separatedBy: "\"id\" :").count == 2, "only the one full run: \(history.stdout)")
        }

        @Test("the selection is stored with the run: a failed --only run resumes with the same selection, a plain run does not resume it")
        func selectionIsResumeIdentity() async throws {
            let p = Project()
            try p.workflow("w", Self.chain)
            #expect(try await p.flow("run", "w").status == 0)
            try p.dir.write("fail-load", "")
            try p.dir.write("work.txt", "")
            #expect(try await p.flow("run", "w", "--from", "load").status == 1)
            try FileManager.default.removeItem(atPath: p.root + "/fail-load")
            let plain = try await p.flow("plan", "w")
            #expect(plain.stdout.contains("new run"), "a plain run is another run: \(plain.stdout)")
            let resumed = try await p.flow("run", "w", "--from", "load")
            #expect(resumed.status == 0 && resumed.stdout.contains("resuming run 2"), "\(resumed.stdout)")
            #expect(p.lines("work.txt") == ["load 11", "features L11", "report"], "fetch is not redone, load once")
            let whole = try await p.flow("run", "w", "--fresh")
            #expect(whole.status == 0)
            try p.dir.write("fail-load", "")
            #expect(try await p.flow("run", "w", "--only", "load").status == 1)
            let notResumed = try await p.flow("run", "w")
            #expect(notResumed.stdout.contains("not resuming run 4: it ran --only load, this is the whole workflow"), "\(notResumed.stdout)")
        }

        @Test("flow plan --only / --from explains every decision and refuses what flow run would refuse")
        func planExplains() async throws {
            let p = Project()
            try p.workflow("w", Self.chain)
            let refused = try await p.flow("plan", "w", "--only", "load")
            #expect(refused.status == 2 && refused.stdout.contains("cannot be reused: no earlier run"), "\(refused.stdout)")
            #expect(try await p.flow("run", "w").status == 0)
            let plan = try await p.flow("plan", "w", "--only", "load", "--json")
            #expect(plan.status == 0)
            let doc = try #require(try JSONSerialization.jsonObject(with: Data(plan.stdout.utf8)) as? [String: Any])
            #expect(doc["selection"] as? String == "--only load")
            let tasks = try #require(doc["tasks"] as? [[String: Any]])
            let decisions = Dictionary(uniqueKeysWithValues: tasks.map { ($0["id"] as? String ?? "", $0["decision"] as? String ?? "") })
            #expect(decisions == ["fetch": "reuse", "load": "run", "features": "skip", "report": "skip", "other": "skip"])
            let reason = tasks.first { $0["id"] as? String == "fetch" }?["reason"] as? String
            #expect(reason == "reused from run 1: it succeeded there with the same fingerprint")
            #expect(!p.dir.exists(".flow/logs/2"), "plan runs nothing")
        }
    }
}
