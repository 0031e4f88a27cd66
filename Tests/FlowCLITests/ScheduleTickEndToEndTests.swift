import Foundation
import FlowTestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

extension EndToEnd {
    /// `flow schedule tick` on a virtual clock (`--now`): every due tick decided once, by the stated policy.
    @Suite("flow schedule tick, end to end")
    struct ScheduleTickEndToEndTests {
        /// Daily at 20:00 Brisbane (10:00 UTC). A run started by hand (no tick) waits for a file, so a test can
        /// hold the workflow busy.
        static func nightly(_ policy: String = "catchup: latest", task: String = "") -> String {
            """
            schedule:
              cron: "0 20 * * *"
              timezone: Australia/Brisbane
              \(policy)
            tasks:
              work:
                env:
                  AT: ${{ run.scheduled_for }}
                run: |
                  if [ -z "$AT" ]; then while [ ! -f release ]; do sleep 0.05; done; fi
                  \(task)
                  echo "$AT $FLOW_INTERVAL_START $FLOW_INTERVAL_END" >> ran.txt
            """
        }

        struct Ledger: Decodable {
            struct Row: Decodable { var tickUtc: String; var status: String; var runId: Int64?; var runStatus: String? }
            var ticks: [Row]
        }

        func ledger(_ p: Project) async throws -> [Ledger.Row] {
            let result = try await p.flow("schedule", "ledger", "nightly", "--json")
            try #require(result.status == 0, "\(result.stderr)")
            let decoder = JSONDecoder()
            decoder.keyDecodingStrategy = .convertFromSnakeCase
            return try decoder.decode(Ledger.self, from: Data(result.stdout.utf8)).ticks
        }

        @Test("the first pass only sets the watermark; an on-time tick runs once with its interval; a repeat or an earlier clock fires nothing")
        func onceEach() async throws {
            let p = Project()
            try p.workflow("nightly", Self.nightly())
            let first = try await p.flow("schedule", "tick", "--now", "2026-01-05T00:00:00Z")
            #expect(first.status == 0 && first.stdout.contains("nightly: schedule starts"), "\(first.stdout)\(first.stderr)")
            #expect(try await ledger(p).isEmpty, "enabling a schedule never runs what was due before")
            let due = try await p.flow("schedule", "tick", "--now", "2026-01-05T10:03:00Z")
            #expect(due.status == 0, "\(due.stdout)\(due.stderr)")
            #expect(p.lines("ran.txt") == ["2026-01-05T10:00:00Z 2026-01-04T10:00:00Z 2026-01-05T10:00:00Z"])
            for now in ["2026-01-05T10:04:00Z", "2026-01-05T10:03:00Z", "2026-01-04T12:00:00Z"] {
                #expect(try await p.flow("schedule", "tick", "--now", now).status == 0)
            }
            #expect(p.lines("ran.txt").count == 1, "a decided tick never runs again, even with the clock moved back")
            let rows = try await ledger(p)
            #expect(rows.map(\.status) == ["ran"] && rows.first?.runStatus == "succeeded")
        }

        @Test("five days down: each policy decides every missed evening and runs what it says", arguments: [
            ("catchup: none", ["missed-downtime", "missed-downtime", "missed-downtime", "missed-downtime", "missed-downtime"], 0),
            ("catchup: latest", ["missed-downtime", "missed-downtime", "missed-downtime", "missed-downtime", "caught-up"], 1),
            ("catchup: all", ["caught-up", "caught-up", "caught-up", "caught-up", "caught-up"], 5),
            ("catchup: all\n  max_catchup: 2", ["dropped-over-cap", "dropped-over-cap", "dropped-over-cap", "caught-up", "caught-up"], 2),
            ("catchup: all\n  catchup_window: 3d", ["outside-window", "outside-window", "caught-up", "caught-up", "caught-up"], 3),
        ])
        func downtime(_ policy: String, _ statuses: [String], _ runs: Int) async throws {
            let p = Project()
            try p.workflow("nightly", Self.nightly(policy))
            #expect(try await p.flow("schedule", "tick", "--now", "2026-01-01T00:00:00Z").status == 0)
            // Back an hour after the fifth evening (Jan 1 to Jan 5): every tick is past its 15-minute grace.
            let pass = try await p.flow("schedule", "tick", "--now", "2026-01-05T11:00:00Z")
            #expect(pass.status == 0, "\(pass.stdout)\(pass.stderr)")
            let rows = try await ledger(p).reversed()
            #expect(rows.map(\.tickUtc) == (1...5).map { "2026-01-0\($0)T10:00:00Z" })
            #expect(rows.map(\.status) == statuses)
            #expect(p.lines("ran.txt").count == runs)
            // Caught-up runs go oldest first, each with its own tick.
            let ranTicks = p.lines("ran.txt").map { String($0.prefix(20)) }
            #expect(ranTicks == rows.filter { $0.status == "caught-up" }.map(\.tickUtc))
        }

        @Test("a miss notifies once: the notify_missed task runs alone with the missed ticks, before the caught-up run; the next pass sends nothing")
        func missNotifiesOnce() async throws {
            let hook = try WebhookReceiver()
            let p = Project()
            let workflow = Self.nightly("catchup: latest\n  notify_missed: alert") + """

                  alert:
                    needs: [work]
                    if: ${{ failure() }}
                    uses: http.post
                    with:
                      url: ${{ env.ALERT_URL }}
                  note:
                    needs: [work]
                    run: echo "missed=$FLOW_MISSED_TICKS" >> notes.txt
                """
            try p.workflow("nightly", workflow)
            let env = ["ALERT_URL": hook.baseURL + "/missed"]
            #expect(try await p.flow(arguments: ["schedule", "tick", "--now", "2026-01-01T00:00:00Z"], env: env).status == 0)
            let pass = try await p.flow(arguments: ["schedule", "tick", "--now", "2026-01-04T11:00:00Z"], env: env)
            #expect(pass.status == 0, "\(pass.stdout)\(pass.stderr)")
            #expect(pass.stdout.contains("nightly: 3 missed ticks; notifying with task 'alert'"), "\(pass.stdout)")
            #expect(hook.requests.count == 1, "its needs and if: do not apply to a notification of misses")
            let body = try #require(try JSONSerialization.jsonObject(with: Data((hook.requests.first?.body ?? "").utf8)) as? [String: Any])
            let missed = try #require(body["missed_ticks"] as? [[String: Any]])
            #expect(missed.map { $0["tick"] as? String } == ["2026-01-01T10:00:00Z", "2026-01-02T10:00:00Z", "2026-01-03T10:00:00Z"])
            #expect(missed.first?["local"] as? String == "2026-01-01T20:00:00+10:00")
            #expect(missed.allSatisfy { $0["status"] as? String == "missed-downtime" })
            #expect(body["workflow"] as? String == "nightly+missed")
            // The caught-up evening ran as usual, its own alert skipped; the notification is not the workflow's run.
            #expect(p.lines("ran.txt").count == 1)
            #expect(try await p.taskStatuses("nightly")["alert"] == "skipped")
            #expect(p.lines("notes.txt") == ["missed="], "the workflow's run is not a notification")
            #expect(try await p.flow(arguments: ["schedule", "tick", "--now", "2026-01-04T11:05:00Z"], env: env).status == 0)
            #expect(hook.requests.count == 1, "a pass that records no miss notifies nobody")
        }

        @Test("two passes at once: each tick runs once")
        func concurrentPasses() async throws {
            let p = Project()
            try p.workflow("nightly", Self.nightly("catchup: all", task: "sleep 0.5"))
            #expect(try await p.flow("schedule", "tick", "--now", "2026-01-01T00:00:00Z").status == 0)
            let a = try p.start("schedule", "tick", "--now", "2026-01-03T11:00:00Z")
            let b = try p.start("schedule", "tick", "--now", "2026-01-03T11:00:00Z")
            let (ra, rb) = (await a.wait(), await b.wait())
            #expect(ra.status == 0 && rb.status == 0, "\(ra.stdout)\(ra.stderr)\(rb.stdout)\(rb.stderr)")
            #expect(p.lines("ran.txt").sorted() == p.lines("ran.txt"), "oldest first")
            #expect(p.lines("ran.txt").map { String($0.prefix(20)) } == ["2026-01-01T10:00:00Z", "2026-01-02T10:00:00Z", "2026-01-03T10:00:00Z"])
            #expect(try await ledger(p).count == 3)
        }

        @Test("a run going: overlap skip records the tick skipped; queue runs it at the next pass after the run ends", arguments: ["skip", "queue"])
        func overlap(_ mode: String) async throws {
            let p = Project()
            try p.workflow("nightly", Self.nightly("catchup: latest\n  overlap: \(mode)"))
            #expect(try await p.flow("schedule", "tick", "--now", "2026-01-05T00:00:00Z").status == 0)
            let manual = try p.start("run", "nightly")
            #expect(await FlowBinary.eventually { manual.stdoutSoFar.contains("start    work") })
            let pass = try await p.flow("schedule", "tick", "--now", "2026-01-05T10:01:00Z")
            #expect(pass.status == 0, "\(pass.stdout)\(pass.stderr)")
            #expect(try await ledger(p).map(\.status) == [mode == "skip" ? "skipped-overlap" : "queued"])
            try p.dir.write("release", "")
            #expect(await manual.wait().status == 0)
            let later = try await p.flow("schedule", "tick", "--now", "2026-01-05T12:00:00Z")
            #expect(later.status == 0, "\(later.stdout)\(later.stderr)")
            let scheduled = p.lines("ran.txt").filter { $0.hasPrefix("2026-01-05T10:00:00Z") }
            #expect(scheduled.count == (mode == "skip" ? 0 : 1), "\(p.lines("ran.txt"))")
            #expect(try await ledger(p).map(\.status) == [mode == "skip" ? "skipped-overlap" : "ran"])
        }

        @Test("kill -9 of a pass mid-run: the next pass resumes that run and does not fire the tick again")
        func killedMidRun() async throws {
            let p = Project()
            try p.workflow("nightly", Self.nightly("catchup: latest", task: "test -f done-once || { touch started; sleep 30; }"))
            #expect(try await p.flow("schedule", "tick", "--now", "2026-01-05T00:00:00Z").status == 0)
            let pass = try p.start("schedule", "tick", "--now", "2026-01-05T10:01:00Z")
            #expect(await FlowBinary.eventually { p.dir.exists("started") })
            pass.signal(SIGKILL)
            _ = await pass.wait()
            try p.dir.write("done-once", "")
            let next = try await p.flow("schedule", "tick", "--now", "2026-01-05T10:30:00Z")
            #expect(next.status == 0, "\(next.stdout)\(next.stderr)")
            #expect(next.stdout.contains("nightly: tick 2026-01-05T10:00:00Z resumes run 1"), "\(next.stdout)")
            #expect(p.lines("ran.txt") == ["2026-01-05T10:00:00Z 2026-01-04T10:00:00Z 2026-01-05T10:00:00Z"])
            let rows = try await ledger(p)
            #expect(rows.count == 1 && rows.first?.runId == 1 && rows.first?.runStatus == "succeeded")
        }

        @Test("a failed scheduled run stays failed (the next pass does not retry it); the next tick is a new run")
        func failureIsAnOutcome() async throws {
            let p = Project()
            try p.workflow("nightly", Self.nightly("catchup: latest", task: "test -f fixed"))
            #expect(try await p.flow("schedule", "tick", "--now", "2026-01-05T00:00:00Z").status == 0)
            #expect(try await p.flow("schedule", "tick", "--now", "2026-01-05T10:01:00Z").status == 1)
            try p.dir.write("fixed", "")
            #expect(try await p.flow("schedule", "tick", "--now", "2026-01-05T11:00:00Z").status == 0)
            #expect(p.lines("ran.txt").isEmpty)
            #expect(try await p.flow("schedule", "tick", "--now", "2026-01-06T10:01:00Z").status == 0)
            #expect(p.lines("ran.txt").count == 1)
            #expect(try await ledger(p).map { "\($0.status) \($0.runId ?? 0) \($0.runStatus ?? "")" } == ["ran 2 succeeded", "ran 1 failed"])
        }

        @Test("a scheduler pass and the run it starts share one connection to the state database")
        func oneConnection() async throws {
            let p = Project()
            try p.workflow("nightly", Self.nightly("catchup: latest", task: """
                n=0; for fd in /proc/$PPID/fd/*; do case "$(readlink "$fd")" in *.flow/state.db) n=$((n + 1)) ;; esac; done
                      echo "$n" > connections.txt
                """))
            #expect(try await p.flow("schedule", "tick", "--now", "2026-01-05T00:00:00Z").status == 0)
            #expect(try await p.flow("schedule", "tick", "--now", "2026-01-05T10:01:00Z").status == 0)
            #expect(p.lines("connections.txt") == ["1"])
        }

        @Test("status --check: 0 when the last due tick succeeded, 1 when it failed, 3 when a tick has gone unmet for an interval; list shows it")
        func check() async throws {
            let p = Project()
            try p.workflow("nightly", Self.nightly("catchup: latest", task: "test -f ok"))
            try p.workflow("plain", "tasks:\n  a:\n    run: \"true\"\n")
            func check(at now: String) async throws -> (Int32, String) {
                let r = try await p.flow("status", "nightly", "--check", env: ["FLOW_NOW": now])
                return (r.status, r.stdout)
            }
            let before = try await check(at: "2026-01-05T00:00:00Z")
            #expect(before.0 == 0 && before.1.contains("not scheduled yet"), "\(before.1)")
            #expect(try await p.flow("schedule", "tick", "--now", "2026-01-05T00:00:00Z").status == 0)
            #expect(try await p.flow("schedule", "tick", "--now", "2026-01-05T10:01:00Z").status == 1)
            let failed = try await check(at: "2026-01-05T11:00:00Z")
            #expect(failed.0 == 1 && failed.1.contains("nightly: failed: the tick of 2026-01-05T10:00:00Z"), "\(failed.1)")
            try p.dir.write("ok", "")
            #expect(try await p.flow("schedule", "tick", "--now", "2026-01-06T10:02:00Z").status == 0)
            let good = try await check(at: "2026-01-06T12:00:00Z")
            #expect(good.0 == 0 && good.1.contains("nightly: ok: the tick of 2026-01-06T10:00:00Z (2026-01-06T20:00:00+10:00) ran and succeeded"),
                    "\(good.1)")
            // The next evening's tick is due but within its interval: not stale yet; a day later it is.
            #expect(try await check(at: "2026-01-07T12:00:00Z").0 == 0)
            let stale = try await check(at: "2026-01-08T11:00:00Z")
            #expect(stale.0 == 3 && stale.1.contains("stale: the tick of 2026-01-07T10:00:00Z"), "\(stale.1)")
            let list = try await p.flow("list", env: ["FLOW_NOW": "2026-01-08T11:00:00Z"])
            #expect(list.stdout.contains("NEXT TICK") && list.stdout.contains("2026-01-08T10:00:00Z") == false, "\(list.stdout)")
            #expect(list.stdout.contains("2026-01-09T10:00:00Z") && list.stdout.contains("2026-01-06T10:00:00Z ran, succeeded (stale)"),
                    "\(list.stdout)")
            let plain = try await p.flow("status", "plain", "--check")
            #expect(plain.status == 2 && plain.stderr.contains("has no schedule"), "\(plain.stderr)")
        }
    }
}
