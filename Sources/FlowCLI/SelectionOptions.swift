import FlowCore
import FlowPlan

/// `--only TASK[,TASK...]` and `--from TASK[,TASK...]`, for `flow run` and `flow plan`.
enum SelectionOptions {
    static let options: [CommandSpec.Option] = [
        .init(name: "only", value: "task,...", repeatable: true,
              help: "Run only these tasks; their upstream is reused from the newest run where it succeeded with the same inputs."),
        .init(name: "from", value: "task,...", repeatable: true,
              help: "Run these tasks and everything downstream of them; their upstream is reused the same way."),
    ]

    /// The selection the options name, checked against the workflow; nil when neither is given.
    static func selection(_ arguments: (only: [String], from: [String]), for workflow: Workflow) throws(CommandFailure) -> TaskSelection? {
        func ids(_ values: [String], _ option: String) throws(CommandFailure) -> [TaskID] {
            var out: [TaskID] = []
            for value in values {
                let names = value.split(separator: ",", omittingEmptySubsequences: false).map { String($0).trimmingBlanks }
                for name in names {
                    guard !name.isEmpty else { throw CommandFailure(.usage, "flow: --\(option) takes task ids separated by commas, not '\(value.prefix(60))'") }
                    // A matrix task's id selects all its instances.
                    let instances = workflow.tasks.filter { $0.group == TaskID(name) }.map(\.id)
                    if !instances.isEmpty {
                        for id in instances where !out.contains(id) { out.append(id) }
                        continue
                    }
                    guard workflow.index(of: TaskID(name)) != nil else {
                        var message = "flow: workflow '\(workflow.name)' has no task '\(name.prefix(64))' (--\(option))"
                        if let s = Suggestion.closest(to: name, in: workflow.tasks.map(\.id.rawValue)) { message += "\nnote: did you mean '\(s)'?" }
                        message += "\nnote: tasks: " + workflow.tasks.prefix(20).map(\.id.rawValue).joined(separator: ", ")
                            + (workflow.tasks.count > 20 ? ", ..." : "")
                        throw CommandFailure(.usage, message)
                    }
                    if !out.contains(TaskID(name)) { out.append(TaskID(name)) }
                }
            }
            return out
        }
        let selection = TaskSelection(only: try ids(arguments.only, "only"), from: try ids(arguments.from, "from"))
        return selection.isEmpty ? nil : selection
    }

    /// The error a selection whose upstream cannot be reused stops with, before any run is created.
    static func refusal(_ plan: ExecutionPlan) -> CommandFailure? {
        guard !plan.unreusable.isEmpty, let selection = plan.selection else { return nil }
        var lines = ["flow: \(selection.label) needs upstream tasks that cannot be reused:"]
        for (task, why) in plan.unreusable { lines.append("  \(task): \(why)") }
        lines.append("note: select them too (or start from them with --from), or run the whole workflow once; "
                     + "`flow plan \(plan.workflow.name) \(selection.label)` explains every decision")
        return CommandFailure(.usage, lines.joined(separator: "\n"))
    }
}
