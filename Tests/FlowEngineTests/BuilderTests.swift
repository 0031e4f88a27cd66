import FlowCore
import FlowEngine
import FlowPlan
import FlowSpec
import FlowTestSupport
import Foundation
import Synchronization
import Testing

/// A process action without a process: its `with:` values become the command's environment, which the fake
/// runner's script reads (`after` ms until it exits, `exit` code, `ignores_term`, `lingers`, `fail_start`).
final class FakeProcessAction: ProcessAction {
    final class Prepared: PreparedCommand {
        let command: Command
        let pollInterval: Duration?
        let action: FakeProcessAction

        init(command: Command, pollInterval: Duration?, action: FakeProcessAction) {
            self.command = command
            self.pollInterval = pollInterval
            self.action = action
        }

        /// Counted on the action, so a test sees the polls of every attempt.
        func poll() { action.polls.withLock { $0 += 1 } }

        func conclude(_ exit: ProcessExit) -> Result<[String: String], TaskFailure> {
            if let signal = exit.signal { return .failure(TaskFailure("killed by \(ProcessExit.signalName(signal))", signal: signal)) }
            guard exit.exitCode == 0 else { return .failure(TaskFailure("exited with status \(exit.exitCode ?? -1)", exitCode: exit.exitCode)) }
            return .success(["attempt": command.environment["FLOW_ATTEMPT"] ?? "?"])
        }
    }

    let polls = Mutex(0)

    var signature: ActionSignature {
        ActionSignature(name: "proc", summary: "test", inputs: [
            ActionInput("after", ""), ActionInput("exit", ""), ActionInput("ignores_term", ""), ActionInput("lingers", ""),
            ActionInput("fail_start", ""), ActionInput("fail_until_attempt", ""), ActionInput("poll_ms", ""),
            ActionInput("note", ""),
        ])
    }

    var version: String { "1" }

    func prepare(_ context: TaskContext) throws -> any PreparedCommand {
        var environment = context.inputs
        environment["FLOW_TASK"] = context.task.rawValue
        environment["FLOW_ATTEMPT"] = String(context.attempt)
        environment["FLOW_RUN_SUMMARY"] = context.env["FLOW_RUN_SUMMARY"]
        let command = Command(executable: "fake", arguments: [], environment: environment, workingDirectory: context.workingDirectory,
                              logPath: context.log.path)
        let interval = context.inputs["poll_ms"].flatMap(Int.init).map { Duration.milliseconds($0) }
        return Prepared(command: command, pollInterval: interval, action: self)
    }

    /// How the fake runner plays a command of this action.
    static func behaviour(_ command: Command) -> FakeCommandRunner.Behaviour {
        let env = command.environment
        let attempt = Int(env["FLOW_ATTEMPT"] ?? "1") ?? 1
        var code = Int32(env["exit"] ?? "0") ?? 0
        if let until = env["fail_until_attempt"].flatMap(Int.init), attempt < until { code = 1 }
        let after: Duration? = env["after"] == "never" ? nil : .milliseconds(Int(env["after"] ?? "0") ?? 0)
        return FakeCommandRunner.Behaviour(exitsAfter: after,
                                           exit: ProcessExit(exitCode: code, signal: nil), ignoresTerm: env["ignores_term"] == "true",
                                           groupLingers: env["lingers"] == "true", startFailure: env["fail_start"])
    }
}

/// The events of a run, as short lines.
final class EventLog: Sendable {
    let lines = Mutex<[String]>([])
}

/// The builder loop with a fake command runner on a virtual clock: timeouts, grace periods and backoffs are
/// deadlines, so what they decide is checked to the millisecond without a test sleeping for them.
@Suite("builder loop")
struct BuilderTests {
    let action = FakeProcessAction()
    var runner = FakeCommandRunner(clock: .virtual, script: FakeProcessAction.behaviour)
    let store = MemoryStore()
    let events = EventLog()

    func run(_ yaml: String, maxParallel: Int = 4, grace: Duration = .seconds(1), keepGoing: Bool = false,
             whileRunning: (@Sendable () async -> Void)? = nil) async throws -> RunOutcome {
        guard case .success(let wf) = WorkflowLoader(actions: ["proc": action.signature]).load(text: yaml, file: "t.yaml", defaultName: "t")
        else { throw TaskFailure("the test workflow does not load") }
        let dir = TemporaryDirectory()
        let options = EngineOptions(maxParallel: maxParallel, keepGoing: keepGoing, gracePeriod: grace, logDirectory: dir.path + "/logs",
                                    scratchDirectory: dir.path + "/tmp", projectDirectory: dir.path, jitter: { 0 })
        let (runner, events) = (runner, events)
        let engine = Engine(registry: ActionRegistry([action]), store: store, options: options, runner: { _ in runner },
                            events: { event in events.lines.withLock { $0.append(BuilderTests.describe(event)) } })
        let scope = EvaluationScope(params: [:], runID: 1)
        let plan = ResumePlanner(actionVersions: ["proc": "1"]).plan(wf, prior: [:], scope: scope)
        let execution = Task { await engine.run(plan, runID: 1, scope: scope) }
        if let whileRunning {
            await whileRunning()
            execution.cancel()
        }
        return await execution.value
    }

    static func describe(_ event: EngineEvent) -> String {
        switch event {
        case .taskStarted(let id, let attempt): return "start \(id) \(attempt)"
        case .taskRetrying(let id, let attempt, let delay, _): return "retry \(id) \(attempt) in \(delay)"
        case .taskFinished(let id, let status, _, _, _, _): return "\(status.rawValue) \(id)"
        case .taskReused(let id, _): return "reused \(id)"
        case .taskSkipped(let id, _): return "skipped \(id)"
        case .taskNotStarted(let id, _): return "not started \(id)"
        }
    }

    /// When each attempt of `task` started, on the runner's clock.
    func starts(of task: String) -> [Duration] {
        runner.started.filter { $0.command.environment["FLOW_TASK"] == task }.map(\.at)
    }

    @Test("at most max_parallel commands run at once, and each slot is refilled the moment one ends")
    func parallelismBound() async throws {
        let yaml = "tasks:\n" + (0..<6).map { "  t\($0):\n    uses: proc\n    with: { after: \"1000\" }\n" }.joined()
        let outcome = try await run(yaml, maxParallel: 2)
        #expect(outcome.status == .succeeded)
        #expect(runner.maxConcurrent == 2)
        #expect(runner.started.map(\.at) == [0, 0, 1, 1, 2, 2].map { Duration.seconds($0) })
    }

    @Test("a dependent starts when its last dependency ends; ready tasks start in file order")
    func order() async throws {
        let outcome = try await run("""
            tasks:
              slow: { uses: proc, with: { after: "3000" } }
              fast: { uses: proc, with: { after: "1000" } }
              after_both: { needs: [slow, fast], uses: proc }
              after_fast: { needs: [fast], uses: proc }
            """)
        #expect(outcome.status == .succeeded)
        #expect(runner.started.map { $0.command.environment["FLOW_TASK"] ?? "" } == ["slow", "fast", "after_fast", "after_both"])
        #expect(starts(of: "after_fast") == [.seconds(1)])
        #expect(starts(of: "after_both") == [.seconds(3)])
    }

    @Test("retries wait out their backoff as deadlines of the loop: delay, then doubled, capped")
    func retriesWithBackoff() async throws {
        let outcome = try await run("""
            tasks:
              flaky:
                uses: proc
                retries: 3
                retry_delay: 2s
                with: { after: "500", fail_until_attempt: "4" }
              other: { uses: proc, with: { after: "1000" } }
            """)
        #expect(outcome.status == .succeeded)
        // 0.5 s per attempt, then 2 s, 4 s and 8 s of backoff.
        #expect(starts(of: "flaky") == [.zero, .milliseconds(2500), .milliseconds(7000), .milliseconds(15500)])
        #expect(store.attempts.filter { $0.task == TaskID("flaky") }.map { $0.outcome?.status } == [.failed, .failed, .failed, .succeeded])
        // A task waiting to retry holds no process: the other one ran meanwhile.
        #expect(starts(of: "other") == [.zero])
        #expect(events.lines.withLock { $0 }.contains("retry flaky 1 in 2.0 seconds"))
    }

    @Test("a timeout sends SIGTERM to the group, SIGKILL after the grace period, and the attempt ends timed out")
    func timeoutThenKill() async throws {
        let outcome = try await run("""
            tasks:
              stuck:
                uses: proc
                timeout: 5s
                with: { after: "never", ignores_term: "true" }
            """, grace: .seconds(2))
        #expect(outcome.status == .failed)
        #expect(outcome.statuses[TaskID("stuck")] == .timedOut)
        let pid = try #require(runner.started.first?.pid)
        #expect(runner.signals == [.init(pid: pid, signal: SIGTERM, at: .seconds(5)), .init(pid: pid, signal: SIGKILL, at: .seconds(7))])
        #expect(store.attempts.first?.outcome?.error == "timed out after 5s")
        #expect(runner.releasedPIDs == [pid], "what the group left is stopped when the attempt ends")
    }

    @Test("a stopped task whose leader exits ends only when the rest of its group is gone or killed")
    func groupDrainsBeforeTheEnd() async throws {
        let outcome = try await run("""
            tasks:
              leader:
                uses: proc
                timeout: 1s
                with: { after: "never", lingers: "true" }
              next: { needs: [leader], uses: proc, continue_on_error: false }
            """, grace: .seconds(3))
        #expect(outcome.statuses[TaskID("leader")] == .timedOut)
        let pid = try #require(runner.started.first?.pid)
        // The leader exits on SIGTERM at 1 s, its group lingers until SIGKILL at 4 s: only then is the end recorded.
        #expect(runner.signals.map(\.signal) == [SIGTERM, SIGKILL])
        #expect(runner.signals.last?.at == .seconds(4))
        #expect(runner.releasedPIDs == [pid])
        #expect(runner.started.count == 1, "the dependent of a timed-out task never starts")
    }

    @Test("cancelling the run stops running commands, starts nothing new, and interrupts a task waiting to retry")
    mutating func cancellation() async throws {
        // On the real clock: the run must be waiting (for a command, and a retry an hour away) when it is cancelled.
        runner = FakeCommandRunner(clock: .real, script: FakeProcessAction.behaviour)
        let runner = runner
        let outcome = try await run("""
            tasks:
              long: { uses: proc, with: { after: "never" } }
              flaky:
                uses: proc
                retries: 2
                retry_delay: 1h
                with: { exit: "1" }
              later: { needs: [long], uses: proc }
            """, whileRunning: {
                _ = await FlowBinary.eventually(timeout: 10) { runner.started.count >= 2 }
                try? await Task.sleep(for: .milliseconds(50))
            })
        #expect(outcome.status == .interrupted)
        #expect(outcome.statuses[TaskID("long")] == .interrupted)
        #expect(outcome.statuses[TaskID("flaky")] == .interrupted)
        #expect(store.settled(TaskID("flaky"))?.1 == "interrupted before a retry")
        #expect(store.settled(TaskID("later"))?.1 == "not started: the run was interrupted")
        #expect(runner.started.count == 2)
        #expect(runner.signals.map(\.signal) == [SIGTERM])
    }

    @Test("a command that cannot start fails its attempt (recorded, not left running) and skips its dependents")
    func startFailure() async throws {
        let outcome = try await run("""
            tasks:
              broken: { uses: proc, with: { fail_start: "no such program" } }
              after: { needs: [broken], uses: proc }
            """)
        #expect(outcome.status == .failed)
        #expect(store.attempts.map { $0.outcome?.error } == ["no such program"])
        #expect(store.settled(TaskID("after"))?.0 == .skipped)
        #expect(runner.started.isEmpty)
    }

    @Test("a spawned task's pid rides with the next transaction, or is written alone after 50 ms when none comes")
    func pidBatching() async throws {
        _ = try await run("""
            tasks:
              a: { uses: proc }
              b: { needs: [a], uses: proc }
              long: { needs: [b], uses: proc, with: { after: "1000" } }
            """)
        let pids = runner.started.map(\.pid)
        try #require(pids.count == 3)
        #expect(store.batches == [
            ["start a"],
            ["pid \(pids[0])", "end a", "start b"],
            ["pid \(pids[1])", "end b", "start long"],
            ["pid \(pids[2])"],
            ["end long"],
        ])
        #expect(store.attempts.map(\.pid) == pids.map { Optional($0) })
    }

    @Test("a running command's checkpoint is polled at its interval, and not after its end")
    func checkpointPolls() async throws {
        _ = try await run("tasks:\n  t: { uses: proc, with: { after: \"1000\", poll_ms: \"250\" } }\n")
        // At 250, 500 and 750 ms; at 1000 ms the command has ended.
        #expect(action.polls.withLock { $0 } == 3)
    }
}
