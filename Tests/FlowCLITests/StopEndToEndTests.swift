import Foundation
import FlowTestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

extension EndToEnd {
    /// `flow stop`: a live run stopped as Ctrl-C would, by name or id; `--kill` for a task deaf to SIGTERM; a run
    /// whose runner died recovered; and what is not running left alone.
    @Suite("flow stop, end to end")
    struct StopEndToEndTests {
        static let slow = "tasks:\n  long:\n    run: sleep 30\n  after:\n    needs: [long]\n    run: touch AFTER\n"

        @Test("by workflow name and by run id: the runner stops its tasks, the run is interrupted, nothing after it starts")
        func stopLive() async throws {
            for byID in [false, true] {
                let p = Project()
                try p.workflow("w", Self.slow)
                let run = try p.start("run", "w")
                #expect(await FlowBinary.eventually(timeout: 10) { ProcessScan.anyProcess(matching: "sleep 30", under: p.root) })
                let started = ContinuousClock.now
                let stop = try await p.flow("stop", byID ? "1" : "w")
                #expect(stop.status == 0, "\(stop.stdout)\(stop.stderr)")
                #expect(stop.stdout.contains("asked run 1 of 'w' to stop") && stop.stdout.contains("run 1 interrupted"), "\(stop.stdout)")
                #expect(ContinuousClock.now - started < .seconds(10))
                let ended = await run.wait()
                #expect(ended.status == 130)
                #expect(try await p.taskStatuses("w")["long"] == "interrupted")
                #expect(!ProcessScan.anyProcess(matching: "sleep 30", under: p.root))
                #expect(!p.dir.exists("AFTER"))
            }
        }

        @Test("--kill: a task that ignores SIGTERM is killed after the grace period instead of waiting out the runner's")
        func kill() async throws {
            let p = Project()
            try p.workflow("w", "tasks:\n  deaf:\n    run: trap '' TERM; sleep 30 & wait; sleep 30\n")
            let run = try p.start("run", "w", "--grace", "20s")
            #expect(await FlowBinary.eventually(timeout: 10) { ProcessScan.anyProcess(matching: "sleep 30", under: p.root) })
            let started = ContinuousClock.now
            let stop = try await p.flow("stop", "w", "--kill", "--grace", "1s")
            #expect(stop.status == 0, "\(stop.stdout)\(stop.stderr)")
            #expect(stop.stdout.contains("killing its tasks"), "\(stop.stdout)")
            #expect(ContinuousClock.now - started < .seconds(10), "it did not wait for the runner's 20 s grace")
            _ = await run.wait()
            #expect(!ProcessScan.anyProcess(matching: "sleep 30", under: p.root))
        }

        @Test("a run whose runner was killed -9: stop marks it interrupted and stops the task it left; no pid is signalled")
        func stalePid() async throws {
            let p = Project()
            try p.workflow("w", Self.slow)
            let run = try p.start("run", "w")
            #expect(await FlowBinary.eventually(timeout: 10) { ProcessScan.anyProcess(matching: "sleep 30", under: p.root) })
            run.signal(SIGKILL)
            _ = await run.wait()
            #expect(ProcessScan.anyProcess(matching: "sleep 30", under: p.root), "the orphaned task is still going")
            let stop = try await p.flow("stop", "w")
            #expect(stop.status == 0, "\(stop.stdout)\(stop.stderr)")
            #expect(stop.stdout.contains("was left running by a process that is gone; marked it interrupted"), "\(stop.stdout)")
            #expect(!stop.stdout.contains("SIGINT"), "a dead runner's pid is never signalled")
            #expect(try await p.taskStatuses("w")["long"] == "interrupted")
            #expect(await FlowBinary.eventually(timeout: 10) { !ProcessScan.anyProcess(matching: "sleep 30", under: p.root) })
        }

        @Test("what is not running: a finished run exits 1 saying so; an unknown run 66; an unknown workflow names it")
        func notRunning() async throws {
            let p = Project()
            try p.workflow("w", "tasks:\n  a:\n    run: echo a\n")
            #expect(try await p.flow("run", "w").status == 0)
            let done = try await p.flow("stop", "w")
            #expect(done.status == 1 && done.stderr.contains("run 1 of 'w' is not running (it succeeded)"), "\(done.stderr)")
            #expect(try await p.flow("stop", "42").status == 66)
            let unknown = try await p.flow("stop", "nope")
            #expect(unknown.status == 66 && unknown.stderr.contains("nope"), "\(unknown.stderr)")
        }
    }
}
