import FlowCore

extension WorkflowBuilder {
    /// Replaces each `matrix:` task by its instances: one task per combination, `${{ matrix.NAME }}` turned
    /// into that combination's value. A `needs` on the matrix task waits for every instance; reading its
    /// outputs reads every instance's, keyed by instance. References (for the validator) and `needs`
    /// locations follow the instances.
    mutating func expandMatrices(_ tasks: [TaskSpec]) -> [TaskSpec] {
        for (id, bound) in pendingMaxParallel where pendingMatrices[id] == nil {
            error(bound.location, "'max_parallel' of task '\(id)' bounds the instances of a matrix, and the task has no 'matrix'",
                  notes: ["the workflow's own max_parallel (at the top) bounds all tasks"])
        }
        guard !pendingMatrices.isEmpty else { return tasks }
        var instances: [TaskID: [TaskID]] = [:]
        var values: [TaskID: [[(name: String, value: String)]]] = [:]
        for task in tasks {
            guard let spec = pendingMatrices[task.id], let combos = combinations(spec, of: task.id) else { continue }
            let ids = combos.map { TaskID.instance(of: task.id, $0) }
            if Set(ids).count != ids.count {
                error(spec.location, "the matrix of task '\(task.id)' gives two instances the same values",
                      notes: ["an 'include' entry repeats a combination the axes already make"])
                continue
            }
            instances[task.id] = ids
            values[task.id] = combos
        }
        let groupRewrite: (Reference) -> FlowExpression? = { reference in
            switch reference {
            case .taskOutput(let group, let key):
                return instances[group].map { .reference(.instanceOutputs(group: group, instances: $0, key: key)) }
            case .taskOutputs(let group):
                return instances[group].map { .reference(.instanceOutputs(group: group, instances: $0, key: nil)) }
            default: return nil
            }
        }
        func rewritten(_ task: TaskSpec, with rewrite: (Reference) -> FlowExpression?) -> TaskSpec {
            var task = task
            task.with = task.with.map { ($0.name, $0.value.replacing(rewrite)) }
            task.env = task.env.map { ($0.name, $0.value.replacing(rewrite)) }
            task.condition = task.condition?.replacing(rewrite)
            task.workingDirectory = task.workingDirectory?.replacing(rewrite)
            task.needs = task.needs.flatMap { instances[$0] ?? [$0] }
            return task
        }
        var out: [TaskSpec] = []
        for task in tasks {
            guard let ids = instances[task.id], let combos = values[task.id], let spec = pendingMatrices[task.id] else {
                out.append(rewritten(task, with: groupRewrite))
                continue
            }
            let names = spec.names
            for (id, combo) in zip(ids, combos) {
                var instance = rewritten(task, with: { reference in
                    if case .matrix(let name) = reference, names.contains(name) {
                        return .literal(.string(combo.first { $0.name == name }?.value ?? ""))
                    }
                    return groupRewrite(reference)
                })
                instance.id = id
                instance.group = task.id
                instance.groupMaxParallel = pendingMaxParallel[task.id]?.limit
                out.append(instance)
            }
        }
        references = references.flatMap { ref -> [PendingReference] in expand(ref, instances: instances) }
        var locations: [TaskID: [(TaskID, SourceLocation)]] = [:]
        for (owner, needs) in needLocations {
            let expandedNeeds = needs.flatMap { need in (instances[need.0] ?? [need.0]).map { ($0, need.1) } }
            for id in instances[owner] ?? [owner] { locations[id] = expandedNeeds }
        }
        needLocations = locations
        return out
    }

    /// One pending reference as the instances see it: a matrix task's own references once per instance, a
    /// valid `matrix.NAME` gone (it is a value now), a matrix task's outputs read across its instances.
    private mutating func expand(_ ref: PendingReference, instances: [TaskID: [TaskID]]) -> [PendingReference] {
        var ref = ref
        switch ref.reference {
        case .matrix(let name):
            guard let owner = ref.owner, let spec = pendingMatrices[owner] else { return [ref] }
            guard spec.names.contains(name) else {
                var notes: [String] = []
                if let s = Suggestion.closest(to: name, in: spec.names) { notes.append("did you mean '\(s)'?") }
                notes.append("the matrix of '\(owner)' defines: \(spec.names.joined(separator: ", "))")
                error(ref.location, "task '\(owner)' has no matrix value '\(name)'", notes: notes)
                return []
            }
            return []
        case .taskOutput(let group, let key) where instances[group] != nil:
            ref.reference = .instanceOutputs(group: group, instances: instances[group] ?? [], key: key)
        case .taskOutputs(let group) where instances[group] != nil:
            ref.reference = .instanceOutputs(group: group, instances: instances[group] ?? [], key: nil)
        case .taskStatus(let group) where instances[group] != nil, .taskError(let group) where instances[group] != nil:
            let first = instances[group]?.first.map(\.rawValue) ?? "\(group)[...]"
            error(ref.location, "'\(ref.reference)' of matrix task '\(group)' has one value per instance",
                  notes: ["read one instance's, as tasks.\(first).\(ref.reference.description.hasSuffix("status") ? "status" : "error")"])
            return []
        default:
            break
        }
        guard let owner = ref.owner, let ids = instances[owner] else { return [ref] }
        return ids.map { id in
            var copy = ref
            copy.owner = id
            return copy
        }
    }
}
