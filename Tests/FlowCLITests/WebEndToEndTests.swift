import Foundation
import FlowTestSupport
import GRDB
import Testing

extension EndToEnd {
    /// `flow serve` over real HTTP: every route, the JSON twins, escaping, paths, secrets, tokens and CSRF.
    @Suite("flow serve over HTTP, end to end")
    struct WebEndToEndTests {
        static let hostile = #"<script>alert("x")</script>"#

        /// A project with a finished, failed run whose every field holds markup.
        static func hostileProject() async throws -> Project {
            let p = Project()
            try p.workflow("w", """
                description: "<b>bold</b> & <script>alert(1)</script>"
                params:
                  who: world
                tasks:
                  make:
                    env:
                      WHO: ${{ params.who }}
                    run: |
                      echo "note=<img src=x onerror=alert(1)>" >> "$FLOW_OUTPUT"
                      echo "who is $WHO"
                      echo '<script>alert("log")</script>'
                  broken:
                    needs: [make]
                    run: echo '</pre><script>alert(2)</script>' >&2; exit 3
                """)
            try p.workflow("bad", "tasks:\n  a:\n    run: echo\n    <script>alert(3)</script>: 1\n")
            _ = try await p.flow("run", "w", "-p", "who=\(hostile)")
            return p
        }

        @Test("every page and its /api/ twin answer, the twins are exactly the CLI's --json documents")
        func routes() async throws {
            let p = try await Self.hostileProject()
            try p.workflow("nightly", "schedule:\n  cron: \"0 20 * * *\"\ntasks:\n  a:\n    run: echo a\n")
            let env = ["FLOW_NOW": "2026-01-05T12:00:00Z"]
            _ = try await p.flow("schedule", "tick", "--now", "2026-01-05T09:00:00Z")
            _ = try await p.flow("schedule", "tick", "--now", "2026-01-05T20:05:00Z")
            let server = try await WebServer(p, env: env)
            for path in ["/", "/workflows/w", "/runs/1", "/workflows/nightly/ledger", "/workflows/nightly"] {
                let page = try await server.get(path)
                #expect(page.status == 200, "\(path): \(page.status) \(page.body ?? "")")
                #expect(page.headers["content-type"] == "text/html; charset=utf-8")
                #expect(page.headers["content-security-policy"]?.contains("script-src 'nonce-") == true)
                #expect(page.headers["x-content-type-options"] == "nosniff")
            }
            let twins: [(String, [String])] = [
                ("/api/workflows", ["list", "--json"]),
                ("/api/runs/1", ["status", "w", "--json"]),
                ("/api/workflows/w/runs", ["history", "w", "--json", "--limit", "50"]),
                ("/api/workflows/nightly/ledger", ["schedule", "ledger", "nightly", "--json"]),
            ]
            for (path, command) in twins {
                let api = try await server.get(path)
                let cli = try await p.flow(arguments: command, env: env)
                #expect(api.status == 200 && api.headers["content-type"] == "application/json; charset=utf-8", "\(path)")
                #expect(api.body == cli.stdout, "\(path) differs from flow \(command.joined(separator: " "))")
            }
            let log = try await server.get("/api/runs/1/logs/make/1")
            #expect(log.status == 200 && log.headers["content-type"] == "text/plain; charset=utf-8")
            #expect(log.body?.contains("who is \(Self.hostile)") == true)
            for missing in ["/runs/99", "/api/runs/99", "/workflows/nope", "/api/runs/1/logs/make/9", "/api/runs/1/logs/nope/1"] {
                #expect(try await server.get(missing).status == 404, "\(missing)")
            }
            #expect(try await server.get("/workflows/w/data").status == 404, "w keeps no market database")
        }

        @Test("markup in a description, a param, an output, a log line, an error and a broken file is shown escaped everywhere")
        func escaping() async throws {
            let p = try await Self.hostileProject()
            let server = try await WebServer(p)
            let pages = try await [server.get("/"), server.get("/workflows/w"), server.get("/runs/1")].map { $0.body ?? "" }
            for page in pages {
                #expect(!page.contains("<script>alert"), "raw script in a page")
                #expect(!page.contains("<img src=x"), "raw img in a page")
                #expect(!page.contains("<b>bold"))
            }
            #expect(pages[0].contains("&lt;b&gt;bold&lt;/b&gt; &amp; &lt;script&gt;alert(1)&lt;/script&gt;"), "\(pages[0])")
            #expect(pages[0].contains("&lt;script&gt;alert(3)&lt;/script&gt;"), "the broken file's diagnostic is shown, escaped")
            #expect(pages[2].contains("who=&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;"), "the param")
            #expect(pages[2].contains("note=&lt;img src=x onerror=alert(1)&gt;"), "the output")
            // Logs are plain text, never HTML.
            let log = try await server.get("/api/runs/1/logs/broken/1")
            #expect(log.headers["content-type"] == "text/plain; charset=utf-8")
            #expect(log.body?.contains("</pre><script>alert(2)</script>") == true)
        }

        @Test("no path reaches outside the logs folder: .., encoded slashes, a log path moved in the database, a symlink")
        func paths() async throws {
            let p = try await Self.hostileProject()
            let server = try await WebServer(p)
            for path in ["/api/runs/1/logs/..%2F..%2Fstate.db/1", "/api/runs/1/logs/../../etc/passwd", "/api/runs/1/logs/%2e%2e/1",
                         "/api/runs/1/logs/make%2F..%2F..%2F..%2Fetc%2Fpasswd/1", "/runs/..%2F1", "/workflows/..%2Fworkflows%2Fw"] {
                let reply = try await server.get(path)
                #expect(reply.status == 404 || reply.status == 400, "\(path): \(reply.status)")
                #expect(!(reply.body ?? "").contains("root:"), "\(path) read /etc/passwd")
            }
            // The state database names a file outside the logs folder.
            try await blocking {
                let queue = try DatabaseQueue(path: p.root + "/.flow/state.db")
                defer { try? queue.close() }
                try queue.write { db in try db.execute(sql: "UPDATE attempts SET log_path = '/etc/passwd' WHERE task = 'make'") }
            }
            let moved = try await server.get("/api/runs/1/logs/make/1")
            #expect(moved.status == 404 && !(moved.body ?? "").contains("root:"))
            // A log file replaced by a symlink to one.
            let log = p.root + "/.flow/logs/1/broken.1.log"
            try FileManager.default.removeItem(atPath: log)
            try FileManager.default.createSymbolicLink(atPath: log, withDestinationPath: "/etc/passwd")
            let linked = try await server.get("/api/runs/1/logs/broken/1")
            #expect(linked.status == 404 && !(linked.body ?? "").contains("root:"), "\(linked.status)")
        }

        @Test("actions: no token, a wrong one or another site's Origin are refused; the token from this page runs the workflow")
        func actions() async throws {
            let p = Project()
            try p.workflow("w", "tasks:\n  a:\n    run: echo a\n")
            let server = try await WebServer(p)
            let token = try #require(server.token)
            #expect(token.count == 64)
            let page = try await server.get("/workflows/w")
            #expect(page.body?.contains("value=\"\(token)\"") == true, "the page carries the token for its own form")
            let origin = "Origin: \(server.base)"
            #expect(try await server.request("POST", "/workflows/w/run", headers: [origin], body: "").status == 403)
            #expect(try await server.request("POST", "/workflows/w/run", headers: [origin], body: "token=wrong").status == 403)
            #expect(try await server.request("POST", "/workflows/w/run", headers: ["Origin: http://evil.example"], body: "token=\(token)").status == 403)
            #expect(try await server.request("POST", "/workflows/w/run", body: "token=\(token)").status == 403, "a form post without Origin or Referer")
            let get = try await server.request("GET", "/workflows/w/run")
            #expect(get.status == 405 || get.status == 404, "an action is never a GET")
            #expect(p.dir.exists(".flow/state.db") == false, "nothing ran")
            let ok = try await server.request("POST", "/workflows/w/run", headers: [origin], body: "token=\(token)")
            #expect(ok.status == 303 && ok.headers["location"] == "/workflows/w")
            #expect(await FlowBinary.eventually(timeout: 20) { (try? String(contentsOfFile: p.root + "/.flow/logs/1/a.1.log", encoding: .utf8)) == "a\n" })
            let bearer = try await server.request("POST", "/workflows/w/run", headers: ["Authorization: Bearer \(token)"])
            #expect(bearer.status == 303, "a script with the token needs no Origin")
        }

        @Test("--read-only: no forms, every POST refused; a non-loopback address without --token is refused at start")
        func readOnlyAndBind() async throws {
            let p = Project()
            try p.workflow("w", "tasks:\n  a:\n    run: echo a\n")
            _ = try await p.flow("run", "w")
            let server = try await WebServer(p, ["--read-only"])
            #expect(server.token == nil)
            let runPage = try await server.get("/runs/1")
            let runsPage = try await server.get("/workflows/w")
            #expect(!(runPage.body ?? "<form").contains("<form") && !(runsPage.body ?? "<form").contains("<form"))
            #expect(try await server.request("POST", "/workflows/w/run", headers: ["Authorization: Bearer x"]).status == 403)
            let open = try await p.flow("serve", "--listen", "0.0.0.0:0")
            #expect(open.status == 2 && open.stderr.contains("refusing to listen on 0.0.0.0 without --token"), "\(open.stderr)")
            #expect(try await p.flow("serve", "--listen", "0.0.0.0:0", "--token", "short").status == 2)
            #expect(try await p.flow("serve", "--listen", "nonsense").status == 2)
        }

        @Test("secrets never appear: an Authorization header and a webhook path used by a run are in no page or document")
        func secrets() async throws {
            let hook = try WebhookReceiver()
            let p = Project()
            try p.workflow("w", """
                tasks:
                  alert:
                    uses: http.post
                    with:
                      url: ${{ env.ALERT_URL }}
                      body: '{"ok": true}'
                      headers:
                        Authorization: Bearer ${{ env.ALERT_TOKEN }}
                """)
            try hook.answer("500", "500", "500")
            _ = try await p.flow("run", "w", env: ["ALERT_URL": hook.baseURL + "/SECRETPATH77", "ALERT_TOKEN": "tok-SECRET-1234"])
            let server = try await WebServer(p)
            for path in ["/", "/workflows/w", "/runs/1", "/api/runs/1", "/api/workflows/w/runs", "/api/runs/1/logs/alert/1"] {
                let body = try await server.get(path).body ?? ""
                #expect(!body.contains("tok-SECRET-1234") && !body.contains("SECRETPATH77"), "\(path)")
            }
        }

        @Test("daily-update from Databento (a local fake, 401 then 500 injected): the key is in no page or document; the data page and its JSON")
        func databentoKey() async throws {
            let fake = try await blocking { try FakeDatabento(key: "db-Sec+ret/Key=42&x", availableEnd: "2026-01-16T23:00:00.000000000Z") }
            try fake.inject("echo500")
            let p = try Project.dailyUpdate(retryDelay: "10ms")
            let env = ["FLOW_NOW": "2026-01-17T00:00:00Z", "DATABENTO_API_KEY": fake.key, "DATABENTO_BASE_URL": fake.baseURL,
                       "FLOW_VENDOR_RETRY_BASE": "10ms"]
            #expect(try await p.flow("run", "daily-update", "-p", "start=2026-01-14T23:00:00Z", env: env).status == 0)
            let server = try await WebServer(p)
            let forms = [fake.key, Data("\(fake.key):".utf8).base64EncodedString(),
                         fake.key.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? fake.key]
            var pages: [String] = []
            for path in ["/", "/workflows/daily-update", "/runs/1", "/api/runs/1", "/workflows/daily-update/data", "/api/workflows/daily-update/data"]
                + ["health-check", "detect-gap", "backfill", "build-features", "report"].map({ "/api/runs/1/logs/\($0)/1" }) {
                let reply = try await server.get(path)
                pages.append(reply.body ?? "")
                for form in forms { #expect(!(reply.body ?? "").contains(form), "\(path) shows the key") }
            }
            #expect(pages[4].contains("<svg class=\"closes chart\"") && pages[4].contains("MGC"))
            let data = try #require(try JSONSerialization.jsonObject(with: Data(pages[5].utf8)) as? [String: Any])
            #expect(((data["days"] as? [String: Any])?["MGC"] as? [Any])?.isEmpty == false, "\(pages[5].prefix(300))")
        }

        @Test("flow report RUN --html: one self-contained file with the graph, the tasks and every log, escaped; nothing fetched")
        func report() async throws {
            let p = try await Self.hostileProject()
            let report = try await p.flow("report", "1", "--html")
            #expect(report.status == 0, "\(report.stderr)")
            let html = report.stdout
            #expect(html.hasPrefix("<!doctype html>"))
            #expect(html.contains("<svg id=\"graph\"") && html.contains("data-task=\"broken\""))
            #expect(html.contains("who is &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;"), "the log is inside, escaped")
            #expect(html.contains("&lt;/pre&gt;&lt;script&gt;alert(2)&lt;/script&gt;"))
            #expect(!html.contains("<script>alert") && !html.contains("src=\"http") && !html.contains("href=\"http"))
            #expect(!html.contains("data-log=") && !html.contains("EventSource(\"/"), "nothing is loaded from a server")
            #expect(try await p.flow("report", "99", "--html").status == 66)
        }

        @Test("a live run: its page streams task statuses until the end; a task's log streams line by line as it is written")
        func live() async throws {
            let p = Project()
            try p.workflow("w", """
                tasks:
                  talk:
                    run: for i in $(seq 1 8); do echo "line $i"; sleep 0.2; done
                  after:
                    needs: [talk]
                    run: echo after
                """)
            let run = try p.start("run", "w")
            #expect(await FlowBinary.eventually(timeout: 10) { p.dir.exists(".flow/logs/1/talk.1.log") })
            let server = try await WebServer(p)
            async let events = server.request("GET", "/runs/1/events", events: 20)
            async let log = server.request("GET", "/runs/1/logs/talk/1/stream", events: 50)
            let (statuses, lines) = try await (events, log)
            _ = await run.wait()
            let data = (statuses.events ?? []).filter { $0.event == "message" }.map(\.data)
            #expect(data.first?.contains(#""talk":"running""#) == true, "\(data)")
            #expect(data.last?.contains(#""run":"succeeded""#) == true, "\(data)")
            #expect(statuses.events?.last?.event == "end")
            let text = (lines.events ?? []).filter { $0.event == "message" }.compactMap { event -> String? in
                (try? JSONSerialization.jsonObject(with: Data(event.data.utf8)) as? [String: String])?["text"]
            }.joined()
            #expect(text == (1...8).map { "line \($0)\n" }.joined(), "\(text)")
            #expect((lines.events ?? []).filter { $0.event == "message" }.count > 1, "it arrived in pieces, as written")
            #expect(lines.events?.last?.event == "end")
        }
    }
}
