import FlowCore
import FlowPlan
import FlowSpec
import FlowTestSupport
import Testing

@Suite("resume decisions")
struct ResumePlannerTests {
    let versions = ["shell": "1", "sql": "1"]

    func workflow(_ text: String) throws -> Workflow {
        let loader = WorkflowLoader(actions: [
            "shell": ActionSignature(name: "shell", summary: "", inputs: [ActionInput("run", required: true, ""), ActionInput("shell", "")]),
        ])
        guard case .success(let wf) = loader.load(text: text, file: "t.yaml", defaultName: "t") else {
            throw CancellationError()
        }
        return wf
    }

    let chain = """
        params:
          p: one
        tasks:
          a:
            run: echo a
          b:
            needs: [a]
            env:
              X: ${{ tasks.a.outputs.x }}
            run: echo b
          c:
            needs: [b]
            run: echo c
          d:
            always_run: true
            run: echo d
          e:
            needs: [a]
            if: ${{ tasks.a.outputs.x == 'go' }}
            env:
              P: ${{ params.p }}
            run: echo e
        """

    /// The fingerprints a fully successful earlier attempt would have stored.
    func succeeded(_ wf: Workflow, scope: EvaluationScope, outputs: [TaskID: [String: String]]) -> [TaskID: PriorTask] {
        var scope = scope
        scope.outputs = outputs
        var prior: [TaskID: PriorTask] = [:]
        for task in wf.tasks {
            let fp = Fingerprint.of(task, workflowEnv: wf.env, actionVersion: "1", scope: scope)
            prior[task.id] = PriorTask(status: .succeeded, fingerprint: fp, outputs: outputs[task.id] ?? [:], attempts: 1)
        }
        return prior
    }

    func kinds(_ plan: ExecutionPlan) -> [String: Decision.Kind] {
        var out: [String: Decision.Kind] = [:]
        for (i, task) in plan.workflow.tasks.enumerated() { out[task.id.rawValue] = plan.decisions[i].kind }
        return out
    }

    @Test("a new run runs everything")
    func newRun() throws {
        let wf = try workflow(chain)
        let scope = EvaluationScope(params: ["p": "one"], runID: 3)
        let plan = ResumePlanner(actionVersions: versions).plan(wf, prior: [:], scope: scope)
        #expect(plan.decisions.allSatisfy { $0.kind == .run && $0.reason == "new run" })
        // The run's row exists before planning, so its scope is complete: a task with no upstream is fingerprinted
        // here; one that an upstream task feeds only when that one's outputs exist (by the engine).
        for (i, task) in wf.tasks.enumerated() {
            let graph = TaskGraph(wf)
            if graph.dependencies[i].isEmpty {
                #expect(plan.decisions[i].fingerprint == Fingerprint.of(task, workflowEnv: wf.env, actionVersion: versions[task.uses] ?? "?",
                                                                        scope: scope), "\(task.id)")
            } else {
                #expect(plan.decisions[i].fingerprint == nil, "\(task.id)")
            }
        }
        #expect(plan.decisions.contains { $0.fingerprint != nil } && plan.decisions.contains { $0.fingerprint == nil })
    }

    @Test("a resume's fingerprints are those of the run's scope, for every task no rerun upstream feeds")
    func resumeFingerprints() throws {
        let wf = try workflow(chain)
        let scope = EvaluationScope(params: ["p": "one"], runID: 7, runStartedAt: "2026-01-02T03:04:05Z")
        var prior = succeeded(wf, scope: scope, outputs: [TaskID("a"): ["x": "go"]])
        prior[TaskID("b")]?.status = .failed
        let plan = ResumePlanner(actionVersions: versions).plan(wf, prior: prior, scope: scope)
        var reusedScope = scope
        reusedScope.outputs = [TaskID("a"): ["x": "go"]]
        for (index, task) in wf.tasks.enumerated() {
            let decision = plan.decisions[index]
            if task.id.rawValue == "c" {
                #expect(decision.fingerprint == nil, "c runs again after b: its inputs are not known yet")
            } else {
                #expect(decision.fingerprint == Fingerprint.of(task, workflowEnv: wf.env, actionVersion: "1", scope: reusedScope), "\(task.id)")
            }
        }
    }

    @Test("a task that reads how the run goes is rendered when it starts, and runs again on a resume; a skipped failure() task is decided again")
    func runProgressReaders() throws {
        let wf = try workflow("""
            tasks:
              a:
                run: echo a
              report:
                needs: [a]
                env:
                  A: ${{ tasks.a.status }}
                run: echo "$A"
              alert:
                needs: [a]
                if: ${{ failure() }}
                run: echo alert
            """)
        let scope = EvaluationScope(params: [:], runID: 2)
        let fresh = ResumePlanner(actionVersions: versions).plan(wf, prior: [:], scope: scope)
        #expect(fresh.decision(for: TaskID("report"))?.fingerprint == nil)
        #expect(fresh.rendered[1] == nil, "never rendered before a's status is known")
        var prior = succeeded(wf, scope: scope, outputs: [:])
        prior[TaskID("alert")] = PriorTask(status: .skipped, fingerprint: nil, reason: "condition is false", attempts: 0)
        let resumed = ResumePlanner(actionVersions: versions).plan(wf, prior: prior, scope: scope)
        #expect(kinds(resumed) == ["a": .reuse, "report": .run, "alert": .run])
        #expect(resumed.decision(for: TaskID("report"))?.reason.hasPrefix("reads how the run is going") == true)
    }

    @Test("succeeded tasks with unchanged fingerprints are reused; always_run runs again")
    func reuse() throws {
        let wf = try workflow(chain)
        let scope = EvaluationScope(params: ["p": "one"])
        let prior = succeeded(wf, scope: scope, outputs: [TaskID("a"): ["x": "go"]])
        let plan = ResumePlanner(actionVersions: versions).plan(wf, prior: prior, scope: scope)
        #expect(kinds(plan) == ["a": .reuse, "b": .reuse, "c": .reuse, "d": .run, "e": .reuse])
        #expect(plan.decision(for: TaskID("d"))?.reason.contains("always_run") == true)
        #expect(plan.reusedOutputs[TaskID("a")] == ["x": "go"])
    }

    @Test("a failed task runs again and so does everything downstream of it")
    func failedAndDownstream() throws {
        let wf = try workflow(chain)
        let scope = EvaluationScope(params: ["p": "one"])
        var prior = succeeded(wf, scope: scope, outputs: [TaskID("a"): ["x": "go"]])
        prior[TaskID("b")]?.status = .failed
        prior[TaskID("c")] = PriorTask(status: .skipped, fingerprint: nil, reason: "upstream 'b' failed")
        let plan = ResumePlanner(actionVersions: versions).plan(wf, prior: prior, scope: scope)
        #expect(kinds(plan) == ["a": .reuse, "b": .run, "c": .run, "d": .run, "e": .reuse])
        #expect(plan.decision(for: TaskID("b"))?.reason == "failed last time")
        #expect(plan.decision(for: TaskID("c"))?.reason == "upstream 'b' runs again")
    }

    @Test("interrupted, timed-out and never-started tasks run", arguments: [TaskStatus.interrupted, .timedOut, .pending, .running])
    func unfinished(_ status: TaskStatus) throws {
        let wf = try workflow(chain)
        let scope = EvaluationScope(params: ["p": "one"])
        var prior = succeeded(wf, scope: scope, outputs: [TaskID("a"): ["x": "go"]])
        prior[TaskID("c")]?.status = status
        let plan = ResumePlanner(actionVersions: versions).plan(wf, prior: prior, scope: scope)
        #expect(plan.decision(for: TaskID("c"))?.kind == .run)
        #expect(plan.decision(for: TaskID("b"))?.kind == .reuse)
    }

    @Test("a changed parameter changes the fingerprint of the task that reads it")
    func changedParameter() throws {
        let wf = try workflow(chain)
        let before = EvaluationScope(params: ["p": "one"])
        let prior = succeeded(wf, scope: before, outputs: [TaskID("a"): ["x": "go"]])
        let plan = ResumePlanner(actionVersions: versions).plan(wf, prior: prior, scope: EvaluationScope(params: ["p": "two"]))
        #expect(plan.decision(for: TaskID("e"))?.kind == .run)
        #expect(plan.decision(for: TaskID("e"))?.reason == "definition or inputs changed since it succeeded")
        #expect(plan.decision(for: TaskID("b"))?.kind == .reuse)
    }

    @Test("a changed action version re-runs the tasks that use it")
    func changedVersion() throws {
        let wf = try workflow(chain)
        let scope = EvaluationScope(params: ["p": "one"])
        let prior = succeeded(wf, scope: scope, outputs: [TaskID("a"): ["x": "go"]])
        let plan = ResumePlanner(actionVersions: ["shell": "2"]).plan(wf, prior: prior, scope: scope)
        #expect(plan.decisions.allSatisfy { $0.kind == .run })
    }

    @Test("a changed definition in the file re-runs that task and its dependents")
    func changedDefinition() throws {
        let old = try workflow(chain)
        let scope = EvaluationScope(params: ["p": "one"])
        let prior = succeeded(old, scope: scope, outputs: [TaskID("a"): ["x": "go"]])
        let edited = try workflow(chain.replacingOccurrences(of: "run: echo b", with: "run: echo B"))
        let plan = ResumePlanner(actionVersions: versions).plan(edited, prior: prior, scope: scope)
        #expect(kinds(plan) == ["a": .reuse, "b": .run, "c": .run, "d": .run, "e": .reuse])
    }

    @Test("a skipped task whose condition is still false stays skipped and does not force its dependents")
    func stillSkipped() throws {
        let wf = try workflow(chain + "\n  f:\n    needs: [e]\n    run: echo f\n")
        let scope = EvaluationScope(params: ["p": "one"])
        var prior = succeeded(wf, scope: scope, outputs: [TaskID("a"): ["x": "stop"]])
        prior[TaskID("e")] = PriorTask(status: .skipped, fingerprint: nil, reason: "condition is false")
        let plan = ResumePlanner(actionVersions: versions).plan(wf, prior: prior, scope: scope)
        #expect(plan.decision(for: TaskID("e"))?.kind == .skip)
        #expect(plan.decision(for: TaskID("f"))?.kind == .reuse)
    }

    @Test("a skipped task whose condition became true runs")
    func conditionNowTrue() throws {
        let wf = try workflow(chain)
        let scope = EvaluationScope(params: ["p": "one"])
        var prior = succeeded(wf, scope: scope, outputs: [TaskID("a"): ["x": "go"]])
        prior[TaskID("e")] = PriorTask(status: .skipped, fingerprint: nil, reason: "upstream 'a' failed")
        let plan = ResumePlanner(actionVersions: versions).plan(wf, prior: prior, scope: scope)
        #expect(plan.decision(for: TaskID("e"))?.kind == .run)
    }

    @Test("a task added to the file since the run started runs")
    func addedTask() throws {
        let old = try workflow(chain)
        let scope = EvaluationScope(params: ["p": "one"])
        let prior = succeeded(old, scope: scope, outputs: [TaskID("a"): ["x": "go"]])
        let edited = try workflow(chain + "\n  z:\n    run: echo z\n")
        let plan = ResumePlanner(actionVersions: versions).plan(edited, prior: prior, scope: scope)
        #expect(plan.decision(for: TaskID("z"))?.kind == .run)
        #expect(plan.decision(for: TaskID("z"))?.reason == "not run yet in this run")
        #expect(plan.previousAttempts[edited.index(of: TaskID("a")) ?? 0] == 1)
    }
}

@Suite("--only / --from decisions")
struct SelectionPlannerTests {
    let planner = ResumePlanner(actionVersions: ["shell": "1"])

    func workflow() throws -> Workflow {
        try ResumePlannerTests().workflow(ResumePlannerTests().chain)
    }

    @Test("unselected upstream is looked up by its fingerprint and reused with its outputs; the rest is left out")
    func reuseAndLeaveOut() throws {
        let wf = try workflow()
        let scope = EvaluationScope(params: ["p": "one"])
        var asked: [(TaskID, String)] = []
        let plan = planner.plan(wf, prior: [:], scope: scope, selection: TaskSelection(only: [TaskID("b")])) { task, fingerprint in
            asked.append((task, fingerprint))
            return EarlierSuccess(run: 7, outputs: ["x": "from-7"])
        }
        let kinds = Dictionary(uniqueKeysWithValues: wf.tasks.indices.map { (wf.tasks[$0].id.rawValue, plan.decisions[$0].kind) })
        #expect(kinds == ["a": .reuse, "b": .run, "c": .skip, "d": .skip, "e": .skip])
        #expect(asked.map(\.0) == [TaskID("a")], "only what b needs is looked up")
        #expect(plan.decision(for: TaskID("a"))?.reusedFrom == 7 && plan.reusedOutputs[TaskID("a")] == ["x": "from-7"])
        // b's inputs (a's outputs from run 7) are known, so b is fingerprinted and rendered ahead.
        let b = try #require(wf.index(of: TaskID("b")))
        #expect(plan.rendered[b]?.env["X"] == "from-7")
        #expect(plan.unreusable.isEmpty)
        #expect(plan.decision(for: TaskID("c"))?.reason == "not selected (--only b)")
    }

    @Test("no earlier success, or a task between selected ones: listed as unreusable, so the run is refused")
    func unreusable() throws {
        let wf = try workflow()
        let scope = EvaluationScope(params: ["p": "one"])
        let none = planner.plan(wf, prior: [:], scope: scope, selection: TaskSelection(only: [TaskID("c")])) { _, _ in nil }
        #expect(none.unreusable.map(\.task) == [TaskID("a"), TaskID("b")])
        let between = planner.plan(wf, prior: [:], scope: scope, selection: TaskSelection(only: [TaskID("a"), TaskID("c")])) { _, _ in
            EarlierSuccess(run: 1, outputs: [:])
        }
        #expect(between.unreusable.map(\.task) == [TaskID("b")])
        #expect(between.unreusable.first?.why.contains("it needs 'a', which this selection runs") == true)
        // --from a selects everything downstream of it: nothing to reuse.
        let from = planner.plan(wf, prior: [:], scope: scope, selection: TaskSelection(from: [TaskID("a")])) { _, _ in nil }
        #expect(from.unreusable.isEmpty && from.runCount == 4 && from.decision(for: TaskID("d"))?.kind == .skip)
    }

    @Test("a stored selection round-trips; a damaged one is refused")
    func stored() {
        let selection = TaskSelection(only: [TaskID("a"), TaskID("b-2")], from: [TaskID("c_3")])
        #expect(TaskSelection(stored: selection.stored) == selection)
        #expect(selection.label == "--only a,b-2 --from c_3")
        #expect(TaskSelection(stored: "everything") == nil)
    }
}
