import Foundation
import FlowTestSupport
import Testing

extension EndToEnd {
    @Suite("flow commands, end to end")
    struct CommandsEndToEndTests {
        static let hello = """
            name: hello
            description: says hello
            params:
              who: world
            tasks:
              greet:
                env:
                  WHO: ${{ params.who }}
                run: |
                  echo "hello $WHO"
                  echo "message=hello $WHO" >> "$FLOW_OUTPUT"
              shout:
                needs: [greet]
                env:
                  MESSAGE: ${{ tasks.greet.outputs.message }}
                run: echo "$MESSAGE" | tr a-z A-Z
            """

        @Test("validate: ok files print ok; a broken file gives file:line:col, the source line, a caret, exit 65")
        func validate() async throws {
            let p = Project()
            try p.workflow("hello", Self.hello)
            let ok = try await p.flow("validate")
            #expect(ok.status == 0)
            #expect(ok.stdout == "workflows/hello.yaml: ok (2 tasks)\n")
            try p.workflow("broken", "tasks:\n  a:\n    need: [b]\n    run: echo a\n")
            let bad = try await p.flow("validate")
            #expect(bad.status == 65)
            #expect(bad.stderr == """
                workflows/broken.yaml:3:5: error: unknown key 'need' in task 'a'
                        need: [b]
                        ^
                note: did you mean 'needs'?
                flow: 1 error in workflows/broken.yaml

                """)
            let run = try await p.flow("run", "broken")
            #expect(run.status == 65)
            #expect(!p.dir.exists(".flow/state.db"), "an invalid workflow never touches state")
        }

        @Test("exit codes: unknown workflow 66, bad -p 2, bad run id 2, unknown run 66, unknown option 2")
        func exitCodes() async throws {
            let p = Project()
            try p.workflow("hello", Self.hello)
            let missing = try await p.flow("run", "helo")
            #expect(missing.status == 66)
            #expect(missing.stderr.contains("did you mean 'hello'?"))
            let badParam = try await p.flow("run", "hello", "-p", "whom=x")
            #expect(badParam.status == 2)
            #expect(badParam.stderr.contains("no parameter 'whom'") && badParam.stderr.contains("did you mean 'who'?"))
            #expect(try await p.flow("run", "hello", "-p", "noequals").status == 2)
            #expect(try await p.flow("logs", "1; rm -rf /").status == 2)
            #expect(try await p.flow("logs", "../../etc/passwd").status == 2)
            #expect(try await p.flow("run", "hello", "--bogus").status == 2)
            #expect(try await p.flow("run", "hello", "--max-parallel", "0").status == 2)
            #expect(try await p.flow("run", "hello", env: ["FLOW_NOW": "yesterday"]).status == 2)
            _ = try await p.flow("run", "hello")
            #expect(try await p.flow("logs", "99").status == 66)
            #expect(try await p.flow("status", "--run", "99").status == 66)
            #expect(try await p.flow("resume", "1").status == 2, "a succeeded run cannot be resumed")
        }

        @Test("run with -p, then status, history, list and logs show it; --json documents parse")
        func inspect() async throws {
            let p = Project()
            try p.workflow("hello", Self.hello)
            let run = try await p.flow("run", "hello", "-p", "who=flow")
            #expect(run.status == 0)
            #expect(run.stdout.contains("run 1 of 'hello': 2 tasks"))
            #expect(run.stdout.contains("run 1 succeeded"))

            let status = try await p.statusJSON("hello")
            let runInfo = try #require(status["run"] as? [String: Any])
            #expect(runInfo["status"] as? String == "succeeded")
            #expect((runInfo["params"] as? [String: String])?["who"] == "flow")
            let tasks = try #require(status["tasks"] as? [[String: Any]])
            #expect(tasks.map { $0["id"] as? String } == ["greet", "shout"])
            #expect((tasks[0]["outputs"] as? [String: String])?["message"] == "hello flow")
            #expect(status["version"] as? Int == 1)

            let text = try await p.flow("status", "hello")
            #expect(text.stdout.contains("greet") && text.stdout.contains("message=hello flow"))

            let logs = try await p.flow("logs", "1", "shout")
            let pattern = #"^==> shout attempt 1 \(succeeded\) at \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d, \d+ms <==\nHELLO FLOW\n$"#
            #expect(logs.stdout.range(of: pattern, options: .regularExpression) != nil, "\(logs.stdout)")

            let history = try JSONSerialization.jsonObject(with: Data(try await p.flow("history", "hello", "--json").stdout.utf8)) as? [String: Any]
            #expect((history?["runs"] as? [[String: Any]])?.count == 1)

            let list = try JSONSerialization.jsonObject(with: Data(try await p.flow("list", "--json").stdout.utf8)) as? [String: Any]
            let workflows = try #require(list?["workflows"] as? [[String: Any]])
            #expect(workflows.first?["name"] as? String == "hello")
            #expect((workflows.first?["last_run"] as? [String: Any])?["status"] as? String == "succeeded")

            let plan = try JSONSerialization.jsonObject(with: Data(try await p.flow("plan", "hello", "--json").stdout.utf8)) as? [String: Any]
            #expect(plan?["mode"] as? String == "new")
            #expect((plan?["tasks"] as? [[String: Any]])?.map { $0["decision"] as? String } == ["run", "run"])
        }

        @Test("graph prints mermaid and dot")
        func graph() async throws {
            let p = Project()
            try p.workflow("hello", Self.hello)
            let mermaid = try await p.flow("graph", "hello")
            #expect(mermaid.stdout == "flowchart TD\n    t_greet[\"greet\"]\n    t_shout[\"shout\"]\n    t_greet --> t_shout\n")
            let dot = try await p.flow("graph", "hello", "--format", "dot")
            #expect(dot.stdout.contains("\"greet\" -> \"shout\";"))
            #expect(try await p.flow("graph", "hello", "--format", "png").status == 2)
        }

        @Test("--workflows and --state choose the folders; FLOW_STATE sets the state path")
        func globalOptions() async throws {
            let p = Project()
            try p.dir.write("flows/hello.yaml", Self.hello)
            let result = try await p.flow("run", "hello", "--workflows", "flows", "--state", "custom/state.db")
            #expect(result.status == 0)
            #expect(p.dir.exists("custom/state.db"))
            #expect(p.dir.exists("custom/logs/1/greet.1.log"))
            let env = try await p.flow("history", "hello", "--workflows", "flows", env: ["FLOW_STATE": p.root + "/custom/state.db"])
            #expect(env.stdout.contains("succeeded"))
            let byPath = try await p.flow("run", "flows/hello.yaml", "--state", "custom/state.db")
            #expect(byPath.stdout.contains("run 2 of 'hello'"))
        }

        @Test("FLOW_NOW pins run.started_at")
        func pinnedClock() async throws {
            let p = Project()
            try p.workflow("clock", """
                tasks:
                  stamp:
                    env:
                      STARTED: ${{ run.started_at }}
                      RUN: ${{ run.id }}
                    run: echo "$RUN $STARTED" > stamp.txt
                """)
            #expect(try await p.flow("run", "clock", env: ["FLOW_NOW": "2026-01-28T21:00:00Z"]).status == 0)
            #expect(p.dir.read("stamp.txt") == "1 2026-01-28T21:00:00Z\n")
        }

        @Test("a damaged state database is reported, left as it was, and exits non-zero")
        func damagedState() async throws {
            let p = Project()
            try p.workflow("hello", Self.hello)
            try p.dir.write(".flow/state.db", String(repeating: "not a database ", count: 1000))
            let before = p.dir.read(".flow/state.db")
            let result = try await p.flow("run", "hello")
            #expect(result.status == 70)
            #expect(result.stderr.contains("damaged"))
            #expect(p.dir.read(".flow/state.db") == before)
        }
    }
}
