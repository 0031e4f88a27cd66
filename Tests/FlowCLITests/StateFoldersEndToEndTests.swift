import Foundation
import FlowTestSupport
import Testing

extension EndToEnd {
    @Suite("each state database owns its folders, end to end")
    struct StateFoldersEndToEndTests {
        @Test("two state files in one folder, two workflows at once: separate logs, scratch and locks, and each gets its own outputs")
        func twoStatesOneFolder() async throws {
            let p = Project()
            for name in ["a", "b"] {
                try p.workflow(name, """
                    tasks:
                      make:
                        run: for i in 1 2 3 4 5 6 7 8 9 10; do echo "who=\(name)" >> "$FLOW_OUTPUT"; sleep 0.05; done
                      use:
                        needs: [make]
                        env:
                          WHO: ${{ tasks.make.outputs.who }}
                        run: printf '%s' "$WHO" > \(name).txt
                    """)
            }
            let one = try p.start("run", "a", "--state", "shared/one.db")
            let two = try p.start("run", "b", "--state", "shared/two.db")
            let (r1, r2) = (await one.wait(), await two.wait())
            #expect(r1.status == 0 && r2.status == 0, "\(r1.stdout)\(r1.stderr)\(r2.stdout)\(r2.stderr)")
            #expect(p.dir.read("a.txt") == "a" && p.dir.read("b.txt") == "b")
            let shared = try FileManager.default.contentsOfDirectory(atPath: p.root + "/shared").sorted()
            #expect(!shared.contains("logs") && !shared.contains("tmp") && !shared.contains("locks"), "\(shared)")
            #expect(p.dir.exists("shared/one.db.d/locks/a.lock") && p.dir.exists("shared/two.db.d/locks/b.lock"))
            #expect(try await p.flow("logs", "1", "--state", "shared/one.db").status == 0)
        }

        @Test("FLOW_STATE=~/flow.db keeps its logs, locks and scratch in one folder beside the file")
        func homeState() async throws {
            let p = Project()
            let home = TemporaryDirectory("flow-home-state")
            try p.workflow("w", "tasks:\n  a:\n    run: echo hello\n")
            let result = try await p.flow("run", "w", env: ["FLOW_STATE": home.path + "/flow.db"])
            #expect(result.status == 0, "\(result.stderr)")
            let entries = try FileManager.default.contentsOfDirectory(atPath: home.path).sorted()
            #expect(entries.allSatisfy { $0.hasPrefix("flow.db") }, "scattered: \(entries)")
            #expect(home.exists("flow.db.d/locks/w.lock"))
            #expect(!p.dir.exists(".flow"))
        }
    }
}
