import Foundation
import GRDB
import FlowTestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

extension EndToEnd {
    @Suite("flow run, end to end with the built binary")
    struct RunEndToEndTests {
        @Test("a failed run resumes: finished tasks are not executed again")
        func failThenResume() async throws {
            let p = Project()
            try p.workflow("build", """
                tasks:
                  fetch:
                    run: echo fetch >> ran.txt
                  compile:
                    needs: [fetch]
                    run: |
                      echo compile >> ran.txt
                      test -f fixed
                  side:
                    run: echo side >> ran.txt
                  package:
                    needs: [compile]
                    run: echo package >> ran.txt
                """)
            let first = try await p.flow("run", "build")
            #expect(first.status == 1)
            #expect(first.stdout.contains("failed"))
            #expect(first.stdout.contains("resume: flow run build"))
            #expect(p.lines("ran.txt").sorted() == ["compile", "fetch", "side"])
            #expect(try await p.taskStatuses("build") == ["fetch": "succeeded", "compile": "failed", "side": "succeeded", "package": "skipped"])

            let plan = try await p.flow("plan", "build")
            #expect(plan.stdout.contains("resume run 1 (failed): 2 to run, 2 to reuse"))

            try p.dir.write("fixed", "")
            let second = try await p.flow("run", "build")
            #expect(second.status == 0, "\(second.stdout)\(second.stderr)")
            #expect(second.stdout.contains("resuming run 1 from its checkpoint: 2 of 4 tasks done"))
            #expect(p.lines("ran.txt").sorted() == ["compile", "compile", "fetch", "package", "side"])

            // A third run starts a new run, since the last one succeeded.
            let third = try await p.flow("run", "build")
            #expect(third.status == 0)
            #expect(third.stdout.contains("run 2 of 'build'"))
            #expect(p.lines("ran.txt").count == 9)
        }

        @Test("a task that reads the run's id is fingerprinted with it when the run is planned, so a resume reuses it")
        func runIDInFingerprint() async throws {
            let p = Project()
            try p.workflow("w", """
                tasks:
                  stamp:
                    env:
                      RUN: ${{ run.id }}
                    run: echo "stamp $RUN" >> ran.txt
                  gate:
                    needs: [stamp]
                    run: test -f go
                """)
            // Run 1 is planned with its own id (its row exists first): the stamp it fingerprints is the one it ran.
            #expect(try await p.flow("run", "w").status == 1)
            try p.dir.write("go", "")
            let resumed = try await p.flow("run", "w")
            #expect(resumed.status == 0, "\(resumed.stdout)\(resumed.stderr)")
            #expect(resumed.stdout.contains("resuming run 1 from its checkpoint: 1 of 2 tasks done"), "\(resumed.stdout)")
            #expect(p.lines("ran.txt") == ["stamp 1"])
            // A new run gets a new id, so its stamp is new work.
            #expect(try await p.flow("run", "w", "--fresh").status == 0)
            #expect(p.lines("ran.txt") == ["stamp 1", "stamp 2"])
        }

        @Test("--fresh starts over instead of resuming")
        func fresh() async throws {
            let p = Project()
            try p.workflow("w", """
                tasks:
                  a:
                    run: echo a >> ran.txt
                  b:
                    needs: [a]
                    run: exit 1
                """)
            #expect(try await p.flow("run", "w").status == 1)
            let again = try await p.flow("run", "w", "--fresh")
            #expect(again.stdout.contains("run 2 of 'w'"))
            #expect(p.lines("ran.txt") == ["a", "a"])
            let resumed = try await p.flow("resume", "1")
            #expect(resumed.stdout.contains("resuming run 1"))
            #expect(p.lines("ran.txt") == ["a", "a"], "resume reuses 'a'")
        }

        @Test("kill -9 of flow mid-run, then flow run: every task completes exactly once after its last interruption")
        func killNineThenResume() async throws {
            let p = Project()
            try p.workflow("pipeline", """
                max_parallel: 2
                tasks:
                  one:
                    run: echo "start one" >> ran.txt; echo "end one" >> ran.txt
                  two:
                    needs: [one]
                    run: echo "start two" >> ran.txt; echo "end two" >> ran.txt
                  slow:
                    needs: [two]
                    run: |
                      echo "start slow" >> ran.txt
                      sleep 30
                      echo "end slow" >> ran.txt
                  also-slow:
                    needs: [two]
                    run: |
                      echo "start also-slow" >> ran.txt
                      test -f second || sleep 30
                      echo "end also-slow" >> ran.txt
                  last:
                    needs: [slow, also-slow]
                    run: echo "start last" >> ran.txt; echo "end last" >> ran.txt
                """)
            let running = try p.start("run", "pipeline")
            #expect(await FlowBinary.eventually { p.lines("ran.txt").contains("start slow") && p.lines("ran.txt").contains("start also-slow") })
            kill(running.pid, SIGKILL)
            let killed = await running.wait()
            #expect(killed.status == 128 + SIGKILL)
            let sleepers = p.lines("ran.txt").filter { $0.hasPrefix("start") }.count
            #expect(sleepers == 4)

            // The second run must kill the orphaned `sleep 30` groups; make the resumed tasks quick.
            try p.workflow("pipeline", (try String(contentsOfFile: p.root + "/workflows/pipeline.yaml", encoding: .utf8))
                .replacingOccurrences(of: "sleep 30\n      echo \"end slow\"", with: "echo \"end slow\""))
            try p.dir.write("second", "")
            let resumed = try await p.flow("run", "pipeline")
            #expect(resumed.status == 0, "\(resumed.stdout)\(resumed.stderr)")
            #expect(resumed.stderr.contains("marked it interrupted"))
            #expect(resumed.stderr.contains("orphaned task process group"))
            let lines = p.lines("ran.txt")
            for task in ["one", "two", "slow", "also-slow", "last"] {
                #expect(lines.filter { $0 == "end \(task)" }.count == 1, "\(task) completed exactly once: \(lines)")
            }
            #expect(lines.filter { $0 == "start one" }.count == 1, "finished tasks were not started again")
            #expect(lines.filter { $0 == "start two" }.count == 1)
            let history = try await p.flow("history", "pipeline", "--json")
            #expect(history.stdout.contains("\"resumes\" : 1"))
            #expect(!ProcessScan.anyProcess(matching: "sleep 30", under: p.root), "no process of the killed run survives")
        }

        @Test("a shell task's checkpoint survives kill -9 and comes back on resume")
        func checkpointSurvivesKill() async throws {
            let p = Project()
            try p.workflow("load", """
                tasks:
                  load:
                    run: |
                      echo "resumed_from=${FLOW_CHECKPOINT_DAY:-none}" >> seen.txt
                      start=${FLOW_CHECKPOINT_DAY:-0}
                      day=$((start + 1))
                      while [ $day -le 5 ]; do
                        echo "loaded $day" >> seen.txt
                        echo "day=$day" >> "$FLOW_CHECKPOINT"
                        if [ $day -eq 3 ] && [ ! -f second ]; then sleep 30; fi
                        day=$((day + 1))
                      done
                """)
            let running = try p.start("run", "load")
            #expect(await FlowBinary.eventually { p.lines("seen.txt").contains("loaded 3") })
            try await Task.sleep(for: .milliseconds(1500)) // the checkpoint is committed within about a second
            kill(running.pid, SIGKILL)
            _ = await running.wait()
            try p.dir.write("second", "")
            let resumed = try await p.flow("run", "load")
            #expect(resumed.status == 0, "\(resumed.stdout)\(resumed.stderr)")
            #expect(p.lines("seen.txt") == ["resumed_from=none", "loaded 1", "loaded 2", "loaded 3", "resumed_from=3", "loaded 4", "loaded 5"])
        }

        @Test("a second flow run of a running workflow exits 69 at once, naming the holder")
        func concurrentRun() async throws {
            let p = Project()
            try p.workflow("slow", """
                tasks:
                  wait:
                    run: touch started; while [ ! -f stop ]; do sleep 0.05; done
                """)
            let first = try p.start("run", "slow")
            #expect(await FlowBinary.eventually { p.dir.exists("started") })
            let started = Date()
            let second = try await p.flow("run", "slow")
            #expect(Date().timeIntervalSince(started) < 2)
            #expect(second.status == 69)
            #expect(second.stderr.contains("already running (run 1, pid \(first.pid)"))
            let status = try await p.flow("status", "slow")
            #expect(status.status == 0 && status.stdout.contains("running"), "status works while a run writes")
            try p.dir.write("stop", "")
            #expect(await first.wait().status == 0)
        }

        @Test("a running task's process group is in the state database within a moment of its start, not only at its end")
        func pidRecordedWhileRunning() async throws {
            let p = Project()
            try p.workflow("slow", """
                tasks:
                  quick:
                    run: "true"
                  wait:
                    needs: [quick]
                    run: echo $$ > leader.pid; while [ ! -f stop ]; do sleep 0.05; done
                """)
            let running = try p.start("run", "slow")
            #expect(await FlowBinary.eventually { p.dir.exists("leader.pid") })
            let leader = try #require(Int32(p.dir.read("leader.pid")?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""))
            // No transaction follows the start while the task runs: the pid must be written on its own.
            let path = p.root + "/.flow/state.db"
            var recorded: Int64?
            let found = await FlowBinary.eventually(timeout: 3) {
                recorded = try? DatabaseQueue(path: path).read { db in
                    try Int64.fetchOne(db, sql: "SELECT pid FROM attempts WHERE task = 'wait'")
                }
                return recorded != nil
            }
            try p.dir.write("stop", "")
            #expect(await running.wait().status == 0)
            #expect(found, "the running task's pid was never recorded")
            #expect(recorded == Int64(leader), "the recorded pid is the task's process group leader")
        }

        @Test("a task's outputs are those of its last attempt: a retry's, and a changed task's when a resumed run runs it again")
        func outputsReplacedAcrossAttempts() async throws {
            let p = Project()
            let workflow = """
                tasks:
                  retried:
                    retries: 1
                    retry_delay: 10ms
                    run: |
                      if [ -f retried.seen ]; then echo "fresh=2" >> "$FLOW_OUTPUT"; exit 0; fi
                      touch retried.seen; echo "stale=1" >> "$FLOW_OUTPUT"; exit 1
                  changed:
                    run: echo "old=3" >> "$FLOW_OUTPUT"
                  gate:
                    needs: [changed]
                    run: test -f second
                """
            try p.workflow("out", workflow)
            #expect(try await p.flow("run", "out").status == 1)
            // The resumed run re-runs 'changed' (its definition changed): its earlier outputs must go.
            try p.workflow("out", workflow.replacingOccurrences(of: "echo \"old=3\"", with: "echo \"new=4\""))
            try p.dir.write("second", "")
            #expect(try await p.flow("run", "out").status == 0)
            let doc = try await p.statusJSON("out")
            var outputs: [String: [String: String]] = [:]
            for task in doc["tasks"] as? [[String: Any]] ?? [] {
                if let id = task["id"] as? String { outputs[id] = task["outputs"] as? [String: String] }
            }
            #expect(outputs["retried"] == ["fresh": "2"])
            #expect(outputs["changed"] == ["new": "4"])
            #expect((doc["run"] as? [String: Any])?["resumes"] as? Int == 1, "the second run resumed the first")
        }

        @Test("the run ends with the summary outputs of the tasks that succeeded, in workflow order; a failed task's is not shown")
        func summariesAfterRun() async throws {
            let p = Project()
            try p.workflow("sum", """
                tasks:
                  zeta:
                    run: echo "summary=zeta line" >> "$FLOW_OUTPUT"
                  alpha:
                    run: |
                      printf 'summary<<EOF\\nfirst line\\nsecond line\\nEOF\\n' >> "$FLOW_OUTPUT"
                  broken:
                    run: echo "summary=never shown" >> "$FLOW_OUTPUT"; exit 3
                  quiet:
                    run: echo "other=x" >> "$FLOW_OUTPUT"
                """)
            let result = try await p.flow("run", "sum", "--keep-going")
            #expect(result.status == 1, "\(result.stdout)\(result.stderr)")
            // Piped, each line starts with its timestamp.
            let shown = Project.unstamped(result.stdout).filter { $0.hasPrefix("zeta: ") || $0.hasPrefix("alpha: ") || $0.hasPrefix("broken: ") || $0.hasPrefix("quiet: ") }
            #expect(shown == ["zeta: zeta line", "alpha: first line", "alpha: second line"], "\(result.stdout)")
        }

        @Test("a finished task's background process that ignores SIGTERM is killed before flow exits, not left behind")
        func finishedTaskLeavesNothing() async throws {
            let p = Project()
            try p.workflow("bg", """
                tasks:
                  leaves-one:
                    run: |
                      sh -c 'trap "" TERM; echo $$ > background.pid; exec sleep 60' &
                      while [ ! -s background.pid ]; do sleep 0.01; done
                """)
            let started = Date()
            let result = try await p.flow("run", "bg", "--grace", "1s")
            #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
            #expect(Date().timeIntervalSince(started) < 5, "the wait is bounded by the grace period")
            let pid = try #require(Int32(p.dir.read("background.pid")?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""))
            let leftBehind = ProcessScan.isRunning(pid)
            if leftBehind { kill(pid, SIGKILL) }
            #expect(!leftBehind, "the background process outlived flow")
        }

        @Test("a timeout kills the task's grandchildren too")
        func timeoutKillsGrandchild() async throws {
            let p = Project()
            try p.workflow("t", """
                tasks:
                  stuck:
                    timeout: 500ms
                    run: |
                      sh -c 'echo $$ > grandchild.pid; exec sleep 60' &
                      sleep 60
                """)
            let started = Date()
            let result = try await p.flow("run", "t", "--grace", "500ms")
            #expect(Date().timeIntervalSince(started) < 5)
            #expect(result.status == 1)
            #expect(result.stdout.contains("timed out after 500ms"))
            let pid = try #require(Int32(p.dir.read("grandchild.pid")?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""))
            #expect(await FlowBinary.eventually(timeout: 3) { !ProcessScan.isRunning(pid) })
        }

        @Test("shell tasks through the run loop: a retry after a failure and after a timeout, outputs downstream, a SIGTERM-deaf group killed")
        func retriesTimeoutsAndOutputs() async throws {
            let p = Project()
            try p.workflow("r", """
                max_parallel: 2
                tasks:
                  flaky:
                    retries: 2
                    retry_delay: 50ms
                    run: |
                      echo try >> flaky.txt
                      test "$(wc -l < flaky.txt)" -ge 2
                      echo answer=42 >> "$FLOW_OUTPUT"
                  slow-once:
                    retries: 1
                    retry_delay: 50ms
                    timeout: 300ms
                    run: |
                      echo try >> slow.txt
                      if [ "$(wc -l < slow.txt)" -eq 1 ]; then sleep 30; fi
                  deaf:
                    timeout: 300ms
                    continue_on_error: true
                    run: |
                      sh -c 'trap "" TERM; echo $$ > deaf.pid; while :; do sleep 0.05; done' &
                      sleep 30
                  use:
                    needs: [flaky, slow-once, deaf]
                    env:
                      ANSWER: ${{ tasks.flaky.outputs.answer }}
                    run: echo "got $ANSWER" > use.txt
                """)
            let started = Date()
            let result = try await p.flow("run", "r", "--grace", "300ms")
            #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
            #expect(Date().timeIntervalSince(started) < 10)
            #expect(p.lines("flaky.txt").count == 2)
            #expect(p.lines("slow.txt").count == 2)
            #expect(p.lines("use.txt") == ["got 42"])
            let doc = try await p.statusJSON("r")
            var attempts: [String: Int] = [:]
            for task in doc["tasks"] as? [[String: Any]] ?? [] {
                if let id = task["id"] as? String { attempts[id] = task["attempts"] as? Int }
            }
            #expect(attempts == ["flaky": 2, "slow-once": 2, "deaf": 1, "use": 1])
            #expect(try await p.taskStatuses("r")["deaf"] == "timed_out")
            // The leader died of SIGTERM but a process of its group ignored it: the attempt ended only once SIGKILL
            // took the rest of the group, so nothing of it outlives the run.
            let pid = try #require(Int32(p.dir.read("deaf.pid")?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""))
            #expect(!ProcessScan.isRunning(pid))
        }

        @Test("parameter values are never run as shell code", arguments: [
            "'; touch pwned; '", "$(touch pwned)", "`touch pwned`", "x\"; touch pwned; \"", "a\ntouch pwned", "${{ params.x }}",
        ])
        func injection(_ payload: String) async throws {
            let p = Project()
            try p.workflow("inj", """
                params:
                  target: default
                tasks:
                  build:
                    env:
                      TARGET: ${{ params.target }}
                    run: |
                      printf '%s' "$TARGET" > seen.txt
                      echo "value=$TARGET" >> "$FLOW_OUTPUT"
                  after:
                    needs: [build]
                    env:
                      VALUE: ${{ tasks.build.outputs.value }}
                    run: printf '%s' "$VALUE" > after.txt
                """)
            let result = try await p.flow(arguments: ["run", "inj", "-p", "target=\(payload)"])
            #expect(!p.dir.exists("pwned"))
            #expect(p.dir.read("seen.txt") == payload)
            if !payload.contains("\n") {
                #expect(result.status == 0)
                #expect(p.dir.read("after.txt") == payload)
            }
        }

        @Test("SIGINT, SIGTERM and SIGHUP stop running tasks, mark the run interrupted, exit 130, and the next run resumes",
              arguments: [(SIGINT, "SIGINT"), (SIGTERM, "SIGTERM"), (SIGHUP, "SIGHUP")])
        func signals(_ signal: Int32, _ name: String) async throws {
            let p = Project()
            try p.workflow("w", """
                tasks:
                  first:
                    run: echo first >> ran.txt
                  long:
                    needs: [first]
                    run: |
                      echo $$ > long.pid
                      test -f second || sleep 60
                      echo long >> ran.txt
                """)
            let running = try p.start("run", "w", "--grace", "1s")
            // Its whole line, not the file: the shell creates it before it writes, and a signal between the two
            // would leave it empty (a flake seen on a loaded machine).
            #expect(await FlowBinary.eventually { (p.dir.read("long.pid") ?? "").hasSuffix("\n") })
            running.signal(signal)
            let result = await running.wait()
            #expect(result.status == 130)
            #expect(result.stderr.contains("received \(name)"))
            #expect(try await p.taskStatuses("w")["long"] == "interrupted")
            let pid = try #require(Int32(p.dir.read("long.pid")?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""))
            #expect(!ProcessScan.isRunning(pid))
            try p.dir.write("second", "")
            let resumed = try await p.flow("run", "w")
            #expect(resumed.status == 0)
            #expect(p.lines("ran.txt") == ["first", "long"])
        }
    }
}

extension EndToEnd.RunEndToEndTests {
    @Test("an attempt that prints nothing keeps no log file; output from a process that left the task stays with its task, which stops it")
    func quietTasksKeepNoLog() async throws {
        let p = Project()
        try p.workflow("q", """
            max_parallel: 1
            tasks:
              quiet1: { run: "true" }
              loud: { run: "echo hi", needs: [quiet1] }
              quiet2: { run: "true", needs: [loud] }
              escaped:
                needs: [quiet2]
                # Leaves the task's process group (the leader waits until it has) and would write after the task
                # ended, while quiet3 runs: flow stops it at the task's end, so the late line never comes.
                run: |
                  setsid sh -c 'echo early-from-escaped; touch escaped.flag; sleep 0.5; echo late-from-escaped' &
                  while [ ! -e escaped.flag ]; do sleep 0.02; done
              quiet3: { run: "sleep 1", needs: [escaped] }
            """)
        let run = try await p.flow("run", "q")
        #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
        #expect(p.dir.read(".flow/logs/1/escaped.1.log")?.contains("early-from-escaped") == true,
                "the line went to the task whose process wrote it")
        try await Task.sleep(for: .milliseconds(700))
        #expect(p.dir.read(".flow/logs/1/escaped.1.log")?.contains("late-from-escaped") == false,
                "the process that left the task's group outlived the task")
        let files = try FileManager.default.contentsOfDirectory(atPath: p.root + "/.flow/logs/1").sorted()
        #expect(files == ["escaped.1.log", "loud.1.log"], "no file for quiet attempts, no spare left behind")
        #expect(p.dir.read(".flow/logs/1/loud.1.log") == "hi\n")
        let logs = try await p.flow("logs", "1")
        #expect(logs.stdout.range(of: #"==> quiet1 attempt 1 \(succeeded\) at [^\n]* <==\n\(no output\)"#, options: .regularExpression) != nil, "\(logs.stdout)")
        #expect(logs.stdout.range(of: #"==> loud attempt 1 \(succeeded\) at [^\n]* <==\nhi"#, options: .regularExpression) != nil, "\(logs.stdout)")
        #expect(logs.stdout.range(of: #"==> quiet3 attempt 1 \(succeeded\) at [^\n]* <==\n\(no output\)"#, options: .regularExpression) != nil, "\(logs.stdout)")
    }
}
