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
    package func plan(_ workflow: Workflow, prior: [TaskID: PriorTask], scope: EvaluationScope) -> ExecutionPlan {
        let graph = TaskGraph(workflow)
        // Validation rejects cycles; should one slip through, fall back to file order.
        let order = graph.topologicalOrder() ?? Array(workflow.tasks.indices)
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
            let decision: Decision
            if !isResume {
                decision = Decision(kind: .run, reason: "new run", fingerprint: fingerprint)
            } else if let upstream = rerunningUpstream {
                decision = Decision(kind: .run, reason: "upstream '\(workflow.tasks[upstream].id)' runs again", fingerprint: nil)
            } else if progress {
                decision = Decision(kind: .run, reason: "reads how the run is going (tasks.*.status, tasks.*.error or run.summary_json)",
                                    fingerprint: nil)
            } else if let last = prior[task.id] {
                decision = decide(task, last: last, fingerprint: fingerprint, scope: scope)
            } else {
                decision = Decision(kind: .run, reason: "not run yet in this run", fingerprint: fingerprint)
            }
            decisions[index] = decision
            if decision.kind == .reuse, let last = prior[task.id] {
                reused[task.id] = last.outputs
                scope.outputs[task.id] = last.outputs
            }
        }
        let previous = workflow.tasks.map { prior[$0.id]?.attempts ?? 0 }
        return ExecutionPlan(workflow: workflow, graph: graph, order: order, decisions: decisions, reusedOutputs: reused,
                             previousAttempts: previous, rendered: rendered)
    }

    private func decide(_ task: TaskSpec, last: PriorTask, fingerprint: String?, scope: EvaluationScope) -> Decision {
        if task.alwaysRun {
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
