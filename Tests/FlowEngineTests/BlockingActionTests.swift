import FlowCore
import FlowEngine
import FlowPlan
import FlowSpec
import FlowTestSupport
import Foundation
import Testing

/// An action that blocks its thread, as synchronous SQLite or `VACUUM INTO` does, until every attempt of the
/// run has started (or 10 s pass): on Swift's cooperative pool, which has one thread per core, more such
/// attempts than cores could never all start.
final class BarrierAction: InProcessAction, @unchecked Sendable {
    private let condition = NSCondition()
    private var arrived = 0
    let expected: Int

    init(expected: Int) {
        self.expected = expected
    }

    var signature: ActionSignature { ActionSignature(name: "barrier", summary: "test", inputs: []) }
    var version: String { "1" }

    var arrivals: Int { condition.withLock { arrived } }

    func run(_ context: TaskContext) async throws -> [String: String] {
        let met = meet()
        guard met == expected else { throw TaskFailure("only \(met) of \(expected) attempts ever ran at once", retryable: false) }
        return [:]
    }

    /// Deliberately synchronous: this blocks whichever thread runs the attempt. Returns how many arrived.
    private func meet() -> Int {
        condition.lock()
        defer { condition.unlock() }
        arrived += 1
        condition.broadcast()
        let deadline = Date(timeIntervalSinceNow: 10)
        while arrived < expected, condition.wait(until: deadline) {}
        return min(arrived, expected)
    }
}

@Suite("actions that block")
struct BlockingActionTests {
    @Test("in-process attempts that block their thread do not hold Swift's cooperative threads: more of them than cores all run at once")
    func blockingAttemptsRunAtOnce() async throws {
        let count = ProcessInfo.processInfo.activeProcessorCount + 2
        let action = BarrierAction(expected: count)
        let yaml = "max_parallel: \(count)\ntasks:\n" + (0..<count).map { "  t\($0): { uses: barrier }\n" }.joined()
        guard case .success(let wf) = WorkflowLoader(actions: ["barrier": action.signature]).load(text: yaml, file: "t.yaml", defaultName: "t")
        else { throw TaskFailure("the test workflow does not load") }
        let dir = TemporaryDirectory()
        let options = EngineOptions(maxParallel: count, logDirectory: dir.path + "/logs", scratchDirectory: dir.path + "/tmp",
                                    projectDirectory: dir.path)
        let engine = Engine(registry: ActionRegistry([action]), store: MemoryStore(), options: options,
                            runner: { _ in FakeCommandRunner(clock: .real) })
        let scope = EvaluationScope(params: [:], runID: 1)
        let plan = ResumePlanner(actionVersions: ["barrier": "1"]).plan(wf, prior: [:], scope: scope)
        let outcome = await engine.run(plan, runID: 1, scope: scope)
        // On the cooperative pool (the engine before issue 14) only as many as there are cores start; the barrier
        // then gives up after 10 s and every attempt fails.
        #expect(outcome.status == .succeeded, "\(outcome.statuses)")
        #expect(action.arrivals == count)
    }
}
