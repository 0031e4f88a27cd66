import FlowCore

/// What the last attempt of a run left for one task.
package struct PriorTask: Sendable, Hashable {
    package var status: TaskStatus
    package var fingerprint: String?
    package var outputs: [String: String]
    package var reason: String?
    /// Attempts already made in this run, so new attempts get new numbers.
    package var attempts: Int

    package init(status: TaskStatus, fingerprint: String?, outputs: [String: String] = [:], reason: String? = nil, attempts: Int = 0) {
        self.status = status
        self.attempts = attempts
        self.fingerprint = fingerprint
        self.outputs = outputs
        self.reason = reason
    }
}

/// What to do with one task, and why, in words `flow plan` prints.
package struct Decision: Sendable, Hashable {
    package enum Kind: String, Sendable, Hashable, Codable {
        /// Execute it (again).
        case run
        /// It succeeded in this run with the same fingerprint; keep its outputs.
        case reuse
        /// It was skipped and its condition is still false.
        case skip
    }

    package var kind: Kind
    package var reason: String
    /// The fingerprint it has now, when it can be known before running (all its inputs are known).
    package var fingerprint: String?
    /// A `--only`/`--from` run takes this unselected upstream task's success from that earlier run.
    package var reusedFrom: RunID? = nil
}

/// An earlier success of a task with a given fingerprint: the newest run of the workflow that has one, and the
/// outputs it left.
package struct EarlierSuccess: Sendable, Hashable {
    package var run: RunID
    package var outputs: [String: String]

    package init(run: RunID, outputs: [String: String]) {
        self.run = run
        self.outputs = outputs
    }
}

/// The decisions for every task of a workflow in one run, in topological order.
package struct ExecutionPlan: Sendable {
    package let workflow: Workflow
    package let graph: TaskGraph
    /// Task indices in the order they would start with unlimited parallelism ties broken by file order.
    package let order: [Int]
    package let decisions: [Decision]
    /// Outputs of reused tasks, for the expressions of the tasks that run.
    package let reusedOutputs: [TaskID: [String: String]]
    /// Attempts each task already made in this run, by task index.
    package let previousAttempts: [Int]
    /// Each fingerprinted task's values as rendered for its fingerprint, which are the values it runs with: the
    /// engine renders only the tasks an upstream run feeds.
    package let rendered: [RenderedTask?]
    /// What `--only`/`--from` selected; nil for the whole workflow.
    package var selection: TaskSelection? = nil
    /// Unselected upstream tasks a selection needs that cannot be reused, and why: the run must not start.
    package var unreusable: [(task: TaskID, why: String)] = []

    package var runCount: Int { decisions.filter { $0.kind == .run }.count }
    package var reuseCount: Int { decisions.filter { $0.kind == .reuse }.count }

    package func decision(for id: TaskID) -> Decision? { workflow.index(of: id).map { decisions[$0] } }
}

/// Decides, for a new or resumed run, which tasks run and which are reused.
package struct ResumePlanner: Sendable {
    package var actionVersions: [String: String]

    package init(actionVersions: [String: String]) {
        self.actionVersions = actionVersions
    }

    /// `prior` is empty for a new run. `scope` holds the run's params, env, id and start time: every task that
    /// no re-running task feeds gets its fingerprint here, so the engine computes only the others'.
    /// With a `selection`, only the selected tasks run: their unselected upstream is reused (from this run on a
    /// resume, else from the newest run `earlier` finds with the same fingerprint, or skipped if its condition
    /// is false now), and every other task is skipped as not selected.
    /// `settled`: tasks an earlier part of this same invocation ran (before a foreach list was known): their
    /// success stands even for `always_run`.
    package func plan(_ workflow: Workflow, prior: [TaskID: PriorTask], scope: EvaluationScope, selection: TaskSelection? = nil,
                      settled: Set<TaskID> = [], earlier: (TaskID, String) -> EarlierSuccess? = { _, _ in nil }) -> ExecutionPlan {
        let graph = TaskGraph(workflow)
        // Validation rejects cycles; should one slip through, fall back to file order.
        let order = graph.topologicalOrder() ?? Array(workflow.tasks.indices)
        let selected = selection.map { $0.selected(in: workflow, graph: graph) }
        var feedsSelected = [Bool](repeating: false, count: workflow.tasks.count)
        if let selected {
            for index in workflow.tasks.indices where selected[index] {
                for upstream in graph.upstream(of: index) where !selected[upstream] { feedsSelected[upstream] = true }
            }
        }
        var unreusable: [(task: TaskID, why: String)] = []
        var decisions = [Decision](repeating: Decision(kind: .run, reason: "", fingerprint: nil), count: workflow.tasks.count)
        var rendered = [RenderedTask?](repeating: nil, count: workflow.tasks.count)
        var scope = scope
        var reused: [TaskID: [String: String]] = [:]
        let isResume = !prior.isEmpty
        for index in order {
            let task = workflow.tasks[index]
            let rerunningUpstream = graph.dependencies[index].first { decisions[$0].kind == .run }
            // Known now unless an upstream task runs (again): its outputs are inputs of this one. A task that reads
            // how the run is going is rendered when it starts.
            let progress = task.readsRunProgress
            var fingerprint: String?
            if rerunningUpstream == nil && !progress {
                let values = RenderedTask(task, workflowEnv: workflow.env, scope: scope)
                fingerprint = Fingerprint.of(task, values, actionVersion: actionVersions[task.uses] ?? "?",
                                              masker: scope.fingerprintMasker)
                rendered[index] = values
            }
            var decision: Decision
            if let selected, !selected[index] {
                let success: EarlierSuccess?
                (decision, success) = unselected(task, feeds: feedsSelected[index], rerunning: rerunningUpstream.map { workflow.tasks[$0].id },
                                                 fingerprint: fingerprint, prior: prior[task.id], scope: scope,
                                                 label: selection?.label ?? "", earlier: earlier, unreusable: &unreusable)
                if let success {
                    reused[task.id] = success.outputs
                    scope.outputs[task.id] = success.outputs
                }
            } else if !isResume {
                decision = Decision(kind: .run, reason: "new run", fingerprint: fingerprint)
            } else if let upstream = rerunningUpstream {
                decision = Decision(kind: .run, reason: "upstream '\(workflow.tasks[upstream].id)' runs again", fingerprint: nil)
            } else if progress {
                decision = Decision(kind: .run, reason: "reads how the run is going (tasks.*.status, tasks.*.error or run.summary_json)",
                                    fingerprint: nil)
            } else if let last = prior[task.id] {
                decision = decide(task, last: last, fingerprint: fingerprint, scope: scope, settled: settled.contains(task.id))
            } else {
                decision = Decision(kind: .run, reason: "not run yet in this run", fingerprint: fingerprint)
            }
            if let list = task.foreach, decision.kind == .run {
                decision = Decision(kind: .run, reason: "foreach \(list): one instance per item, made once that list exists",
                                    fingerprint: nil)
            }
            decisions[index] = decision
            if decision.kind == .reuse, decision.reusedFrom == nil, let last = prior[task.id] {
                reused[task.id] = last.outputs
                scope.outputs[task.id] = last.outputs
            }
        }
        let previous = workflow.tasks.map { prior[$0.id]?.attempts ?? 0 }
        var plan = ExecutionPlan(workflow: workflow, graph: graph, order: order, decisions: decisions, reusedOutputs: reused,
                                 previousAttempts: previous, rendered: rendered)
        plan.selection = selection
        plan.unreusable = unreusable
        return plan
    }

    /// A task a selection does not run: skipped if nothing selected needs it, else reused or, when it cannot
    /// be, listed in `unreusable`.
    private func unselected(_ task: TaskSpec, feeds: Bool, rerunning: TaskID?, fingerprint: String?, prior: PriorTask?,
                            scope: EvaluationScope, label: String, earlier: (TaskID, String) -> EarlierSuccess?,
                            unreusable: inout [(task: TaskID, why: String)]) -> (Decision, EarlierSuccess?) {
        guard feeds else { return (Decision(kind: .skip, reason: "not selected (\(label))", fingerprint: nil), nil) }
        func cannot(_ why: String) -> (Decision, EarlierSuccess?) {
            unreusable.append((task.id, why))
            return (Decision(kind: .skip, reason: "cannot be reused: \(why)", fingerprint: fingerprint), nil)
        }
        if let rerunning {
            return cannot("it needs '\(rerunning)', which this selection runs; select it too, or use --from \(rerunning)")
        }
        guard let fingerprint, !task.readsRunProgress else {
            return cannot("it reads how the run is going (tasks.*.status, tasks.*.error or run.summary_json), so no earlier success stands for it")
        }
        // On a resume of this selection it is already in the run.
        if let prior, prior.status == .succeeded || prior.status == .reused, prior.fingerprint == fingerprint {
            return (Decision(kind: .reuse, reason: "reused earlier in this run (\(prior.reason ?? "same fingerprint"))", fingerprint: fingerprint), nil)
        }
        if let condition = task.condition, !task.runsAfterFailure, !condition.evaluate(in: scope).isTruthy {
            return (Decision(kind: .skip, reason: "condition is false: \(condition)", fingerprint: fingerprint), nil)
        }
        guard let success = earlier(task.id, fingerprint) else {
            return cannot("no earlier run of the workflow has it succeeded with the same inputs")
        }
        return (Decision(kind: .reuse, reason: "reused from run \(success.run): it succeeded there with the same fingerprint",
                         fingerprint: fingerprint, reusedFrom: success.run), success)
    }

    private func decide(_ task: TaskSpec, last: PriorTask, fingerprint: String?, scope: EvaluationScope, settled: Bool) -> Decision {
        if task.alwaysRun && !settled {
            return Decision(kind: .run, reason: "always_run: re-executed in every attempt of the run", fingerprint: fingerprint)
        }
        switch last.status {
        case .succeeded, .reused:
            if last.fingerprint == fingerprint {
                return Decision(kind: .reuse, reason: "succeeded earlier in this run with the same fingerprint", fingerprint: fingerprint)
            }
            return Decision(kind: .run, reason: "definition or inputs changed since it succeeded", fingerprint: fingerprint)
        case .skipped:
            if task.runsAfterFailure {
                return Decision(kind: .run, reason: "its condition depends on how its upstream ends", fingerprint: fingerprint)
            }
            if let condition = task.condition, !condition.evaluate(in: scope).isTruthy {
                return Decision(kind: .skip, reason: "condition is still false", fingerprint: fingerprint)
            }
            return Decision(kind: .run, reason: "was skipped (\(last.reason ?? "skipped")); runs now", fingerprint: fingerprint)
        case .failed:
            return Decision(kind: .run, reason: "failed last time", fingerprint: fingerprint)
        case .timedOut:
            return Decision(kind: .run, reason: "timed out last time", fingerprint: fingerprint)
        case .interrupted, .running:
            return Decision(kind: .run, reason: "was interrupted", fingerprint: fingerprint)
        case .pending:
            return Decision(kind: .run, reason: "not run yet in this run", fingerprint: fingerprint)
        }
    }
}
