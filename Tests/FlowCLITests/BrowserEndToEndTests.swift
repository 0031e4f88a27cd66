import Foundation
import FlowTestSupport
import Testing

extension EndToEnd {
    /// The pages in a real browser: headless Chromium through chromedriver loads the workflows page, a finished
    /// run, a live one (whose statuses and log arrive over server-sent events while the test watches) and the
    /// market-data page, checks their DOM, and saves screenshots (into FLOW_SCREENSHOTS when set).
    @Suite("flow serve in headless Chromium, end to end")
    struct BrowserEndToEndTests {
        struct Facts: Decodable {
            var title: String
            var badges: [String]
            var nodes: Int
            var node_status: [String: String]
            var rows: Int
            var logs: [String]
            var live: String
            var bars: Int
            var closes: Int
            var console_errors: [String]
        }

        @Test("workflows, a finished run, a live run and the data page: statuses, nodes, live log text, charts; no console error")
        func pages() async throws {
            let p = try Project.dailyUpdate()
            #expect(try await p.flow("run", "daily-update", "-p", "symbols=MGC,GC", env: ["FLOW_NOW": "2026-03-20T21:00:00Z"]).status == 0)
            try p.workflow("w", """
                tasks:
                  fetch:
                    run: echo "fetching"; echo "vendor said no" >&2; exit 3
                  load:
                    needs: [fetch]
                    run: echo load
                  other:
                    run: echo other
                """)
            #expect(try await p.flow("run", "w").status == 1)
            try p.workflow("live", """
                tasks:
                  talk:
                    run: sleep 1.5; for i in $(seq 1 6); do echo "line $i"; sleep 0.3; done
                  after:
                    needs: [talk]
                    run: echo after
                """)
            let server = try await WebServer(p)
            let live = try p.start("run", "live")
            #expect(await FlowBinary.eventually(timeout: 10) { p.dir.exists(".flow/logs/3/talk.1.log") })
            let shots = ProcessInfo.processInfo.environment["FLOW_SCREENSHOTS"] ?? p.root + "/shots"
            try FileManager.default.createDirectory(atPath: shots, withIntermediateDirectories: true)
            let waitLive = "document.body.dataset.live==='ended' && document.querySelector('details[data-stream] pre')"
                + " && document.querySelector('details[data-stream] pre').textContent.indexOf('line 6')>=0"
            let result = try await FlowBinary.runProgram("/usr/bin/env", ["python3", 
                Repository.fixtures + "/browser_check.py", server.base, shots,
                "/runs/3:live-run:\(waitLive)", "/:workflows", "/runs/2:failed-run", "/workflows/daily-update/data:data", "/workflows/w:runs",
            ], in: p.root)
            _ = await live.wait()
            #expect(result.status == 0, "\(result.stderr)")
            let facts = try JSONDecoder().decode([String: Facts].self, from: Data(result.stdout.utf8))
            let workflows = try #require(facts["workflows"])
            #expect(workflows.rows == 3 && workflows.badges.contains("failed") && workflows.badges.contains("succeeded"), "\(workflows)")
            let failed = try #require(facts["failed-run"])
            #expect(failed.nodes == 3)
            #expect(failed.node_status == ["fetch": "failed", "load": "skipped", "other": "succeeded"])
            let running = try #require(facts["live-run"])
            #expect(running.live == "ended", "the page heard the run end")
            #expect(running.node_status["talk"] == "succeeded", "the node turned green while the page was open: \(running.node_status)")
            #expect(running.logs.contains { $0.contains((1...6).map { "line \($0)" }.joined(separator: "\n")) }, "\(running.logs)")
            let data = try #require(facts["data"])
            #expect(data.closes == 2 && data.bars >= 20, "\(data)")
            #expect(try #require(facts["runs"]).rows == 1)
            for (name, page) in facts { #expect(page.console_errors.isEmpty, "\(name): \(page.console_errors)") }
            for name in ["workflows", "failed-run", "live-run", "data", "runs"] {
                #expect(FileManager.default.fileExists(atPath: "\(shots)/\(name).png"))
            }
        }
    }
}
