import FlowCore

extension WorkflowBuilder {
    /// Replaces each `matrix:` task by its instances: one task per combination, `${{ matrix.NAME }}` turned
    /// into that combination's value. A `needs` on the matrix task waits for every instance; reading its
    /// outputs reads every instance's, keyed by instance. References (for the validator) and `needs`
    /// locations follow the instances.
    mutating func expandMatrices(_ tasks: [TaskSpec]) -> [TaskSpec] {
        for (id, bound) in pendingMaxParallel where pendingMatrices[id] == nil && !foreachTasks.contains(id) {
            error(bound.location, "'max_parallel' of task '\(id)' bounds the instances of a matrix or foreach, and the task has neither",
                  notes: ["the workflow's own max_parallel (at the top) bounds all tasks"])
        }
        guard !pendingMatrices.isEmpty || !foreachTasks.isEmpty else { return tasks }
        var instances: [TaskID: [TaskID]] = [:]
        /// Each instance's stand-in for `matrix.NAME` / `foreach.*`.
        var substitutes: [TaskID: [(Reference) -> FlowExpression?]] = [:]
        for task in tasks {
            if let items = foreachItems[task.id], foreachTasks.contains(task.id) {
                instances[task.id] = Self.instanceIDs(of: task.id, items)
                substitutes[task.id] = items.enumerated().map { index, item in
                    { reference in
                        guard case .foreach(let path) = reference else { return nil }
                        switch path.first {
                        case "index": return .literal(.string(String(index)))
                        default: return .literal(.string(path.count == 2 ? item.field(path[1]) : item.shown))
                        }
                    }
                }
                continue
            }
            guard let spec = pendingMatrices[task.id], let combos = combinations(spec, of: task.id) else { continue }
            let ids = combos.map { TaskID.instance(of: task.id, $0) }
            if Set(ids).count != ids.count {
                error(spec.location, "the matrix of task '\(task.id)' gives two instances the same values",
                      notes: ["an 'include' entry repeats a combination the axes already make"])
                continue
            }
            instances[task.id] = ids
            let names = spec.names
            substitutes[task.id] = combos.map { combo in
                { reference in
                    guard case .matrix(let name) = reference, names.contains(name) else { return nil }
                    return .literal(.string(combo.first { $0.name == name }?.value ?? ""))
                }
            }
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
            guard let ids = instances[task.id], let own = substitutes[task.id] else {
                out.append(rewritten(task, with: groupRewrite))
                continue
            }
            for (id, substitute) in zip(ids, own) {
                var instance = rewritten(task, with: { substitute($0) ?? groupRewrite($0) })
                instance.id = id
                instance.group = task.id
                instance.groupMaxParallel = pendingMaxParallel[task.id]?.limit
                instance.foreach = nil
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
    /// `F[item=MGC]` when every item is a distinct text that can name an instance, else `F[index=0]`.
    static func instanceIDs(of task: TaskID, _ items: [ForeachItem]) -> [TaskID] {
        var texts: [String] = []
        for item in items {
            guard case .text(let text) = item, isInstanceValue(text) else { break }
            texts.append(text)
        }
        if texts.count == items.count, Set(texts).count == texts.count {
            return texts.map { TaskID.instance(of: task, [("item", $0)]) }
        }
        return items.indices.map { TaskID.instance(of: task, [("index", String($0))]) }
    }

    private mutating func expand(_ ref: PendingReference, instances: [TaskID: [TaskID]]) -> [PendingReference] {
        var ref = ref
        switch ref.reference {
        case .foreach:
            // Valid in a foreach task (a value once its list is known); anywhere else the validator says so.
            if let owner = ref.owner, foreachTasks.contains(owner) { return [] }
            return [ref]
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
