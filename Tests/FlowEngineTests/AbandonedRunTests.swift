import FlowCore
import FlowEngine
import FlowPlan
import FlowSpec
import FlowTestSupport
import Testing

struct TooManyFiles: Error, CustomStringConvertible {
    var description: String { "too many open files" }
}

@Suite("a run that cannot start")
struct AbandonedRunTests {
    @Test("a run abandoned before its loop starts fails, and every task is settled with the real cause")
    func abandonedRun() async throws {
        let action = ScriptedAction()
        guard case .success(let wf) = WorkflowLoader(actions: ["script": action.signature]).load(
            text: "tasks:\n  a:\n    uses: script\n  b:\n    needs: [a]\n    uses: script\n", file: "t.yaml", defaultName: "t")
        else { throw CancellationError() }
        let dir = TemporaryDirectory()
        let store = MemoryStore()
        let options = EngineOptions(maxParallel: 2, keepGoing: false, gracePeriod: .milliseconds(200),
                                    logDirectory: dir.path + "/logs", scratchDirectory: dir.path + "/tmp", projectDirectory: dir.path)
        let engine = Engine(registry: ActionRegistry([action]), store: store, options: options,
                            runner: { _ in throw TooManyFiles() }, events: { _ in })
        let scope = EvaluationScope(params: wf.paramDefaults, runID: 1)
        let plan = ResumePlanner(actionVersions: ["script": "1"]).plan(wf, prior: [:], scope: scope)

        let outcome = await engine.run(plan, runID: 1, scope: scope)
        #expect(outcome.status == .failed)
        #expect(outcome.internalError == "cannot start the run loop: too many open files")
        for task in ["a", "b"] {
            let settled = try #require(store.settled(TaskID(task)))
            #expect(settled.0 == .pending)
            #expect(settled.1 == "not started: cannot start the run loop: too many open files")
        }
        #expect(store.attempts.isEmpty)
    }
}
