import FlowCore
import FlowEngine
import FlowPlan
import FlowSpec
import FlowTestSupport
import Foundation
import Synchronization
import Testing

/// An action driven by its `with:` values that records what ran, in which order and how many at once.
final class ScriptedAction: InProcessAction {
    struct Record {
        var started: [String] = []
        var finished: [String] = []
        var inFlight = 0
        var maxInFlight = 0
        var attempts: [String: Int] = [:]
        var inputsSeen: [String: [String: String]] = [:]
        var checkpointsSeen: [String: [String: String]] = [:]
    }

    let record = Mutex(Record())

    var signature: ActionSignature {
        ActionSignature(name: "script", summary: "test", inputs: [
            ActionInput("sleep_ms", ""), ActionInput("fail_times", ""), ActionInput("output", ""), ActionInput("input", ""),
            ActionInput("hang", ""), ActionInput("nonretryable", ""), ActionInput("checkpoint", ""),
        ])
    }

    var version: String { "1" }

    func run(_ context: TaskContext) async throws -> [String: String] {
        let id = context.task.rawValue
        let attempt = record.withLock { r -> Int in
            r.started.append(id)
            r.inFlight += 1
            r.maxInFlight = max(r.maxInFlight, r.inFlight)
            r.attempts[id, default: 0] += 1
            r.inputsSeen[id] = context.inputs
            r.checkpointsSeen[id] = context.checkpoint
            return r.attempts[id] ?? 1
        }
        defer { record.withLock { r in r.inFlight -= 1; r.finished.append(id) } }
        if let value = context.inputs["checkpoint"] { try context.saveCheckpoint(["progress": value + "-\(attempt)"]) }
        if context.inputs["hang"] == "true" {
            try await Task.sleep(for: .seconds(60))
        }
        if let ms = context.inputs["sleep_ms"].flatMap(Int.init) { try await Task.sleep(for: .milliseconds(ms)) }
        if let times = context.inputs["fail_times"].flatMap(Int.init), attempt <= times {
            throw TaskFailure("scripted failure \(attempt)", retryable: context.inputs["nonretryable"] != "true")
        }
        var outputs: [String: String] = ["attempt": String(attempt)]
        if let output = context.inputs["output"] { outputs["value"] = output }
        return outputs
    }
}

@Suite("engine")
struct EngineTests {
    let action = ScriptedAction()

    func workflow(_ text: String) throws -> Workflow {
        let loader = WorkflowLoader(actions: ["script": action.signature])
        switch loader.load(text: text, file: "t.yaml", defaultName: "t") {
        case .success(let wf): return wf
        case .failure(let d):
            Issue.record("\(DiagnosticRenderer().render(d))")
            throw CancellationError()
        }
    }

    func run(_ wf: Workflow, store: MemoryStore = MemoryStore(), maxParallel: Int? = nil, keepGoing: Bool = false,
             prior: [TaskID: PriorTask] = [:], events: (@Sendable (EngineEvent) -> Void)? = nil) async -> RunOutcome {
        let dir = TemporaryDirectory()
        let options = EngineOptions(maxParallel: maxParallel ?? wf.maxParallel, keepGoing: keepGoing, gracePeriod: .milliseconds(200),
                                    logDirectory: dir.path + "/logs", scratchDirectory: dir.path + "/tmp", projectDirectory: dir.path,
                                    jitter: { 0 })
        let engine = Engine(registry: ActionRegistry([action]), store: store, options: options,
                            runner: { _ in FakeCommandRunner(clock: .real) }, events: events ?? { _ in })
        let scope = EvaluationScope(params: wf.paramDefaults, runID: 1)
        let plan = ResumePlanner(actionVersions: ["script": "1"]).plan(wf, prior: prior, scope: scope)
        return await engine.run(plan, runID: 1, scope: scope)
    }

    static func independent(_ n: Int, sleep: Int) -> String {
        "tasks:\n" + (0..<n).map { "  t\($0):\n    uses: script\n    with:\n      sleep_ms: \"\(sleep)\"\n" }.joined()
    }

    @Test("never runs more than max_parallel tasks at once, and does reach it", arguments: [1, 2, 3, 5])
    func parallelismBound(_ limit: Int) async throws {
        let wf = try workflow(Self.independent(12, sleep: 30))
        let outcome = await run(wf, maxParallel: limit)
        #expect(outcome.status == .succeeded)
        let r = action.record.withLock { $0 }
        #expect(r.maxInFlight == limit)
        #expect(r.finished.count == 12)
    }

    @Test("dependencies finish before their dependents start; ties start in file order")
    func order() async throws {
        let wf = try workflow("""
            max_parallel: 1
            tasks:
              d:
                needs: [b, c]
                uses: script
              b:
                needs: [a]
                uses: script
              c:
                needs: [a]
                uses: script
              a:
                uses: script
              e:
                uses: script
            """)
        let outcome = await run(wf)
        #expect(outcome.status == .succeeded)
        let started = action.record.withLock { $0.started }
        #expect(started == ["a", "b", "c", "d", "e"])
    }

    @Test("outputs flow downstream through with: expressions")
    func outputsFlow() async throws {
        let wf = try workflow("""
            tasks:
              a:
                uses: script
                with:
                  output: hello
              b:
                needs: [a]
                uses: script
                with:
                  input: ${{ tasks.a.outputs.value }}-${{ tasks.a.outputs.attempt }}
            """)
        _ = await run(wf)
        #expect(action.record.withLock { $0.inputsSeen["b"]?["input"] } == "hello-1")
    }

    @Test("retries failed attempts and records every attempt")
    func retries() async throws {
        let wf = try workflow("""
            tasks:
              flaky:
                retries: 3
                retry_delay: 10ms
                uses: script
                with:
                  fail_times: "2"
            """)
        let store = MemoryStore()
        let outcome = await run(wf, store: store)
        #expect(outcome.status == .succeeded)
        #expect(store.attempts.map(\.attempt) == [1, 2, 3])
        #expect(store.attempts.map { $0.outcome?.status } == [.failed, .failed, .succeeded])
        #expect(store.settled(TaskID("flaky"))?.0 == .succeeded)
    }

    @Test("a non-retryable failure is not retried")
    func nonRetryable() async throws {
        let wf = try workflow("""
            tasks:
              auth:
                retries: 3
                retry_delay: 10ms
                uses: script
                with:
                  fail_times: "5"
                  nonretryable: "true"
            """)
        let store = MemoryStore()
        let outcome = await run(wf, store: store)
        #expect(outcome.status == .failed)
        #expect(store.attempts.count == 1)
    }

    /// `bad` fails while `slow` runs; `after-bad` depends on the failure, `later` only on `slow`.
    static let oneFailure = """
        max_parallel: 2
        tasks:
          bad:
            uses: script
            with:
              fail_times: "1"
          slow:
            uses: script
            with:
              sleep_ms: "100"
          after-bad:
            needs: [bad]
            uses: script
          later:
            needs: [slow]
            uses: script
        """

    @Test("on failure nothing new starts, running tasks finish, dependents are skipped")
    func failFast() async throws {
        let wf = try workflow(Self.oneFailure)
        let store = MemoryStore()
        let outcome = await run(wf, store: store)
        #expect(outcome.status == .failed)
        #expect(outcome.statuses[TaskID("slow")] == .succeeded)
        #expect(outcome.statuses[TaskID("after-bad")] == .skipped)
        #expect(store.settled(TaskID("after-bad"))?.1 == "upstream 'bad' failed")
        #expect(outcome.statuses[TaskID("later")] == .pending)
        #expect(!action.record.withLock { $0.started }.contains("later"))
    }

    @Test("--keep-going runs everything not downstream of the failure")
    func keepGoing() async throws {
        let wf = try workflow(Self.oneFailure)
        let outcome = await run(wf, keepGoing: true)
        #expect(outcome.status == .failed)
        #expect(outcome.statuses[TaskID("later")] == .succeeded)
        #expect(outcome.statuses[TaskID("after-bad")] == .skipped)
    }

    @Test("a false condition skips the task; its dependents still run and see its outputs as absent")
    func skippedCondition() async throws {
        let wf = try workflow("""
            params:
              enabled: "false"
            tasks:
              maybe:
                if: ${{ params.enabled }}
                uses: script
                with:
                  output: x
              after:
                needs: [maybe]
                uses: script
                with:
                  input: "[${{ tasks.maybe.outputs.value }}]"
            """)
        let outcome = await run(wf)
        #expect(outcome.status == .succeeded)
        #expect(outcome.statuses[TaskID("maybe")] == .skipped)
        #expect(action.record.withLock { $0.inputsSeen["after"]?["input"] } == "[]")
    }

    @Test("continue_on_error lets dependents run and the run succeed")
    func continueOnError() async throws {
        let wf = try workflow("""
            tasks:
              optional:
                continue_on_error: true
                uses: script
                with:
                  fail_times: "1"
              after:
                needs: [optional]
                uses: script
            """)
        let outcome = await run(wf)
        #expect(outcome.status == .succeeded)
        #expect(outcome.statuses[TaskID("optional")] == .failed)
        #expect(outcome.statuses[TaskID("after")] == .succeeded)
    }

    @Test("a timeout ends the attempt as timed_out and counts as a retryable failure")
    func timeout() async throws {
        let wf = try workflow("""
            tasks:
              stuck:
                timeout: 100ms
                retries: 1
                retry_delay: 10ms
                uses: script
                with:
                  hang: "true"
            """)
        let store = MemoryStore()
        let started = ContinuousClock.now
        let outcome = await run(wf, store: store)
        #expect(ContinuousClock.now - started < .seconds(20), "two 100 ms timeouts, not two 60 s hangs")
        #expect(outcome.statuses[TaskID("stuck")] == .timedOut)
        #expect(store.attempts.map { $0.outcome?.status } == [.timedOut, .timedOut])
    }

    @Test("cancelling the run interrupts running tasks and starts nothing new")
    func interrupt() async throws {
        let wf = try workflow("""
            max_parallel: 1
            tasks:
              stuck:
                uses: script
                with:
                  hang: "true"
              next:
                needs: [stuck]
                uses: script
            """)
        let store = MemoryStore()
        let task = Task { await run(wf, store: store) }
        // Cancelled once 'stuck' has started, not after a fixed sleep: on a loaded machine 100 ms was sometimes
        // before the start, and nothing was running to interrupt.
        #expect(await FlowBinary.eventually(timeout: 10) { !store.attempts.isEmpty })
        task.cancel()
        let outcome = await task.value
        #expect(outcome.status == .interrupted)
        #expect(outcome.statuses[TaskID("stuck")] == .interrupted)
        #expect(outcome.statuses[TaskID("next")] == .pending)
        #expect(store.attempts.count == 1)
    }

    @Test("reused tasks are not executed and their outputs reach the tasks that run")
    func reuse() async throws {
        let wf = try workflow("""
            tasks:
              a:
                uses: script
                with:
                  output: fresh
              b:
                needs: [a]
                uses: script
                with:
                  input: ${{ tasks.a.outputs.value }}
            """)
        let scope = EvaluationScope(params: [:], runID: 1)
        let task = try #require(wf.task(TaskID("a")))
        let fp = Fingerprint.of(task, workflowEnv: [], actionVersion: "1", scope: scope)
        let prior = [TaskID("a"): PriorTask(status: .succeeded, fingerprint: fp, outputs: ["value": "stored"], attempts: 1),
                     TaskID("b"): PriorTask(status: .failed, fingerprint: "x", attempts: 1)]
        let store = MemoryStore()
        let outcome = await run(wf, store: store, prior: prior)
        #expect(outcome.status == .succeeded)
        #expect(action.record.withLock { $0.started } == ["b"])
        #expect(action.record.withLock { $0.inputsSeen["b"]?["input"] } == "stored")
        #expect(store.attempts.map(\.attempt) == [2], "attempt numbers continue across resumes")
    }

    @Test("in-task checkpoints saved by one attempt come back to the next")
    func checkpoints() async throws {
        let wf = try workflow("""
            tasks:
              work:
                retries: 1
                retry_delay: 10ms
                uses: script
                with:
                  checkpoint: step
                  fail_times: "1"
            """)
        let outcome = await run(wf)
        #expect(outcome.status == .succeeded)
        #expect(action.record.withLock { $0.checkpointsSeen["work"] } == ["progress": "step-1"])
    }

    @Test("a state write that fails stops the run with an internal error instead of running blind")
    func storeFailure() async throws {
        let wf = try workflow(Self.independent(4, sleep: 0))
        let outcome = await run(wf, store: MemoryStore(failStartsAfter: 1), maxParallel: 1)
        #expect(outcome.status == .failed)
        // The failed batch held t0's end and t1's start: neither was committed, and t1 never ran.
        #expect(outcome.internalError?.hasPrefix("cannot record the end of 't0', the start of 't1': ") == true)
        #expect(action.record.withLock { $0.started }.count == 1)
    }

    @Test("a task's end and the starts it releases are committed together: one transaction per task in a chain")
    func groupCommit() async throws {
        let wf = try workflow("""
            tasks:
              a: { uses: script }
              b: { uses: script, needs: [a] }
              c: { uses: script, needs: [b] }
              d: { uses: script, needs: [a] }
            """)
        let store = MemoryStore()
        let outcome = await run(wf, store: store, maxParallel: 1)
        #expect(outcome.status == .succeeded)
        // With one slot, a's end releases b and d but only b starts; then ready ties go in file order (c before d).
        #expect(store.batches == [["start a"], ["end a", "start b"], ["end b", "start c"], ["end c", "start d"], ["end d"]])
    }
}
