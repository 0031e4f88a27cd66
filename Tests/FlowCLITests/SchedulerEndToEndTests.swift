import Foundation
import FlowTestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

extension EndToEnd {
    /// `flow scheduler` on a virtual clock: FLOW_NOW plus FLOW_TIME_SCALE virtual seconds per real second.
    @Suite("flow scheduler, end to end")
    struct SchedulerEndToEndTests {
        static let sixHourly = """
            schedule:
              cron: "0 */6 * * *"
            tasks:
              work:
                run: |
                  test ! -f hold || { touch held; sleep 30; }
                  echo "$FLOW_SCHEDULED_FOR" >> ran.txt
            """

        @Test("a virtual day at 6 virtual hours a second: every tick runs once, in order, and --until ends it with 0")
        func virtualDay() async throws {
            let p = Project()
            try p.workflow("six", Self.sixHourly)
            let result = try await p.flow("scheduler", "--until", "2026-01-02T00:30:00Z",
                                          env: ["FLOW_NOW": "2026-01-01T00:00:00Z", "FLOW_TIME_SCALE": "21600"])
            #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
            #expect(p.lines("ran.txt") == ["2026-01-01T06:00:00Z", "2026-01-01T12:00:00Z", "2026-01-01T18:00:00Z", "2026-01-02T00:00:00Z"])
            let ledger = try await p.flow("schedule", "ledger", "six")
            #expect(ledger.stdout.split(separator: "\n").filter { $0.contains(" ran ") }.count == 4, "\(ledger.stdout)")
        }

        @Test("one scheduler per state database: a second exits 69 naming the lock")
        func oneAtATime() async throws {
            let p = Project()
            try p.workflow("six", Self.sixHourly)
            let first = try p.start("scheduler", env: ["FLOW_NOW": "2026-01-01T00:00:00Z"])
            #expect(await FlowBinary.eventually { first.stdoutSoFar.contains("flow scheduler: watching") })
            let second = try await p.flow("scheduler", "--until", "2026-01-01T00:00:01Z", env: ["FLOW_NOW": "2026-01-01T00:00:00Z"])
            #expect(second.status == 69)
            #expect(second.stderr.contains("another flow scheduler is running") && second.stderr.contains("+scheduler.lock"), "\(second.stderr)")
            first.signal(SIGTERM)
            let ended = await first.wait()
            #expect(ended.status == 130 && ended.stdout.contains("stopped by SIGTERM"), "\(ended.stdout)")
        }

        @Test("SIGTERM during a scheduled run: the run is recorded interrupted, and the next pass resumes it instead of firing again")
        func termMidRun() async throws {
            let p = Project()
            try p.workflow("six", Self.sixHourly)
            try p.dir.write("hold", "")
            let daemon = try p.start("scheduler", env: ["FLOW_NOW": "2026-01-01T05:59:59Z", "FLOW_TIME_SCALE": "1"])
            #expect(await FlowBinary.eventually(timeout: 20) { p.dir.exists("held") })
            daemon.signal(SIGTERM)
            let ended = await daemon.wait()
            #expect(ended.status == 130, "\(ended.stdout)\(ended.stderr)")
            let status = try await p.flow("status", "six", "--json")
            #expect(status.stdout.contains("\"status\" : \"interrupted\""), "\(status.stdout)")
            try FileManager.default.removeItem(atPath: p.root + "/hold")
            let pass = try await p.flow("schedule", "tick", "--now", "2026-01-01T06:10:00Z")
            #expect(pass.status == 0, "\(pass.stdout)\(pass.stderr)")
            #expect(pass.stdout.contains("six: tick 2026-01-01T06:00:00Z resumes run 1"), "\(pass.stdout)")
            #expect(p.lines("ran.txt") == ["2026-01-01T06:00:00Z"])
        }

        @Test("kill -9 of the daemon mid-run: a new daemon resumes that run, kills what it left, and does not fire the tick again")
        func killedDaemon() async throws {
            let p = Project()
            try p.workflow("six", Self.sixHourly)
            try p.dir.write("hold", "")
            let daemon = try p.start("scheduler", env: ["FLOW_NOW": "2026-01-01T05:59:59Z", "FLOW_TIME_SCALE": "1"])
            #expect(await FlowBinary.eventually(timeout: 20) { p.dir.exists("held") })
            daemon.signal(SIGKILL)
            _ = await daemon.wait()
            #expect(ProcessScan.anyProcess(matching: "sleep 30", under: p.root), "the killed daemon's task outlives it, until recovered")
            try FileManager.default.removeItem(atPath: p.root + "/hold")
            // Started again ten virtual minutes later, it runs until a virtual hour has passed.
            let again = try await p.flow("scheduler", "--until", "2026-01-01T06:40:00Z",
                                         env: ["FLOW_NOW": "2026-01-01T06:10:00Z", "FLOW_TIME_SCALE": "600"])
            #expect(again.status == 0, "\(again.stdout)\(again.stderr)")
            #expect(again.stdout.contains("six: tick 2026-01-01T06:00:00Z resumes run 1"), "\(again.stdout)")
            #expect(p.lines("ran.txt") == ["2026-01-01T06:00:00Z"], "the tick ran once, in its own resumed run")
            #expect(!ProcessScan.anyProcess(matching: "sleep 30", under: p.root), "the orphaned task was stopped")
            let ledger = try await p.flow("schedule", "ledger", "six")
            #expect(ledger.stdout.split(separator: "\n").filter { $0.contains("2026-01-01T06:00:00Z") }.count == 1, "\(ledger.stdout)")
            #expect(ledger.stdout.contains("1 succeeded"), "\(ledger.stdout)")
        }

        @Test("a pass that runs several caught-up ticks still hears SIGTERM during the second run (each run's signal handling stays live)")
        func termDuringSecondRun() async throws {
            let p = Project()
            try p.workflow("six", """
                schedule:
                  cron: "0 */6 * * *"
                  catchup: all
                tasks:
                  work:
                    run: |
                      echo "$FLOW_SCHEDULED_FOR" >> ran.txt
                      if [ "$FLOW_SCHEDULED_FOR" = 2026-01-01T12:00:00Z ]; then touch held; sleep 30; fi
                """)
            #expect(try await p.flow("schedule", "tick", "--now", "2026-01-01T00:00:00Z").status == 0)
            let pass = try p.start("schedule", "tick", "--now", "2026-01-01T13:00:00Z")
            #expect(await FlowBinary.eventually(timeout: 20) { p.dir.exists("held") })
            pass.signal(SIGTERM)
            let ended = await pass.wait()
            #expect(ended.status != 0, "\(ended.stdout)")
            #expect(ended.stdout.contains("run 2 interrupted"), "\(ended.stdout)")
            #expect(p.lines("ran.txt") == ["2026-01-01T06:00:00Z", "2026-01-01T12:00:00Z"])
        }
    }
}
