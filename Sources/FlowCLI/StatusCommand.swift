import FlowCore
import FlowStore
import Foundation

struct StatusCommand: Subcommand {
    static let spec = CommandSpec(
        name: "status", abstract: "Show the last run of a workflow (or --run ID): each task's status, attempts, duration and outputs.",
        arguments: [.init(name: "workflow", help: "Workflow name or path.", optional: true)],
        options: [
            .init(name: "run", value: "id", help: "Show this run instead of the workflow's last one."),
            .init(name: "check", help: "For monitoring a scheduled workflow: exit 0 if its last due tick ran and succeeded, 1 if it failed, 3 if a due tick has had no successful run for over an interval; one line says which."),
            CommandSpec.json,
        ] + GlobalOptions.options)

    var global: GlobalOptions
    var workflow: String?
    var run: String?
    var json: Bool
    var check: Bool

    init(_ arguments: ParsedArguments) {
        global = GlobalOptions(arguments)
        workflow = arguments.argument("workflow")
        if let workflow { global = global.anchored(at: workflow) }
        run = arguments.value("run")
        json = arguments.flag("json")
        check = arguments.flag("check")
    }

    struct Document: Encodable {
        var version = JSONDocument.version
        var run: RunEntry
        var tasks: [TaskEntry]
    }

    struct RunEntry: Encodable {
        var id: Int64
        var workflow: String
        var status: String
        var startedAt: String
        var createdAt: Date
        var finishedAt: Date?
        var durationSeconds: Double?
        var resumes: Int
        var params: [String: String]
        /// `--only a --from b` for a run that ran a selection; absent for the whole workflow.
        var selection: String?
        /// A child run's parent, `RUN/TASK` (`uses: workflow`); the child runs this run's tasks started.
        var parent: String?
        var children: [HistoryCommand.ChildRun]?
        var error: String?
        var runnerGone: Bool?
    }

    struct TaskEntry: Encodable {
        var id: String
        var status: String
        var attempts: Int
        var durationSeconds: Double?
        var reason: String?
        var outputs: [String: String]
    }

    func run() async throws {
        try LogSetup.bootstrap(global.logLevel)
        let project = Project(options: global)
        if check { return try checkSchedule(project) }
        let id = try run.map { text throws(CommandFailure) in try RunIDArgument.parse(text) }
        var workflowName: String?
        var order: [TaskID] = []
        if let name = workflow {
            let wf = try project.load(try project.locate(name))
            workflowName = wf.name
            order = wf.tasks.map(\.id)
        } else if id == nil {
            throw CommandFailure(.usage, "flow: name a workflow or give --run ID")
        }
        guard let store = try project.existingStore() else {
            throw CommandFailure(.notFound, "flow: no runs yet (no state database at \(project.display(global.statePath)))")
        }
        let record: RunRecord
        do {
            if let id {
                guard let r = try store.run(id) else { throw CommandFailure(.notFound, "flow: no run \(id)") }
                record = r
            } else if let name = workflowName, let r = try store.latestRun(of: name) {
                record = r
            } else {
                throw CommandFailure(.notFound, "flow: workflow '\(workflowName ?? "?")' has not run yet; start it with: flow run \(workflow ?? "NAME")")
            }
            let states = try store.taskStates(of: record.id)
            // A foreach task the run expanded is shown as its instances, in its place.
            order = order.flatMap { id -> [TaskID] in
                guard states[id] == nil else { return [id] }
                let instances = id.instances(among: states.keys)
                return instances.isEmpty ? [id] : instances
            }
            if order.isEmpty { order = states.keys.sorted() }
            let listed = Set(order)
            for key in states.keys.sorted() where !listed.contains(key) { order.append(key) }
            try render(record, shown: ShownStatus(record, store: store), states: states, order: order,
                       children: try HistoryCommand.children(of: record.id, store: store))
        } catch let error as CommandFailure {
            throw error
        } catch {
            throw CommandFailure(.internalError, "flow: \(error)")
        }
    }

    /// `status --json`'s document for one run.
    static func document(_ record: RunRecord, shown: ShownStatus, states: [TaskID: TaskStateRecord], order: [TaskID],
                         children: [HistoryCommand.ChildRun]? = nil) -> Document {
        func duration(_ a: Date?, _ b: Date?) -> Double? {
            guard let a, let b else { return nil }
            return b.timeIntervalSince(a)
        }
        let run = RunEntry(id: record.id, workflow: record.workflow, status: shown.status.rawValue, startedAt: record.startedAt,
                           createdAt: record.createdAt, finishedAt: record.finishedAt,
                           durationSeconds: duration(record.createdAt, record.finishedAt), resumes: record.resumes,
                           params: record.params, selection: record.selection?.label, parent: record.parent?.description,
                           children: children, error: shown.note ?? record.error,
                           runnerGone: shown.runnerGone ? true : nil)
        let tasks = order.map { id -> TaskEntry in
            let s = states[id]
            return TaskEntry(id: id.rawValue, status: shown.task(s?.status).rawValue, attempts: s?.attempts ?? 0,
                             durationSeconds: duration(s?.startedAt, s?.finishedAt), reason: s?.reason, outputs: s?.outputs ?? [:])
        }
        return Document(run: run, tasks: tasks)
    }

    private func render(_ record: RunRecord, shown: ShownStatus, states: [TaskID: TaskStateRecord], order: [TaskID],
                        children: [HistoryCommand.ChildRun]?) throws(CommandFailure) {
        func duration(_ a: Date?, _ b: Date?) -> Double? {
            guard let a, let b else { return nil }
            return b.timeIntervalSince(a)
        }
        if json { return try JSONDocument.print(Self.document(record, shown: shown, states: states, order: order, children: children)) }
        let console = Console()
        var header = "run \(record.id) of '\(record.workflow)': \(console.paint(shown.status)), started \(ISOTime.format(record.createdAt))"
        if let d = duration(record.createdAt, record.finishedAt) { header += ", took \(DurationFormat.format(.milliseconds(Int64(d * 1000))))" }
        if record.resumes > 0 { header += ", resumed \(record.resumes) time\(record.resumes == 1 ? "" : "s")" }
        if let selection = record.selection { header += ", \(selection.label)" }
        if let parent = record.parent { header += ", child run of run \(parent.run) (task '\(parent.task)')" }
        Console.out(header)
        if let note = shown.note { Console.out("note: \(note)") }
        if let error = record.error { Console.out("error: \(error)") }
        var table = Table(header: ["TASK", "STATUS", "ATTEMPTS", "DURATION", "DETAIL"])
        for id in order {
            let s = states[id]
            var detail = s?.reason ?? ""
            if let outputs = s?.outputs, !outputs.isEmpty {
                let text = outputs.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value.count > 40 ? String($0.value.prefix(37)) + "..." : $0.value)" }
                    .joined(separator: " ").replacingOccurrences(of: "\n", with: "\\n")
                detail = detail.isEmpty ? text : detail + "; " + text
            }
            let d = duration(s?.startedAt, s?.finishedAt).map { DurationFormat.format(.milliseconds(Int64($0 * 1000))) } ?? "-"
            table.rows.append([id.rawValue, shown.task(s?.status).rawValue, String(s?.attempts ?? 0), d, detail])
        }
        Console.out(table.render())
        for child in children ?? [] {
            Console.out("child run: task '\(child.task)' → run \(child.run) of '\(child.workflow)' (\(child.status)): flow status --run \(child.run)")
        }
    }

    /// `--check`: one line and an exit code for a monitor (cron mail, Nagios, a health endpoint).
    private func checkSchedule(_ project: Project) throws {
        guard let name = workflow, run == nil, !json else {
            throw ParsedArguments.usage(Self.spec, "--check takes a workflow name, without --run or --json")
        }
        let wf = try project.load(try project.locate(name))
        let now = try RunSetup.clockSeconds()
        let health: ScheduleHealth?
        do {
            health = try ScheduleHealth(wf, store: try project.existingStore(), now: now)
        } catch let failure as CommandFailure {
            throw failure
        } catch {
            throw CommandFailure(.internalError, "flow: \(error)")
        }
        guard let health else {
            throw CommandFailure(.usage, "flow: workflow '\(wf.name)' has no schedule; --check watches scheduled workflows (see docs/scheduling.md)")
        }
        Console.out(health.message)
        switch health.verdict {
        case .ok: return
        case .failed: throw FlowExit.taskFailed
        case .stale: throw FlowExit.stale
        }
    }
}
