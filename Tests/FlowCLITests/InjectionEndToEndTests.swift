import Foundation
import FlowTestSupport
import Testing

extension EndToEnd {
    /// Hostile values through every door a value can enter by: nothing is ever run as code, and
    /// nothing outside the project's folders is written.
    @Suite("injection, end to end")
    struct InjectionEndToEndTests {
        /// 60+ payloads: quoting, separators, substitutions, newlines, `${{ }}`, traversal, very long strings.
        static let payloads: [String] = {
            let cores = ["touch CANARY", "touch \"$PWD/CANARY\"", "echo pwned > CANARY", "sh -c 'touch CANARY'"]
            var out: [String] = []
            for core in cores {
                out += ["; \(core)", "'; \(core); '", "\"; \(core); \"", "$(\(core))", "`\(core)`", "| \(core)", "&& \(core)",
                        "\n\(core)", "x\n\(core)\n", "${IFS}\(core)", ") ; \(core) ; (", "$({ \(core); })"]
            }
            out += ["${{ params.x }}", "${{ env.HOME }}", "../../../../tmp/CANARY", "/etc/passwd", "..", "$HOME", "%s%n%x",
                    String(repeating: "A", count: 100_000), "\u{0}", "💥'\"$(touch CANARY)", "-p", "--fresh", "a=b=c"]
            return out
        }()

        @Test("there are at least 60 payloads")
        func enough() { #expect(Self.payloads.count >= 60) }

        @Test("payloads through -p, a task output read downstream, and env never create the canary")
        func throughValues() async throws {
            let p = Project()
            try p.workflow("inj", """
                params:
                  value: default
                env:
                  FROM_PARAM: ${{ params.value }}
                tasks:
                  make:
                    env:
                      V: ${{ params.value }}
                    run: |
                      printf '%s' "$V" > seen.txt
                      printf 'value<<FLOW_EOF_7d1\\n%s\\nFLOW_EOF_7d1\\n' "$V" >> "$FLOW_OUTPUT"
                  use:
                    needs: [make]
                    env:
                      OUT: ${{ tasks.make.outputs.value }}
                    working_directory: .
                    run: printf '%s' "$OUT" > used.txt; printf '%s' "$FROM_PARAM" > env.txt
                """)
            var tried = 0
            for payload in Self.payloads where !payload.contains("\u{0}") {
                let result = try await p.flow(arguments: ["run", "inj", "--fresh", "-p", "value=\(payload)"])
                tried += 1
                #expect(!p.dir.exists("CANARY"), "payload \(payload.prefix(40)) created the canary")
                #expect(!FileManager.default.fileExists(atPath: "/tmp/CANARY"))
                #expect(result.status == 0, "\(payload.prefix(40)): \(result.stderr.prefix(300))")
                #expect(p.dir.read("seen.txt") == payload, "\(payload.prefix(40))")
                #expect(p.dir.read("used.txt") == payload, "\(payload.prefix(40)) through an output")
                #expect(p.dir.read("env.txt") == payload, "\(payload.prefix(40)) through workflow env")
            }
            #expect(tried >= 60)
        }

        @Test("payloads as workflow names, task names and run ids are refused as usage or validation errors")
        func throughNames() async throws {
            let p = Project()
            try p.workflow("ok", "tasks:\n  a:\n    run: \"true\"\n")
            #expect(try await p.flow("run", "ok").status == 0)
            for payload in Self.payloads.prefix(48) + ["../ok", "1 OR 1=1", "-1", "0x10", "1;2"] {
                let logs = try await p.flow(arguments: ["logs", payload])
                #expect(logs.status == 2 || logs.status == 66, "flow logs \(payload.prefix(30)) → \(logs.status)")
                let task = try await p.flow(arguments: ["logs", "1", payload])
                #expect(task.status == 2 || task.status == 66)
                let run = try await p.flow(arguments: ["run", payload])
                #expect([2, 64, 65, 66].contains(run.status), "flow run \(payload.prefix(30)) → \(run.status)")
                #expect(!p.dir.exists("CANARY"))
            }
            // A name is only a file stem: a workflow file named with a payload is refused by validation.
            try p.workflow("bad", "name: \"x; touch CANARY\"\ntasks:\n  a:\n    run: \"true\"\n")
            #expect(try await p.flow("run", "bad").status == 65)
            try p.workflow("bad2", "tasks:\n  \"a; touch CANARY\":\n    run: \"true\"\n")
            #expect(try await p.flow("run", "bad2").status == 65)
            #expect(!p.dir.exists("CANARY"))
        }

        @Test("an expression in the shell action's with.run or the sql action's with.sql is a validation error, and nothing runs")
        func expressionsInCodeInputs() async throws {
            let p = Project()
            try p.workflow("sh", """
                params:
                  who: world
                tasks:
                  greet:
                    uses: shell
                    with:
                      run: echo ${{ params.who }}
                """)
            try p.workflow("q", """
                params:
                  name: x
                tasks:
                  q:
                    uses: sql
                    with:
                      db: data/q.db
                      sql: INSERT INTO t VALUES ('${{ params.name }}')
                """)
            let shell = try await p.flow("run", "sh", "-p", "who=x; touch CANARY")
            #expect(shell.status == 65)
            #expect(shell.stderr.contains("sh.yaml:7:17: error: expressions are not allowed in 'with.run' of task 'greet'"), "\(shell.stderr)")
            #expect(shell.stderr.contains("WHO: ${{ params.who }}"))
            let sql = try await p.flow("run", "q", "-p", "name=x'); DROP TABLE keep; --")
            #expect(sql.status == 65)
            #expect(sql.stderr.contains("expressions are not allowed in 'with.sql' of task 'q'"), "\(sql.stderr)")
            #expect(sql.stderr.contains("bind:"))
            #expect(!p.dir.exists("CANARY"))
            #expect(!p.dir.exists("data/q.db"))
        }

        @Test("payloads bound into SQL through -p and through an upstream output are stored as text; no table is dropped")
        func throughSQLBindings() async throws {
            let p = Project()
            try p.workflow("sqlinj", """
                params:
                  value: default
                tasks:
                  setup:
                    uses: sql
                    with:
                      db: data/nested/q.db
                      sql: CREATE TABLE IF NOT EXISTS keep(x); CREATE TABLE IF NOT EXISTS seen(via, v); DELETE FROM seen
                  make:
                    env:
                      V: ${{ params.value }}
                    run: printf 'value<<FLOW_EOF_7d1\\n%s\\nFLOW_EOF_7d1\\n' "$V" >> "$FLOW_OUTPUT"
                  store:
                    needs: [setup, make]
                    uses: sql
                    with:
                      db: data/nested/q.db
                      sql: |
                        INSERT INTO seen VALUES ('param', :p);
                        INSERT INTO seen VALUES ('output', :o);
                        SELECT count(*) AS n FROM seen WHERE v = :p
                      bind:
                        p: ${{ params.value }}
                        o: ${{ tasks.make.outputs.value }}
                """)
            var tried = 0
            for payload in Self.payloads + ["x'); DROP TABLE keep; --", "'; DROP TABLE keep; SELECT '", "1); DELETE FROM seen; --"]
            where !payload.contains("\u{0}") && !payload.contains("\n") {
                let result = try await p.flow(arguments: ["run", "sqlinj", "--fresh", "-p", "value=\(payload)"])
                tried += 1
                #expect(result.status == 0, "\(payload.prefix(40)): \(result.stderr.prefix(300))")
                let rows = try await SQLiteFile.rows(p.dir.path + "/data/nested/q.db",
                                                     "SELECT name FROM sqlite_master WHERE name = 'keep' UNION ALL SELECT via || '=' || v FROM seen")
                #expect(rows == ["keep", "param=\(payload)", "output=\(payload)"], "\(payload.prefix(40))")
                #expect(!p.dir.exists("CANARY"))
            }
            #expect(tried >= 50)
            let status = try await p.statusJSON("sqlinj")
            let store = (status["tasks"] as? [[String: Any]])?.first { $0["id"] as? String == "store" }
            #expect((store?["outputs"] as? [String: Any])?["n"] as? String == "2")
        }

        @Test("an unbound or positional SQL parameter fails the task with the fix, and nothing is committed")
        func unboundParameter() async throws {
            let p = Project()
            try p.workflow("unbound", """
                tasks:
                  q:
                    uses: sql
                    with:
                      db: q.db
                      sql: CREATE TABLE t(x); INSERT INTO t VALUES (:missing)
                """)
            let result = try await p.flow("run", "unbound")
            #expect(result.status == 1)
            #expect(result.stdout.contains("uses parameter ':missing', which 'bind:' does not give"), "\(result.stdout)")
            #expect(try await SQLiteFile.rows(p.dir.path + "/q.db", "SELECT name FROM sqlite_master") == [])
            try p.workflow("positional", """
                tasks:
                  q:
                    uses: sql
                    with:
                      db: q.db
                      sql: SELECT ? AS x
                """)
            let positional = try await p.flow("run", "positional")
            #expect(positional.status == 1)
            #expect(positional.stdout.contains("positional parameter '?'"), "\(positional.stdout)")
        }
    }
}

extension EndToEnd.InjectionEndToEndTests {
    @Test("payloads in every text input of every built-in action, from -p and from an upstream output: never code, never a crash",
          arguments: ["params", "output"])
    func everyActionInput(_ from: String) async throws {
        let p = Project()
        // Each task stands alone (no needs but the payload's source, --keep-going) so that every action meets every
        // payload; the value comes from -p, or from an upstream task's output (vendor data is as untrusted).
        let value = from == "params" ? "${{ params.v }}" : "${{ tasks.make.outputs.value }}"
        let needs = from == "params" ? "" : "\n    needs: [make]"
        let text = """
            params:
              v: x
            defaults:
              retries: 0
            tasks:
              make:
                env:
                  V: ${{ params.v }}
                run: printf 'value<<FLOW_EOF_7d1\\n%s\\nFLOW_EOF_7d1\\n' "$V" >> "$FLOW_OUTPUT"
              health:
                uses: sqlite.health-check
                with:
                  db: data/h.db
                  full: ${{ params.v }}
                  backup: ${{ params.v }}
                  keep_backups: ${{ params.v }}
                  min_free_mb: ${{ params.v }}
                  max_schema_version: ${{ params.v }}
              gap-symbols:
                uses: market.detect-gap
                with:
                  db: data/m.db
                  symbols: ${{ params.v }}
                  source: demo
              gap-source:
                uses: market.detect-gap
                with:
                  db: data/m2.db
                  symbols: MGC
                  source: ${{ params.v }}
                  start: ${{ params.v }}
                  dataset: ${{ params.v }}
                  symbol_rule: ${{ params.v }}
                  request_timeout: ${{ params.v }}
              backfill:
                uses: market.backfill
                with:
                  db: data/m3.db
                  symbols: MGC
                  source: demo
                  start: ${{ params.v }}
                  end: ${{ params.v }}
                  timezone: ${{ params.v }}
                  day_start: ${{ params.v }}
              features:
                uses: market.build-features
                with:
                  db: data/m4.db
                  symbols: MGC
                  since: ${{ params.v }}
                  rebuild: ${{ params.v }}
                  timezone: ${{ params.v }}
              report:
                uses: market.report
                with:
                  db: data/m5.db
                  symbols: MGC
                  source: ${{ params.v }}
                  bars_added: ${{ params.v }}
                  added_by_symbol: ${{ params.v }}
                  notice: ${{ params.v }}
                  available_end: ${{ params.v }}
                  day_start: ${{ params.v }}
            """
        try p.workflow("all", text.replacingOccurrences(of: "${{ params.v }}", with: value)
            .replacingOccurrences(of: "V: " + value, with: "V: ${{ params.v }}")
            .replacingOccurrences(of: "\n    uses:", with: needs + "\n    uses:"))
        var tried = 0
        for payload in Self.payloads where !payload.contains("\u{0}") && (from == "params" || !payload.contains("\n")) {
            let result = try await p.flow(arguments: ["run", "all", "--fresh", "--keep-going", "-p", "v=\(payload)"], env: ["FLOW_NOW": "2026-01-28T21:00:00Z"])
            tried += 1
            #expect(result.status == 0 || result.status == 1, "\(payload.prefix(40)) → \(result.status): \(result.stderr.prefix(300))")
            #expect(!p.dir.exists("CANARY") && !p.dir.exists("data/CANARY"), "\(payload.prefix(40)) created the canary")
            #expect(!FileManager.default.fileExists(atPath: "/tmp/CANARY"))
        }
        #expect(tried >= 50)
        // The last payload's run still recorded every task's end: nothing was left running or unexplained.
        let statuses = try await p.taskStatuses("all")
        #expect(statuses.count == 7 && statuses.values.allSatisfy { ["succeeded", "failed"].contains($0) }, "\(statuses)")
    }
}
