import FlowCore

/// Checks what needs the whole workflow: `needs` targets, cycles, and what each expression reads.
struct WorkflowValidator {
    let workflow: Workflow
    let actions: [String: ActionSignature]
    let references: [PendingReference]
    let needLocations: [TaskID: [(TaskID, SourceLocation)]]
    var diagnostics: [Diagnostic] = []

    init(workflow: Workflow, actions: [String: ActionSignature], references: [PendingReference],
         needLocations: [TaskID: [(TaskID, SourceLocation)]]) {
        self.workflow = workflow
        self.actions = actions
        self.references = references
        self.needLocations = needLocations
    }

    mutating func validate() {
        checkNeeds()
        let graph = TaskGraph(workflow)
        if let cycle = graph.findCycle() {
            reportCycle(cycle)
        } else {
            checkReferences(graph)
        }
        checkWorkflowReferences()
    }

    private func needLocation(_ task: TaskID, _ need: TaskID) -> SourceLocation? {
        needLocations[task]?.first { $0.0 == need }?.1
    }

    private mutating func checkNeeds() {
        let ids = workflow.tasks.map(\.id.rawValue)
        for (index, task) in workflow.tasks.enumerated() {
            for (need, needIndex) in zip(task.needs, workflow.needIndices[index]) {
                // Looked up only for an error: a linear search per need made a long `needs:` list quadratic.
                var location: SourceLocation { needLocation(task.id, need) ?? task.location }
                if need == task.id {
                    diagnostics.append(.error(at: location, "task '\(task.id)' needs itself"))
                } else if needIndex == nil {
                    var notes: [String] = []
                    if let s = Suggestion.closest(to: need.rawValue, in: ids.filter { $0 != task.id.rawValue }) {
                        notes.append("did you mean '\(s)'?")
                    }
                    diagnostics.append(.error(at: location, "task '\(task.id)' needs unknown task '\(need)'", notes: notes))
                }
            }
        }
    }

    private mutating func reportCycle(_ cycle: [Int]) {
        let names = cycle.map { workflow.tasks[$0].id.rawValue }
        let first = workflow.tasks[cycle[0]]
        let location = cycle.count > 1 ? (needLocation(first.id, workflow.tasks[cycle[1]].id) ?? first.location) : first.location
        var notes: [String] = []
        for k in 0..<(cycle.count - 1) { notes.append("'\(names[k])' needs '\(names[k + 1])'") }
        notes.append("remove one of these dependencies to break the cycle")
        diagnostics.append(.error(at: location, "dependency cycle: \(names.joined(separator: " -> "))", notes: notes))
    }

    private mutating func checkReferences(_ graph: TaskGraph) {
        let params = workflow.params.map(\.name)
        var upstreamCache: [Int: Set<Int>] = [:]
        for ref in references {
            switch ref.reference {
            case .param(let name):
                if !params.contains(name) {
                    var notes: [String] = []
                    if let s = Suggestion.closest(to: name, in: params) { notes.append("did you mean '\(s)'?") }
                    notes.append(params.isEmpty ? "this workflow declares no 'params'" : "declared params: \(params.joined(separator: ", "))")
                    diagnostics.append(.error(at: ref.location, "unknown parameter '\(name)'", notes: notes))
                }
            case .taskOutput(let task, let key):
                guard let target = upstreamTask(task, of: ref, reading: "outputs", own: "output '\(key)'", graph, &upstreamCache)
                else { continue }
                if key.contains("."), workflow.tasks[target].uses != "workflow" {
                    diagnostics.append(.error(at: ref.location, "'\(ref.reference)': an output name has no '.'",
                                              notes: ["'tasks.ID.outputs.TASK.KEY' reads a child workflow's output through a 'uses: workflow' task"]))
                    continue
                }
                checkOutputKey(key, of: task, uses: workflow.tasks[target].uses, at: ref.location)
            case .taskOutputs(let task):
                _ = upstreamTask(task, of: ref, reading: "outputs", own: "outputs", graph, &upstreamCache)
            case .instanceOutputs(let group, let instances, let key):
                for instance in instances.prefix(1) {
                    guard let target = upstreamTask(instance, of: ref, reading: "outputs", own: "outputs", graph, &upstreamCache),
                          let key else { continue }
                    checkOutputKey(key, of: group, uses: workflow.tasks[target].uses, at: ref.location)
                }
            case .foreach(let path):
                diagnostics.append(.error(at: ref.location, "'foreach.\(path.joined(separator: "."))' is used where no foreach defines it",
                                          notes: ["items exist only in a task with 'foreach:', as ${{ foreach.item }}"]))
            case .matrix(let name):
                diagnostics.append(.error(at: ref.location, "'matrix.\(name)' is used where no matrix defines it",
                                          notes: ["matrix values exist only in a task with 'matrix:', as ${{ matrix.NAME }}"]))
            case .taskStatus(let task):
                _ = upstreamTask(task, of: ref, reading: "the status", own: "status", graph, &upstreamCache)
            case .taskError(let task):
                _ = upstreamTask(task, of: ref, reading: "the error", own: "error", graph, &upstreamCache)
            case .status(let function):
                if ref.owner != nil, ref.field != "if" {
                    diagnostics.append(.error(at: ref.location, "'\(function.rawValue)()' can only be used in 'if:'",
                                              notes: ["read how an upstream task ended with 'tasks.ID.status' instead"]))
                }
            case .secret(let name):
                guard !workflow.secrets.contains(name) else { continue }
                var notes: [String] = []
                if let s = Suggestion.closest(to: name, in: workflow.secrets) { notes.append("did you mean '\(s)'?") }
                notes.append(workflow.secrets.isEmpty ? "declare it at the top of the workflow: secrets: [\(name)]"
                                                      : "declared secrets: \(workflow.secrets.joined(separator: ", ")); add it there")
                diagnostics.append(.error(at: ref.location, "unknown secret '\(name)'", notes: notes))
            case .env(let name) where workflow.secrets.contains(name):
                diagnostics.append(.error(at: ref.location, "'\(name)' is a secret of this workflow; read it as secrets.\(name)",
                                          notes: ["a secret reaches only the tasks that ask for it, masked in every log: ${{ secrets.\(name) }}"]))
            case .env, .runID, .runStartedAt, .runSchedule, .runSummary:
                continue
            }
        }
    }

    private mutating func checkOutputKey(_ key: String, of task: TaskID, uses: String, at location: SourceLocation) {
        // A declared output ending in '*' stands for a family, such as `rows_*`.
        guard let outputs = actions[uses]?.outputs, !outputs.isEmpty, !outputs.contains(key),
              !outputs.contains(where: { $0.hasSuffix("*") && key.hasPrefix($0.dropLast()) }) else { return }
        var notes: [String] = []
        if let s = Suggestion.closest(to: key, in: outputs) { notes.append("did you mean '\(s)'?") }
        notes.append("'\(uses)' outputs: \(outputs.joined(separator: ", "))")
        diagnostics.append(.error(at: location, "action '\(uses)' of task '\(task)' has no output '\(key)'", notes: notes))
    }

    /// The index of `task` when the task that owns `ref` may read it: it exists, is not the owner, and is
    /// upstream of it. Otherwise a diagnostic says why, and nil.
    private mutating func upstreamTask(_ task: TaskID, of ref: PendingReference, reading what: String, own: String, _ graph: TaskGraph,
                                       _ upstreamCache: inout [Int: Set<Int>]) -> Int? {
        guard let owner = ref.owner else { return nil }
        guard let target = workflow.index(of: task) else {
            var notes: [String] = []
            if let s = Suggestion.closest(to: task.rawValue, in: workflow.tasks.map(\.id.rawValue)) {
                notes.append("did you mean '\(s)'?")
            }
            diagnostics.append(.error(at: ref.location, "'\(ref.field)' of task '\(owner)' reads \(what) of unknown task '\(task)'", notes: notes))
            return nil
        }
        guard let ownerIndex = workflow.index(of: owner) else { return nil }
        if target == ownerIndex {
            diagnostics.append(.error(at: ref.location, "task '\(owner)' reads its own \(own)",
                                      notes: ["\(what == "outputs" ? "outputs exist" : "it is known") only after a task ends; read \(what == "outputs" ? "them" : "it") from a downstream task"]))
            return nil
        }
        let upstream = upstreamCache[ownerIndex] ?? graph.upstream(of: ownerIndex)
        upstreamCache[ownerIndex] = upstream
        guard upstream.contains(target) else {
            if graph.upstream(of: target).contains(ownerIndex) {
                diagnostics.append(.error(at: ref.location, "task '\(owner)' reads \(what) of '\(task)', which runs after it",
                                          notes: ["'\(task)' depends on '\(owner)'; read \(what == "outputs" ? "the output" : "it") from a task downstream of '\(task)'"]))
            } else {
                diagnostics.append(.error(at: ref.location, "task '\(owner)' reads \(what) of '\(task)', which is not upstream of it",
                                          notes: ["add '\(task)' to the 'needs' of '\(owner)' so it finishes first"]))
            }
            return nil
        }
        return target
    }

    private mutating func checkWorkflowReferences() {
        for ref in references where ref.owner == nil {
            switch ref.reference {
            case .taskOutput, .taskOutputs, .instanceOutputs, .taskStatus, .taskError, .runSummary:
                diagnostics.append(.error(at: ref.location, "'\(ref.field)' at workflow level cannot read \(ref.reference.isTaskOutput ? "task outputs" : "'\(ref.reference)'")",
                                          notes: ["set it in the 'env:' of the task that needs it"]))
            case .status(let function):
                diagnostics.append(.error(at: ref.location, "'\(function.rawValue)()' can only be used in a task's 'if:'"))
            default:
                break
            }
        }
    }
}
