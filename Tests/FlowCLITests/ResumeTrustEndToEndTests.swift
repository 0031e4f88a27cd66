import Foundation
import FlowTestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

extension EndToEnd {
    /// A resumed run is the run the user asked for, and every way flow stops short of `kill -9` is recorded.
    @Suite("resume is the run asked for, end to end")
    struct ResumeTrustEndToEndTests {
        static let twoStep = """
            params:
              db: data/market.db
            tasks:
              write:
                env:
                  DB: ${{ params.db }}
                run: mkdir -p "$(dirname "$DB")"; echo row >> "$DB"
              check:
                needs: [write]
                run: test -f go
            """

        @Test("a plain run after a failed run with other -p values starts a new run with the defaults, and says why")
        func paramsDiffer() async throws {
            let p = Project()
            try p.workflow("w", Self.twoStep)
            let first = try await p.flow("run", "w", "-p", "db=data/live.db")
            #expect(first.status == 1)
            #expect(first.stdout.contains("run 1 of 'w': 2 tasks with params: db=data/live.db"), "\(first.stdout)")
            #expect(first.stdout.contains("resume: flow run w -p db=data/live.db"), "\(first.stdout)")
            let cron = try await p.flow("run", "w")
            #expect(cron.stdout.contains("not resuming run 1: its params differ (db=data/live.db); starting run 2"), "\(cron.stdout)")
            // The live database got exactly the one row its own run wrote; the default one got its own.
            #expect(p.lines("data/live.db") == ["row"])
            #expect(p.lines("data/market.db") == ["row"])
            // Same params again: that run is resumed, its finished task not redone.
            try p.dir.write("go", "")
            let same = try await p.flow("run", "w")
            #expect(same.stdout.contains("resuming run 2 from its checkpoint: 1 of 2 tasks done"), "\(same.stdout)")
            #expect(p.lines("data/market.db") == ["row"])
            // Resuming run 1 by id keeps its stored params, and says which.
            let resume = try await p.flow("resume", "1")
            #expect(resume.status == 0)
            #expect(resume.stdout.contains("with its stored params: db=data/live.db"), "\(resume.stdout)")
            #expect(p.lines("data/live.db") == ["row"])
        }

        @Test("flow run and flow resume each hold one connection to the state database while tasks run")
        func oneConnection() async throws {
            let p = Project()
            // The task's parent is flow: it counts flow's descriptors open on the state database itself (not
            // its -wal or -shm). `always_run` runs it again under `flow resume`.
            try p.workflow("w", """
                tasks:
                  count:
                    always_run: true
                    run: |
                      n=0
                      for fd in /proc/$PPID/fd/*; do
                        case "$(readlink "$fd")" in *.flow/state.db) n=$((n + 1)) ;; esac
                      done
                      echo "$n" >> connections.txt
                  gate:
                    needs: [count]
                    run: test -f go
                """)
            #expect(try await p.flow("run", "w").status == 1)
            try p.dir.write("go", "")
            let resumed = try await p.flow("resume", "1")
            #expect(resumed.status == 0, "\(resumed.stdout)\(resumed.stderr)")
            #expect(p.lines("connections.txt") == ["1", "1"], "flow run, then flow resume")
        }

        @Test("a workflow run by path from another folder uses its own project: state, data and relative paths")
        func byPathFromElsewhere() async throws {
            let p = Project()
            try p.workflow("w", Self.twoStep)
            try p.dir.write("go", "")
            let elsewhere = TemporaryDirectory("flow-home")
            let result = try await FlowBinary.run(["run", p.root + "/workflows/w.yaml"], in: elsewhere.path)
            #expect(result.status == 0, "\(result.stderr)")
            #expect(p.dir.exists(".flow/state.db"))
            #expect(p.lines("data/market.db") == ["row"])
            let left = try FileManager.default.contentsOfDirectory(atPath: elsewhere.path).filter { !$0.hasPrefix(".out-") }
            #expect(left.isEmpty, "created in the current folder: \(left)")
            // And from inside the project, by name, it is the same workflow with the same history.
            let history = try await p.flow("history", "w", "--json")
            #expect(history.stdout.contains("\"id\" : 1"), "\(history.stdout)")
        }

        @Test("two files with one name are refused, naming both; neither resumes the other's run")
        func nameClash() async throws {
            let p = Project()
            try p.workflow("daily-update", "tasks:\n  a:\n    run: \"false\"\n")
            try p.workflow("copy", "name: daily-update\ntasks:\n  a:\n    run: \"true\"\n")
            let result = try await p.flow("run", "copy")
            #expect(result.status == 65)
            #expect(result.stderr.contains("workflow name 'daily-update' of workflows/copy.yaml is also used by workflows/daily-update.yaml"),
                    "\(result.stderr)")
            // A file elsewhere with the same name, sharing the state database, is refused too.
            try FileManager.default.removeItem(atPath: p.root + "/workflows/copy.yaml")
            #expect(try await p.flow("run", "daily-update").status == 1)
            let other = TemporaryDirectory("flow-other")
            try other.write("workflows/daily-update.yaml", "tasks:\n  a:\n    run: \"true\"\n")
            let clash = try await FlowBinary.run(["run", other.path + "/workflows/daily-update.yaml", "--state", p.root + "/.flow/state.db"],
                                                 in: p.root)
            #expect(clash.status == 65, "\(clash.stdout)\(clash.stderr)")
            #expect(clash.stderr.contains("is also used by workflows/daily-update.yaml"), "\(clash.stderr)")
        }

        @Test("a closed stdout (flow run X | head -1) records the run and its attempt interrupted")
        func closedPipe() async throws {
            let p = Project()
            try p.workflow("slow", "tasks:\n  a:\n    run: echo one\n  b:\n    needs: [a]\n    run: sleep 2\n  c:\n    needs: [b]\n    run: echo three\n")
            let shell = Process()
            shell.executableURL = URL(fileURLWithPath: "/bin/sh")
            shell.arguments = ["-c", "'\(FlowBinary.path)' run slow | head -1 > first.txt"]
            shell.currentDirectoryURL = URL(fileURLWithPath: p.root)
            try shell.run()
            shell.waitUntilExit()
            // `head` is gone as soon as it has its line; flow ends when its next write meets the closed pipe.
            #expect(await FlowBinary.eventually(timeout: 15) { !p.dir.exists(".flow/locks/slow.lock") || Self.unlocked(p.root + "/.flow/locks/slow.lock") })
            let stored = try await SQLiteFile.rows(p.root + "/.flow/state.db", "SELECT status FROM runs UNION ALL SELECT DISTINCT status FROM attempts WHERE status = 'running'")
            #expect(stored == ["interrupted"], "stored: \(stored)")
            #expect(Project.unstamped(p.dir.read("first.txt") ?? "").first?.hasPrefix("run 1 of 'slow'") == true)
        }

        @Test("a second Ctrl-C kills a task that ignores SIGTERM and still records the run interrupted")
        func secondInterrupt() async throws {
            let p = Project()
            try p.workflow("deaf", "tasks:\n  a:\n    run: trap '' TERM INT; echo started > started.txt; sleep 30\n")
            let running = try p.start("run", "deaf", "--grace", "20s")
            #expect(await FlowBinary.eventually { p.dir.exists("started.txt") })
            running.signal(SIGINT)
            try await Task.sleep(for: .milliseconds(300))
            running.signal(SIGINT)
            let result = await running.wait()
            #expect(result.status == 130)
            let stored = try await SQLiteFile.rows(p.root + "/.flow/state.db", "SELECT status FROM runs UNION ALL SELECT status FROM attempts")
            #expect(stored == ["interrupted", "interrupted"], "\(stored)")
        }

        @Test("status, history and list of a run whose runner was killed say so before the next run")
        func runnerGone() async throws {
            let p = Project()
            try p.workflow("long", "tasks:\n  a:\n    run: echo started > started.txt; sleep 30\n")
            let running = try p.start("run", "long")
            #expect(await FlowBinary.eventually { p.dir.exists("started.txt") })
            let alive = try await p.flow("status", "long")
            #expect(alive.stdout.contains("running"), "\(alive.stdout)")
            running.signal(SIGKILL)
            _ = await running.wait()
            let status = try await p.flow("status", "long")
            #expect(status.stdout.contains("run 1 of 'long': interrupted"), "\(status.stdout)")
            #expect(status.stdout.contains("is gone"))
            let json = try await p.statusJSON("long")
            #expect((json["run"] as? [String: Any])?["status"] as? String == "interrupted")
            #expect((json["run"] as? [String: Any])?["runner_gone"] as? Bool == true)
            #expect(try await p.flow("history", "long").stdout.contains("interrupted"))
            #expect(try await p.flow("list").stdout.contains("interrupted"))
            // The next run records it and stops the orphaned `sleep`.
            try p.workflow("long", "tasks:\n  a:\n    run: \"true\"\n")
            let next = try await p.flow("run", "long")
            #expect(next.stderr.contains("marked it interrupted and stopped 1 orphaned task process group"), "\(next.stderr)")
        }

        /// Whether nobody holds the flock on `path` (the runner has exited).
        static func unlocked(_ path: String) -> Bool {
            let fd = open(path, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { return true }
            defer { close(fd) }
            guard flock(fd, LOCK_SH | LOCK_NB) == 0 else { return false }
            flock(fd, LOCK_UN)
            return true
        }

        @Test("a deleted lock file does not let a second flow run take over a live run")
        func deletedLock() async throws {
            let p = Project()
            try p.workflow("long", "tasks:\n  a:\n    run: echo started > started.txt; sleep 2; echo done > done.txt\n")
            let running = try p.start("run", "long")
            #expect(await FlowBinary.eventually { p.dir.exists("started.txt") })
            try FileManager.default.removeItem(atPath: p.root + "/.flow/locks/long.lock")
            let second = try await p.flow("run", "long")
            #expect(second.status == 69, "\(second.stdout)\(second.stderr)")
            #expect(second.stderr.contains("lock file"), "\(second.stderr)")
            let first = await running.wait()
            #expect(first.status == 0, "\(first.stdout)\(first.stderr)")
            #expect(p.dir.exists("done.txt"))
        }

        @Test("history shows a failed run's failing task and its error, and whether it was retried")
        func historyNamesTheFailure() async throws {
            let p = Project()
            try p.workflow("f", "tasks:\n  ok:\n    run: \"true\"\n  broken:\n    needs: [ok]\n    retries: 1\n    retry_delay: 0s\n    run: exit 3\n")
            #expect(try await p.flow("run", "f").status == 1)
            let text = try await p.flow("history", "f")
            #expect(text.stdout.contains("broken: exited with status 3 (after 2 attempts)"), "\(text.stdout)")
            let json = try await p.flow("history", "f", "--json")
            #expect(json.stdout.contains("\"failed_tasks\""), "\(json.stdout)")
            #expect(json.stdout.contains("\"task\" : \"broken\""))
        }
    }
}
