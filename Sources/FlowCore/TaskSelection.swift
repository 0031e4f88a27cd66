/// `flow run --only` / `--from`: the tasks a run executes. Their upstream is reused from earlier runs of the
/// workflow; every other task is left out. Stored with the run: a resume runs the same selection.
package struct TaskSelection: Sendable, Hashable, Codable {
    /// Exactly these tasks.
    package var only: [TaskID]
    /// These tasks and everything downstream of them.
    package var from: [TaskID]

    package init(only: [TaskID] = [], from: [TaskID] = []) {
        self.only = only
        self.from = from
    }

    package var isEmpty: Bool { only.isEmpty && from.isEmpty }

    /// As the command line says it: `--only a,b --from c`.
    package var label: String {
        var words: [String] = []
        if !only.isEmpty { words.append("--only " + only.map(\.rawValue).joined(separator: ",")) }
        if !from.isEmpty { words.append("--from " + from.map(\.rawValue).joined(separator: ",")) }
        return words.joined(separator: " ")
    }

    /// The `runs.selection` text: `only=a,b` and `from=c` lines (task ids hold neither ',' nor '=').
    package var stored: String {
        var lines: [String] = []
        if !only.isEmpty { lines.append("only=" + only.map(\.rawValue).joined(separator: ",")) }
        if !from.isEmpty { lines.append("from=" + from.map(\.rawValue).joined(separator: ",")) }
        return lines.joined(separator: "\n")
    }

    package init?(stored: String) {
        self.init()
        for line in stored.split(separator: "\n") {
            let ids = line.drop { $0 != "=" }.dropFirst().split(separator: ",").map { TaskID(String($0)) }
            if line.hasPrefix("only=") { only = ids } else if line.hasPrefix("from=") { from = ids } else { return nil }
        }
    }

    /// Which tasks run (by index): the `only` ones, the `from` ones and all downstream of those. Ids the
    /// workflow does not have are ignored (the command line checks them first).
    package func selected(in workflow: Workflow, graph: TaskGraph) -> [Bool] {
        var selected = [Bool](repeating: false, count: workflow.tasks.count)
        for id in only { if let i = workflow.index(of: id) { selected[i] = true } }
        for id in from {
            guard let i = workflow.index(of: id) else { continue }
            selected[i] = true
            for j in graph.downstream(of: i) { selected[j] = true }
        }
        return selected
    }
}
