import FlowCore
import FlowEngine
import FlowPlan
import FlowProcess
import FlowSpec
import FlowTasks
import FlowTestSupport
import Foundation
import Testing

/// One shell task run the way flow runs it: through the engine and the real command runner.
struct ShellRun {
    var status: TaskStatus?
    var outcome: AttemptOutcome?
    var outputs: [String: String]
}

@Suite("shell tasks run as real processes")
struct ShellActionTests {
    let dir = TemporaryDirectory()
    let groups = ProcessGroups()
    let store = MemoryStore()

    /// Runs `script` as task 't' of run 7; with `checkpoint`, as its second attempt after one that saved it.
    func run(_ script: String, shell: String = "sh", env: [String: String] = [:], checkpoint: [String: String] = [:],
             grace: Duration = .milliseconds(300), checkpointInterval: Duration = .milliseconds(250)) async throws -> ShellRun {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .withoutEscapingSlashes
        func quoted(_ text: String) throws -> String { String(decoding: try encoder.encode(text), as: UTF8.self) }
        var yaml = "tasks:\n  t:\n    shell: \(shell)\n    run: \(try quoted(script))\n"
        if !env.isEmpty {
            yaml += "    env:\n" + (try env.map { "      \($0.key): \(try quoted($0.value))\n" }.joined())
        }
        let action = ShellAction(checkpointInterval: checkpointInterval)
        guard case .success(let workflow) = WorkflowLoader(actions: ["shell": action.signature]).load(text: yaml, file: "t.yaml", defaultName: "t")
        else { throw TaskFailure("the test workflow does not load: \(yaml)") }
        var prior: [TaskID: PriorTask] = [:]
        if !checkpoint.isEmpty {
            try store.saveCheckpoint(run: 7, task: TaskID("t"), values: checkpoint, at: Date())
            prior[TaskID("t")] = PriorTask(status: .failed, fingerprint: nil, attempts: 1)
        }
        let scope = EvaluationScope(params: [:], runID: 7)
        let plan = ResumePlanner(actionVersions: ["shell": action.version]).plan(workflow, prior: prior, scope: scope)
        let options = EngineOptions(maxParallel: 1, gracePeriod: grace, logDirectory: dir.path + "/logs",
                                    scratchDirectory: dir.path + "/scratch", projectDirectory: dir.path)
        let groups = groups
        let engine = Engine(registry: ActionRegistry([action]), store: store, options: options,
                            runner: { ProcessCommandRunner(groups: groups, logFolder: $0, inherited: InheritedEnvironment(HostEnvironment.all)) })
        let outcome = await engine.run(plan, runID: 7, scope: scope)
        return ShellRun(status: outcome.statuses[TaskID("t")], outcome: store.attempts.last?.outcome, outputs: store.outputs(TaskID("t")) ?? [:])
    }

    /// The log of the task's attempt `n`.
    func log(_ attempt: Int = 1) -> String { dir.read("logs/7/t.\(attempt).log") ?? "" }

    @Test("outputs, environment and the working directory reach the script")
    func outputsAndEnvironment() async throws {
        let result = try await run("""
            echo "run=$FLOW_RUN_ID task=$FLOW_TASK attempt=$FLOW_ATTEMPT" >> "$FLOW_OUTPUT"
            echo "greeting=$GREETING" >> "$FLOW_OUTPUT"
            echo "pwd=$(pwd)" >> "$FLOW_OUTPUT"
            printf 'multi<<END\\nline 1\\nline 2\\nEND\\n' >> "$FLOW_OUTPUT"
            echo "to the log"
            echo "to stderr" >&2
            """, env: ["GREETING": "hi there; $(touch pwned)"])
        #expect(result.status == .succeeded)
        let outputs = result.outputs
        #expect(outputs["run"] == "7 task=t attempt=1")
        #expect(outputs["greeting"] == "hi there; $(touch pwned)")
        #expect(outputs["pwd"].map { URL(fileURLWithPath: $0).resolvingSymlinksInPath().path }
                == URL(fileURLWithPath: dir.path).resolvingSymlinksInPath().path)
        #expect(outputs["multi"] == "line 1\nline 2")
        #expect(!dir.exists("pwned"))
        let text = log()
        #expect(text.contains("to the log") && text.contains("to stderr"))
    }

    @Test("a non-zero exit fails with the status; 127 says the command was not found")
    func exitStatus() async throws {
        let failed = try await run("exit 3")
        #expect(failed.status == .failed)
        #expect(failed.outcome?.exitCode == 3)
        let missing = try await run("definitely-not-a-command-xyz")
        #expect(missing.status == .failed)
        #expect(missing.outcome?.error?.contains("command not found") == true, "\(String(describing: missing.outcome))")
    }

    @Test("sh -e stops a script at its first failing command; bash adds pipefail")
    func strictShells() async throws {
        #expect(try await run("false\necho reached > reached.txt").status == .failed)
        #expect(!dir.exists("reached.txt"))
        #expect(try await run("false | cat", shell: "bash").status == .failed)
        #expect(try await run("false | cat").status == .succeeded, "sh has no pipefail: the control case")
    }

    @Test("a background process holding stdout does not hang the task, and does not outlive it")
    func backgroundHolder() async throws {
        let started = ContinuousClock.now
        #expect(try await run("sleep 30 &\necho $! > bg.pid\necho done").status == .succeeded)
        // A hang would last the background sleep's 30 s; the bound leaves room for a loaded machine.
        #expect(ContinuousClock.now - started < .seconds(10))
        let pid = try #require(Int32(dir.read("bg.pid")?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""))
        let gone = await FlowBinary.eventually(timeout: 3) { !ProcessScan.isRunning(pid) }
        #expect(gone, "the leftover background process was stopped")
    }

    @Test("cancelling kills the whole process group, even a grandchild that ignores SIGTERM")
    func cancellationKillsGroup() async throws {
        let task = Task {
            try await run("""
                sh -c 'trap "" TERM; echo $$ > stubborn.pid; sleep 60' &
                sleep 60 &
                echo $! > child.pid
                wait
                """, grace: .milliseconds(300))
        }
        #expect(await FlowBinary.eventually { dir.exists("stubborn.pid") && dir.exists("child.pid") })
        try await Task.sleep(for: .milliseconds(100))
        let started = ContinuousClock.now
        task.cancel()
        let result = try await task.value
        #expect(result.status == .interrupted)
        // Grace is 300 ms; a missed SIGKILL would hang for the 60 s sleep. Sanitizer builds are slow, hence the margin.
        #expect(ContinuousClock.now - started < .seconds(10))
        for file in ["stubborn.pid", "child.pid"] {
            let pid = try #require(Int32(dir.read(file)?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""))
            #expect(await FlowBinary.eventually(timeout: 3) { !ProcessScan.isRunning(pid) }, "\(file) process survived")
        }
        #expect(groups.count == 0)
    }

    @Test("checkpoint lines are committed while the task still runs and restored as variables")
    func checkpointsWhileRunning() async throws {
        let store = store
        let task = Task {
            try await run("""
                echo "restored=$FLOW_CHECKPOINT_LAST_DAY" >> "$FLOW_OUTPUT"
                echo "last_day=2026-01-05" >> "$FLOW_CHECKPOINT"
                sleep 6
                echo "last_day=2026-01-06" >> "$FLOW_CHECKPOINT"
                """, checkpoint: ["last_day": "2026-01-04"], checkpointInterval: .milliseconds(100))
        }
        // The seeded checkpoint is the first save; the task's own lines come after it.
        let committed = await FlowBinary.eventually(timeout: 5) { store.checkpointSaves.count >= 2 }
        #expect(committed)
        #expect(store.attempts.last?.outcome == nil, "the first checkpoint was committed while the task still ran")
        let result = try await task.value
        #expect(result.outputs["restored"] == "2026-01-04")
        #expect(store.checkpointSaves.last == ["last_day": "2026-01-06"])
    }

    @Test("a malformed $FLOW_OUTPUT line fails the task with its line number")
    func malformedOutput() async throws {
        let result = try await run("echo 'not a pair' >> \"$FLOW_OUTPUT\"")
        #expect(result.status == .failed)
        #expect(result.outcome?.error?.contains("malformed line 1") == true, "\(String(describing: result.outcome))")
    }
}
