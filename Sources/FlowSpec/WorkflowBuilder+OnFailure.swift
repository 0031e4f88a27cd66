import FlowCore

extension WorkflowBuilder {
    /// `on_failure: [alert, ...]`: shorthand for tasks that need every other task and run only when something
    /// failed — each listed task gets every task outside the list added to its `needs`, and `if: failure()`
    /// (or `failure() && CONDITION` when it has an `if:` of its own).
    mutating func applyOnFailure(_ node: YAMLNode, to tasks: inout [TaskSpec]) {
        guard case .sequence(let items, _) = node else {
            let hint = node.scalarText.map { "write a list: on_failure: [\($0)]" } ?? "write a list of task ids: on_failure: [alert]"
            error(node.location, "'on_failure' must be a list of task ids, not \(node.typeName)", notes: [hint])
            return
        }
        let names = tasks.map(\.id.rawValue)
        var listed: [TaskID] = []
        for item in items {
            guard case .scalar(let name, .string, _, let location) = item else {
                error(item.location, "an 'on_failure' entry must be a task id, not \(item.typeName)")
                continue
            }
            let id = TaskID(name)
            guard names.contains(name) else {
                error(location, "'on_failure' names no task: '\(name)'",
                      notes: [Suggestion.closest(to: name, in: names).map { "did you mean '\($0)'?" } ?? "tasks: \(names.joined(separator: ", "))"])
                continue
            }
            guard !listed.contains(id) else {
                error(location, "'on_failure' lists '\(name)' twice")
                continue
            }
            listed.append(id)
        }
        guard !listed.isEmpty else { return }
        var others = tasks.map(\.id).filter { !listed.contains($0) }
        guard !others.isEmpty else {
            error(node.location, "'on_failure' lists every task: there is nothing left whose failure they would follow")
            return
        }
        // A task that needs an on_failure task would wait for what waits for it: one error, not also a cycle.
        for task in tasks where !listed.contains(task.id) {
            for need in task.needs where listed.contains(need) {
                others.removeAll { $0 == task.id }
                error(needLocations[task.id]?.first(where: { $0.0 == need })?.1 ?? task.location,
                      "task '\(task.id)' needs '\(need)', which is in 'on_failure' and so runs after every other task",
                      notes: ["remove '\(need)' from its 'needs', or from 'on_failure' and give it 'if: ${{ failure() }}'"])
            }
        }
        for index in tasks.indices where listed.contains(tasks[index].id) {
            var task = tasks[index]
            task.needs += others.filter { !task.needs.contains($0) }
            let failure = FlowExpression.reference(.status(.failure))
            if let condition = task.condition, condition.parts.count == 1, case .expression(let own) = condition.parts[0] {
                task.condition = Template(parts: [.expression(.binary(.and, failure, own))], location: condition.location)
            } else {
                task.condition = Template(parts: [.expression(failure)], location: task.condition?.location ?? task.location)
            }
            tasks[index] = task
        }
    }
}
