import FlowCore
import FlowPlan
import Foundation

struct PlanCommand: Subcommand {
    static let spec = CommandSpec(
        name: "plan", abstract: "Show what 'flow run' would do — run or reuse each task, and why — without running anything.",
        arguments: [.init(name: "workflow", help: "Workflow name or path.")],
        options: [
            CommandSpec.param("Set a parameter."),
            .init(name: "fresh", help: "Plan a new run instead of resuming."),
            CommandSpec.json,
        ] + SelectionOptions.options + GlobalOptions.options)

    var global: GlobalOptions
    var workflow: String
    var param: [String]
    var fresh: Bool
    var json: Bool
    var only: [String]
    var from: [String]

    init(_ arguments: ParsedArguments) {
        global = GlobalOptions(arguments)
        workflow = arguments.required("workflow")
        global = global.anchored(at: workflow)
        param = arguments.values("param")
        fresh = arguments.flag("fresh")
        json = arguments.flag("json")
        only = arguments.values("only")
        from = arguments.values("from")
    }

    struct Document: Encodable {
        var version = JSONDocument.version
        var workflow: String
        var path: String
        var mode: String
        var runId: Int64?
        /// `--only a --from b`, as given or as the resumed run stored it; absent for the whole workflow.
        var selection: String?
        var params: [String: String]
        var tasks: [TaskEntry]
    }

    struct TaskEntry: Encodable {
        var id: String
        var decision: String
        var reason: String
        var needs: [String]
        var uses: String
        var fingerprint: String?
    }

    func run() async throws {
        try LogSetup.bootstrap(global.logLevel)
        let project = Project(options: global)
        let path = try project.locate(workflow)
        let workflow = try project.load(path)
        let overrides = try RunSetup.overrides(param, for: workflow)
        let selection = try SelectionOptions.selection((only, from), for: workflow)
        let store = try project.existingStore()
        // Planning only reads: no project key is made for it (without one, no run can have stored a hash).
        let secrets = try RunSecrets.load(for: workflow, projectDirectory: project.options.projectDirectory,
                                          stateDirectory: project.options.stateDirectory, makeKey: false)
        let setup = try RunSetup.decide(workflow, store: store, overrides: overrides, fresh: fresh, resumeID: nil,
                                        now: try RunSetup.clock(), secrets: secrets, selection: selection)
        let (plan, _) = try setup.plan(runID: setup.resuming?.id ?? 0, store: store, actionVersions: project.actionVersions,
                                       secrets: secrets)
        if json {
            let entries = plan.order.map { index -> TaskEntry in
                let task = workflow.tasks[index]
                let d = plan.decisions[index]
                return TaskEntry(id: task.id.rawValue, decision: d.kind.rawValue, reason: d.reason, needs: task.needs.map(\.rawValue),
                                 uses: task.uses, fingerprint: d.fingerprint)
            }
            try JSONDocument.print(Document(workflow: workflow.name, path: project.display(path),
                                            mode: setup.resuming == nil ? "new" : "resume", runId: setup.resuming?.id,
                                            selection: setup.selection?.label, params: setup.shownParams, tasks: entries))
            if let refusal = SelectionOptions.refusal(plan) { throw refusal }
            return
        }
        let console = Console()
        if let run = setup.resuming {
            Console.out("plan for '\(workflow.name)': resume run \(run.id) (\(run.status.rawValue)): \(plan.runCount) to run, \(plan.reuseCount) to reuse")
        } else {
            Console.out("plan for '\(workflow.name)': new run, \(workflow.tasks.count) task\(workflow.tasks.count == 1 ? "" : "s")")
        }
        if let selection = setup.selection {
            Console.out("\(selection.label): \(plan.runCount) to run, \(plan.reuseCount) reused, "
                        + "\(plan.decisions.filter { $0.kind == .skip }.count) left out or skipped")
        }
        var table = Table(header: ["", "TASK", "NEEDS", "WHY"])
        for index in plan.order {
            let task = workflow.tasks[index]
            let d = plan.decisions[index]
            var why = d.reason
            if let condition = task.condition, d.kind == .run { why += "; if \(condition)" }
            table.rows.append([d.kind.rawValue, task.id.rawValue, Self.needsShown(task, in: workflow), why])
        }
        let rendered = table.render().split(separator: "\n").map { line -> String in
            if line.hasPrefix("run ") { return console.paint("run", "36") + line.dropFirst(3) }
            if line.hasPrefix("reuse ") { return console.paint("reuse", "32") + line.dropFirst(5) }
            return String(line)
        }
        Console.out(rendered.joined(separator: "\n"))
        let params = setup.shownParams.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
        if !params.isEmpty { Console.out("params: \(params.joined(separator: " "))") }
        if let refusal = SelectionOptions.refusal(plan) { throw refusal }
    }

    /// A task's needs for the table: a matrix task's instances as `work (1000 instances)`, the cell at most 60
    /// characters, so one wide cell does not pad every row.
    static func needsShown(_ task: TaskSpec, in workflow: Workflow) -> String {
        guard !task.needs.isEmpty else { return "-" }
        var names: [String] = []
        var counts: [String: Int] = [:]
        for need in task.needs {
            let group = workflow.task(need)?.group?.rawValue
            let name = group ?? need.rawValue
            if counts[name] == nil { names.append(name) }
            counts[name, default: 0] += group == nil ? 0 : 1
        }
        let text = names.map { counts[$0, default: 0] > 0 ? "\($0) (\(counts[$0, default: 0]) instances)" : $0 }.joined(separator: ",")
        return text.count > 60 ? String(text.prefix(59)) + "…" : text
    }

}
