import Foundation
import FlowTestSupport
import Testing

extension EndToEnd {
    /// `matrix:` with the built binary: expansion, names, outputs per instance, `max_parallel`, resume.
    @Suite("matrix, end to end")
    struct MatrixEndToEndTests {
        static let matrix = """
            tasks:
              backfill:
                matrix:
                  symbol: [MGC, GC]
                  tf: [1m, 1h]
                  exclude:
                    - { symbol: GC, tf: 1h }
                  include:
                    - { symbol: SI, tf: 1d }
                max_parallel: 2
                env:
                  SYMBOL: ${{ matrix.symbol }}
                  TF: ${{ matrix.tf }}
                run: |
                  test ! -f "fail-$SYMBOL-$TF"
                  echo "start $SYMBOL-$TF $(date +%s.%N)" >> times.txt
                  sleep 0.3
                  echo "end $SYMBOL-$TF $(date +%s.%N)" >> times.txt
                  echo "$SYMBOL-$TF" >> work.txt
                  echo "bars=$SYMBOL-$TF" >> "$FLOW_OUTPUT"
              summary:
                needs: [backfill]
                env:
                  ALL: ${{ tasks.backfill.outputs.bars }}
                  ONE: ${{ tasks.backfill[symbol=MGC, tf=1h].outputs.bars }}
                run: echo "all=$ALL one=$ONE" > summary.txt
            """

        @Test("instances per combination (exclude and include as GitHub Actions), named in output, outputs read all or one; max_parallel holds")
        func expands() async throws {
            let p = Project()
            try p.workflow("w", Self.matrix)
            let run = try await p.flow("run", "w", "--plain", "--max-parallel", "8")
            #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
            #expect(Set(p.lines("work.txt")) == ["MGC-1m", "MGC-1h", "GC-1m", "SI-1d"], "GC-1h excluded, SI-1d included")
            let out = Project.unstamped(run.stdout)
            #expect(out.contains { $0.contains("ok       backfill (symbol=MGC, tf=1m)") }, "\(out)")
            #expect(p.lines("summary.txt") == [#"all={"symbol=GC,tf=1m":"GC-1m","symbol=MGC,tf=1h":"MGC-1h","symbol=MGC,tf=1m":"MGC-1m","symbol=SI,tf=1d":"SI-1d"} one=MGC-1h"#])
            // At most two instances at once, though the run allows eight.
            var events: [(Double, Int)] = []
            for line in p.lines("times.txt") {
                let words = line.split(separator: " ")
                if words.count == 3, let t = Double(words[2]) { events.append((t, words[0] == "start" ? 1 : -1)) }
            }
            var live = 0
            var most = 0
            for (_, delta) in events.sorted(by: { $0.0 < $1.0 || ($0.0 == $1.0 && $0.1 < $1.1) }) {
                live += delta
                most = max(most, live)
            }
            #expect(events.count == 8 && most == 2, "\(p.lines("times.txt"))")
            let doc = try await p.statusJSON("w")
            let ids = (doc["tasks"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String }
            #expect(ids.contains("backfill[symbol=MGC,tf=1m]") && ids.contains("backfill[symbol=SI,tf=1d]") && ids.count == 5, "\(ids)")
            let log = try await p.flow("logs", "1", "backfill[symbol=GC,tf=1m]")
            #expect(log.status == 0 && log.stdout.contains("backfill[symbol=GC,tf=1m]"), "\(log.stdout)\(log.stderr)")
        }

        @Test("a resume reruns only the instances that failed; --only a matrix task selects all its instances")
        func resumeRerunsFailedInstances() async throws {
            let p = Project()
            try p.workflow("w", Self.matrix)
            try p.dir.write("fail-GC-1m", "")
            try p.dir.write("fail-SI-1d", "")
            let failed = try await p.flow("run", "w", "--keep-going")
            #expect(failed.status == 1)
            #expect(Set(p.lines("work.txt")) == ["MGC-1m", "MGC-1h"])
            #expect(try await p.taskStatuses("w")["summary"] == "skipped")
            try FileManager.default.removeItem(atPath: p.root + "/fail-GC-1m")
            try FileManager.default.removeItem(atPath: p.root + "/fail-SI-1d")
            try p.dir.write("work.txt", "")
            let resumed = try await p.flow("run", "w")
            #expect(resumed.status == 0 && resumed.stdout.contains("resuming run 1"), "\(resumed.stdout)")
            #expect(Set(p.lines("work.txt")) == ["GC-1m", "SI-1d"], "the two that succeeded are reused")
            #expect(p.lines("summary.txt").first?.contains(#""symbol=MGC,tf=1m":"MGC-1m""#) == true, "reused outputs are read too")
            try p.dir.write("work.txt", "")
            let only = try await p.flow("run", "w", "--only", "backfill")
            #expect(only.status == 0, "\(only.stdout)\(only.stderr)")
            #expect(p.lines("work.txt").count == 4 && p.dir.read("summary.txt")?.isEmpty == false)
        }

        @Test("a 1,000-instance matrix validates and plans; a downstream task reads every instance's outputs")
        func thousand() async throws {
            let p = Project()
            let values = (0..<10).map(String.init).joined(separator: ", ")
            try p.workflow("w", """
                tasks:
                  work:
                    matrix: { a: [\(values)], b: [\(values)], c: [\(values)] }
                    env: { A: "${{ matrix.a }}${{ matrix.b }}${{ matrix.c }}" }
                    run: echo "n=$A" >> "$FLOW_OUTPUT"
                  after:
                    needs: [work]
                    env: { ALL: "${{ tasks.work.outputs.n }}" }
                    run: printf '%s' "$ALL" > all.json
                """)
            let check = try await p.flow("validate", "w")
            #expect(check.status == 0 && check.stdout.contains("ok (1001 tasks)"), "\(check.stdout)\(check.stderr)")
            let plan = try await p.flow("plan", "w")
            #expect(plan.stdout.contains("work (1000 instances)"), "the table folds a matrix's instances")
            let run = try await p.flow("run", "w", "--max-parallel", "8")
            #expect(run.status == 0, "\(run.stderr)")
            let all = try #require(try JSONSerialization.jsonObject(with: Data((p.dir.read("all.json") ?? "").utf8)) as? [String: String])
            #expect(all.count == 1000 && all["a=4,b=0,c=7"] == "407")
        }
    }
}
