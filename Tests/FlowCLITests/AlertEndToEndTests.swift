import Foundation
import FlowTestSupport
import Testing

extension EndToEnd {
    /// A task that runs when something failed, and `http.post` to a real loopback listener.
    @Suite("alerts: failure() tasks and http.post, end to end")
    struct AlertEndToEndTests {
        static let token = "tok-SECRET-7f3a9c21"
        static let hookPath = "/hooks/T000/B000/SECRETPATH42"

        static func alerting(retries: Int = 1, alert: String = "") -> String {
            """
            tasks:
              fetch:
                retries: \(retries)
                retry_delay: 10ms
                run: |
                  echo "fetching day 3"
                  echo "vendor said: no data for MGC" >&2
                  exit 3
              load:
                needs: [fetch]
                run: echo load
              notify:
                needs: [load]
                if: ${{ failure() }}
                uses: http.post
                with:
                  url: ${{ env.ALERT_URL }}
                  headers:
                    Authorization: Bearer ${{ env.ALERT_TOKEN }}
                    X-Run: ${{ run.id }}
                  retry_delay: 10ms
            \(alert)
            """
        }

        /// Every file under the project's state folder, as text: the logs and the state database.
        static func stateText(_ p: Project) -> String {
            let base = p.root + "/.flow"
            var text = ""
            for case let file as String in FileManager.default.enumerator(atPath: base)?.allObjects ?? [] {
                if let data = FileManager.default.contents(atPath: base + "/" + file) { text += String(decoding: data, as: UTF8.self) }
            }
            return text
        }

        @Test("a failing task's failure() task POSTs the run summary once, after the last retry; the run stays failed with its cause")
        func failureAlertPostsOnce() async throws {
            let hook = try WebhookReceiver()
            let p = Project()
            try p.workflow("w", Self.alerting(retries: 2))
            let result = try await p.flow("run", "w", env: ["ALERT_URL": hook.baseURL + Self.hookPath, "ALERT_TOKEN": Self.token])
            #expect(result.status == 1, "\(result.stdout)\(result.stderr)")
            let requests = hook.requests
            #expect(requests.count == 1, "one POST, never one per retry of fetch")
            let request = try #require(requests.first)
            #expect(request.method == "POST" && request.path == Self.hookPath)
            #expect(request.headers["Authorization"] == "Bearer \(Self.token)")
            #expect(request.headers["Content-Type"] == "application/json")
            #expect(request.headers["X-Run"] == "1")
            let body = try #require(try JSONSerialization.jsonObject(with: Data(request.body.utf8)) as? [String: Any])
            #expect(body["workflow"] as? String == "w")
            #expect(body["run_id"] as? Int == 1)
            #expect(body["status"] as? String == "failed")
            let failures = try #require(body["failed_tasks"] as? [[String: Any]])
            #expect(failures.count == 1)
            #expect(failures.first?["task"] as? String == "fetch")
            #expect(failures.first?["error"] as? String == "exited with status 3 (after 3 attempts)")
            let tail = failures.first?["log_tail"] as? [String] ?? []
            #expect(tail.contains("vendor said: no data for MGC"), "\(tail)")
            #expect(try await p.taskStatuses("w") == ["fetch": "failed", "load": "skipped", "notify": "succeeded"])
            #expect(result.stdout.contains("failed   fetch"), "\(result.stdout)")
            // The token and the hook's path are secrets: in no output, log or stored state.
            for text in [result.stdout, result.stderr, Self.stateText(p)] {
                #expect(!text.contains(Self.token) && !text.contains("SECRETPATH42"))
            }
            #expect(try await p.flow("logs", "1", "notify").stdout.contains("POST http://127.0.0.1:\(hook.port)/… "))
        }

        @Test("when nothing fails the failure() task is skipped and nothing is posted")
        func noAlertOnSuccess() async throws {
            let hook = try WebhookReceiver()
            let p = Project()
            try p.workflow("w", Self.alerting().replacingOccurrences(of: "exit 3", with: "exit 0"))
            let result = try await p.flow("run", "w", env: ["ALERT_URL": hook.baseURL + Self.hookPath, "ALERT_TOKEN": Self.token])
            #expect(result.status == 0, "\(result.stdout)")
            #expect(hook.requests.isEmpty)
            #expect(try await p.taskStatuses("w")["notify"] == "skipped")
        }

        @Test("an alert that cannot be delivered fails its own task; the run's failure is still fetch's")
        func undeliverableAlert() async throws {
            let p = Project()
            try p.workflow("w", Self.alerting(retries: 0))
            let result = try await p.flow("run", "w", env: ["ALERT_URL": "http://127.0.0.1:9" + Self.hookPath, "ALERT_TOKEN": Self.token])
            #expect(result.status == 1)
            #expect(try await p.taskStatuses("w") == ["fetch": "failed", "load": "skipped", "notify": "failed"])
            #expect(result.stdout.contains("POST to http://127.0.0.1:9/… failed: cannot connect (after 3 requests)"), "\(result.stdout)")
            #expect(!result.stdout.contains(Self.token) && !result.stdout.contains("SECRETPATH42"))
        }

        @Test("http.post retries 5xx and 429, gives up at once on 404, and scrubs what a server echoes back")
        func postRetriesAndStatuses() async throws {
            let hook = try WebhookReceiver()
            let p = Project()
            let post = { (retries: Int) in
                """
                tasks:
                  post:
                    uses: http.post
                    with:
                      url: ${{ env.ALERT_URL }}
                      body: '{"text": "hello"}'
                      headers:
                        Authorization: Bearer ${{ env.ALERT_TOKEN }}
                      retries: "\(retries)"
                      retry_delay: 10ms
                  show:
                    needs: [post]
                    env:
                      N: ${{ tasks.post.outputs.attempts }}
                      S: ${{ tasks.post.outputs.status }}
                    run: echo "attempts=$N status=$S" > result.txt
                """
            }
            let env = ["ALERT_URL": hook.baseURL + Self.hookPath, "ALERT_TOKEN": Self.token]
            try p.workflow("w", post(3))
            try hook.answer("500", "429", "drop")
            let ok = try await p.flow("run", "w", env: env)
            #expect(ok.status == 0, "\(ok.stdout)")
            #expect(p.lines("result.txt") == ["attempts=4 status=200"])
            #expect(hook.requests.count == 4)
            #expect(hook.requests.allSatisfy { $0.body == #"{"text": "hello"}"# })

            try hook.answer("404")
            let notFound = try await p.flow("run", "w", "--fresh", env: env)
            #expect(notFound.status == 1)
            #expect(notFound.stdout.contains("failed: HTTP 404: no"), "\(notFound.stdout)")
            #expect(hook.requests.count == 5, "a 404 is not asked again")

            try p.workflow("w", post(0).replacingOccurrences(of: "retry_delay: 10ms", with: "timeout: 300ms"))
            try hook.answer("stall")
            let stalled = try await p.flow("run", "w", "--fresh", env: env)
            #expect(stalled.status == 1)
            #expect(stalled.stdout.contains("failed: timed out"), "\(stalled.stdout)")

            try p.workflow("w", post(0))
            try hook.answer("echo500")
            let echoed = try await p.flow("run", "w", "--fresh", env: env)
            #expect(echoed.status == 1)
            #expect(echoed.stdout.contains(#"HTTP 500: error for [redacted] {"Host""#), "\(echoed.stdout)")
            #expect(echoed.stdout.contains(#""Authorization": "[redacted]""#))
            for text in [echoed.stdout, echoed.stderr, Self.stateText(p)] {
                #expect(!text.contains(Self.token) && !text.contains("SECRETPATH42"), "a secret the server echoed was kept")
            }
        }

        @Test("on_failure: the listed task needs every other task and runs only when one failed, once, after its retries")
        func onFailureShorthand() async throws {
            let hook = try WebhookReceiver()
            let p = Project()
            try p.workflow("w", """
                on_failure: [alert]
                tasks:
                  a:
                    run: echo a
                  b:
                    retries: 1
                    retry_delay: 10ms
                    run: test -f ok
                  c:
                    needs: [b]
                    run: echo c
                  alert:
                    uses: http.post
                    with:
                      url: ${{ env.ALERT_URL }}
                """)
            let env = ["ALERT_URL": hook.baseURL + "/a"]
            #expect(try await p.flow("run", "w", env: env).status == 1)
            #expect(hook.requests.count == 1)
            #expect(try await p.taskStatuses("w") == ["a": "succeeded", "b": "failed", "c": "skipped", "alert": "succeeded"])
            let plan = try await p.flow("plan", "w", "--fresh")
            #expect(plan.status == 0)
            try p.dir.write("ok", "")
            #expect(try await p.flow("run", "w", env: env).status == 0)
            #expect(hook.requests.count == 1, "a resumed run that succeeds posts nothing")
            #expect(try await p.taskStatuses("w")["alert"] == "skipped")
        }

        @Test("daily-update's shipped alert, uncommented, posts once when the run fails and stays quiet without ALERT_URL")
        func dailyUpdateAlert() async throws {
            let hook = try WebhookReceiver()
            let p = Project()
            let shipped = try String(contentsOfFile: Repository.root + "/workflows/daily-update.yaml", encoding: .utf8)
            var lines = shipped.components(separatedBy: "\n")
            let start = try #require(lines.firstIndex(of: "  # alert:"), "the shipped workflow has its commented alert task")
            for i in start..<lines.count where lines[i].hasPrefix("  # ") { lines[i] = "  " + lines[i].dropFirst(4) }
            try p.workflow("daily-update", lines.joined(separator: "\n").replacingOccurrences(of: "retry_delay: 10s", with: "retry_delay: 10ms"))
            #expect(try await p.flow("validate", "daily-update").status == 0)
            let broken = ["-p", "source=csv", "-p", "csv_dir=missing-folder"]
            let failed = try await p.flow(arguments: ["run", "daily-update"] + broken, env: ["ALERT_URL": hook.baseURL + "/hook"])
            #expect(failed.status == 1)
            #expect(hook.requests.count == 1)
            let body = try #require(try JSONSerialization.jsonObject(with: Data((hook.requests.first?.body ?? "").utf8)) as? [String: Any])
            #expect((body["failed_tasks"] as? [[String: Any]])?.first?["task"] as? String == "detect-gap")
            let quiet = try await p.flow(arguments: ["run", "daily-update", "--fresh"] + broken)
            #expect(quiet.status == 1)
            #expect(hook.requests.count == 1, "no ALERT_URL: the alert is skipped")
        }

        @Test("hostile inputs: another scheme, a header value with a line break, a body that is not JSON; nothing is sent")
        func hostileInputs() async throws {
            let hook = try WebhookReceiver()
            let p = Project()
            try p.workflow("w", """
                tasks:
                  post:
                    uses: http.post
                    with:
                      url: ${{ env.U }}
                      body: ${{ env.B }}
                      headers:
                        X-Token: ${{ env.H }}
                """)
            let good = hook.baseURL + "/x"
            let cases: [([String: String], String)] = [
                (["U": "file:///etc/passwd", "B": "{}", "H": "a"], "'url' must be http:// or https://, not file://"),
                (["U": "gopher://127.0.0.1:\(hook.port)/", "B": "{}", "H": "a"], "not gopher://"),
                (["U": "", "B": "{}", "H": "a"], "'url' is empty"),
                (["U": good + " x", "B": "{}", "H": "a"], "'url' contains spaces or control characters"),
                (["U": good, "B": "{}", "H": "a\r\nX-Injected: 1"], "the value of header 'X-Token' contains a line break"),
                (["U": good, "B": "not json", "H": "a"], "'body' is not JSON"),
            ]
            for (env, message) in cases {
                let result = try await p.flow("run", "w", "--fresh", env: env)
                #expect(result.status == 1)
                #expect(result.stdout.contains(message), "\(message): \(result.stdout)")
                #expect(!result.stdout.contains("X-Injected") && !result.stdout.contains("/etc/passwd"))
            }
            #expect(hook.requests.isEmpty)
        }
    }
}
