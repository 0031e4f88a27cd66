import Foundation
import FlowTestSupport
import Testing

extension EndToEnd {
    /// What `flow run` shows: a live region on a terminal (through `script`, a real pseudo-terminal), timestamped
    /// plain lines when piped, a failed task's last lines, and `flow logs -f` following a live run.
    @Suite("the terminal view, end to end")
    struct TerminalEndToEndTests {
        static let stamp = #"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d "#

        func viaTerminal(_ p: Project, _ arguments: String) async throws -> String {
            let command = "NO_COLOR= '\(FlowBinary.path)' \(arguments)"
            return try await FlowBinary.runProgram("/usr/bin/script", ["-qec", command, "/dev/null"], in: p.root).stdout
        }

        @Test("piped: every line of a run starts with a timestamp (date, time, offset), and no escape code is written")
        func plainLinesAreStamped() async throws {
            let p = Project()
            try p.workflow("w", "tasks:\n  a:\n    run: echo a\n  b:\n    needs: [a]\n    run: echo b\n")
            let result = try await p.flow("run", "w")
            #expect(result.status == 0)
            let lines = result.stdout.split(separator: "\n").map(String.init)
            #expect(lines.count >= 6, "\(result.stdout)")
            #expect(lines.allSatisfy { $0.range(of: Self.stamp, options: .regularExpression) != nil }, "\(result.stdout)")
            #expect(lines.contains { $0.hasSuffix("run 1 succeeded in " + ($0.split(separator: " ").last.map(String.init) ?? "")) || $0.contains("run 1 succeeded") })
            #expect(!result.stdout.contains("\u{1B}["))
        }

        @Test("on a terminal: a live region shows what runs and for how long, is redrawn in place, and is gone at the end")
        func liveRegion() async throws {
            let p = Project()
            try p.workflow("w", "tasks:\n  slow:\n    run: sleep 1.2\n  quick:\n    run: echo hi\n  after:\n    needs: [slow, quick]\n    run: \"true\"\n")
            let out = try await viaTerminal(p, "run w")
            #expect(out.contains("running  slow"), "\(out)")
            #expect(out.contains("1 running · 1 waiting"), "\(out)")
            #expect(out.contains("\u{1B}[2F\u{1B}[J"), "the region is erased before each redraw")
            #expect(!out.contains("start "), "a start line would only push the finished ones away: the region shows it")
            // Redrawn while slow runs: its elapsed time moves.
            #expect(out.contains("running  slow   0.5s") || out.contains("running  slow  0.5s") || out.contains("slow  0.7s") || out.contains("slow  1.0s"),
                    "\(out)")
            // The last frame is erased before the summary: nothing of the region follows it.
            let summary = try #require(out.range(of: "run 1 ", options: .backwards))
            #expect(!out[summary.lowerBound...].contains("running"), "\(out[summary.lowerBound...])")
            #expect(out[..<summary.lowerBound].hasSuffix("\u{1B}[J"), "the region is erased right before the summary")
        }

        @Test("--plain on a terminal, and NO_COLOR: plain timestamped lines, no region, no escape codes")
        func plainOnTerminal() async throws {
            let p = Project()
            try p.workflow("w", "tasks:\n  a:\n    run: sleep 0.4\n")
            for command in ["run w --plain --fresh", "run w --fresh"] {
                let out = try await FlowBinary.runProgram("/usr/bin/script", ["-qec", (command.contains("plain") ? "" : "NO_COLOR=1 ")
                                                                                + "'\(FlowBinary.path)' \(command)", "/dev/null"], in: p.root).stdout
                #expect(!out.contains("\u{1B}["), "\(command): \(out)")
                #expect(!out.contains("running  a"))
                let lines = out.split(whereSeparator: { $0 == "\n" || $0 == "\r" }).map(String.init)
                #expect(lines.allSatisfy { $0.range(of: Self.stamp, options: .regularExpression) != nil }, "\(command): \(out)")
            }
        }

        @Test("a failed task's last 10 lines of output appear under its failed line, control characters escaped, piped and on a terminal")
        func failureTail() async throws {
            let p = Project()
            try p.workflow("w", """
                tasks:
                  load:
                    run: |
                      for i in $(seq 1 15); do echo "row $i"; done
                      printf 'evil \\033[2J done\\n'
                      exit 4
                """)
            let piped = try await p.flow("run", "w")
            #expect(piped.status == 1)
            let lines = piped.stdout.split(separator: "\n").map(String.init)
            let failed = try #require(lines.firstIndex { $0.contains("failed   load") }, "\(piped.stdout)")
            let shown = lines[(failed + 1)...].prefix { $0.contains("      | ") }.map { String($0.split(separator: "|", maxSplits: 1)[1].dropFirst()) }
            #expect(shown == (7...15).map { "row \($0)" } + ["evil \\u{1B}[2J done"], "\(piped.stdout)")
            let terminal = try await viaTerminal(p, "run w --fresh")
            #expect(terminal.contains("      | row 15"), "\(terminal)")
            #expect(!terminal.contains("\u{1B}[2J"), "a task's output cannot clear the terminal through flow")
        }

        @Test("flow logs -f follows a live run: each line as it is written, a header per attempt, until the run ends")
        func followLogs() async throws {
            let p = Project()
            try p.workflow("w", """
                tasks:
                  talk:
                    run: for i in 1 2 3 4 5 6; do echo "line $i"; sleep 0.25; done
                  after:
                    needs: [talk]
                    run: echo done-after
                """)
            let run = try p.start("run", "w")
            #expect(await FlowBinary.eventually(timeout: 10) { p.dir.exists(".flow/logs/1/talk.1.log") })
            let follow = try await p.flow("logs", "1", "-f")
            _ = await run.wait()
            #expect(follow.status == 0, "\(follow.stderr)")
            let lines = follow.stdout.split(separator: "\n").map(String.init)
            #expect(lines.filter { $0.hasPrefix("line ") } == (1...6).map { "line \($0)" }, "\(follow.stdout)")
            #expect(lines.first == "==> talk attempt 1 <==")
            #expect(lines.contains("done-after"))
            #expect(lines.contains { $0.hasPrefix("<== ended: talk attempt 1 (succeeded) at ") })
            #expect(lines.last == "run 1 succeeded")
            // It followed, rather than printing at the end: it began before the run ended.
            #expect(follow.stdout.contains("==> after attempt 1 <=="))
            let again = try await p.flow("logs", "1", "talk", "-f")
            #expect(again.stdout.hasPrefix("==> talk attempt 1 <==\nline 1\n") && !again.stdout.contains("done-after"), "\(again.stdout)")
        }
    }
}
