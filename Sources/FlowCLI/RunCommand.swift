import FlowCore
import Foundation

/// Options shared by `run` and `resume`.
struct ExecutionOptions {
    static let grace = CommandSpec.Option(name: "grace", value: "duration",
                                          help: "Time between SIGTERM and SIGKILL when stopping a task (default: 5s).")
    /// `--plain`, for every command that shows a run's progress.
    static let plain = CommandSpec.Option(name: "plain", help: "Plain timestamped lines, even on a terminal (no live region, no colour).")
    static let options: [CommandSpec.Option] = [
        .init(name: "max-parallel", value: "N", help: "Run at most N tasks at once (overrides max_parallel)."),
        .init(name: "keep-going", help: "After a failure, keep running every task that does not depend on it."),
        grace,
        plain,
    ]

    var maxParallel: Int?
    var keepGoing: Bool
    var grace: String
    var plain: Bool

    init(_ arguments: ParsedArguments) throws(CommandFailure) {
        maxParallel = try arguments.integer("max-parallel")
        keepGoing = arguments.flag("keep-going")
        grace = arguments.value("grace") ?? "5s"
        plain = arguments.flag("plain")
    }

    func validated() throws(CommandFailure) -> (maxParallel: Int?, grace: Duration) {
        Console.configureForRun(plain: plain)
        if let n = maxParallel, !(1...1024).contains(n) {
            throw CommandFailure(.usage, "flow: --max-parallel must be between 1 and 1024, not \(n)")
        }
        return (maxParallel, try Self.gracePeriod(grace))
    }

    /// `--grace`, for every command that stops tasks (run, resume, schedule tick, scheduler).
    static func gracePeriod(_ text: String) throws(CommandFailure) -> Duration {
        guard let grace = DurationFormat.parse(text) else {
            throw CommandFailure(.usage, "flow: --grace takes a duration such as 5s, not '\(text.prefix(20))'")
        }
        return grace
    }
}

struct RunCommand: Subcommand {
    static let spec = CommandSpec(
        name: "run", abstract: "Run a workflow, resuming its last run if that one failed or was interrupted.",
        arguments: [.init(name: "workflow", help: "Workflow name (file stem in the workflows folder) or path to a workflow file.")],
        options: [
            CommandSpec.param("Set a parameter."),
            .init(name: "fresh", help: "Start a new run even if the last one failed or was interrupted."),
        ] + SelectionOptions.options + ExecutionOptions.options + GlobalOptions.options)

    var global: GlobalOptions
    var execution: ExecutionOptions
    var workflow: String
    var param: [String]
    var fresh: Bool
    var only: [String]
    var from: [String]

    init(_ arguments: ParsedArguments) throws(CommandFailure) {
        global = GlobalOptions(arguments)
        execution = try ExecutionOptions(arguments)
        workflow = arguments.required("workflow")
        global = global.anchored(at: workflow)
        param = arguments.values("param")
        fresh = arguments.flag("fresh")
        only = arguments.values("only")
        from = arguments.values("from")
    }

    func run() async throws {
        try LogSetup.bootstrap(global.logLevel)
        let (maxParallel, grace) = try execution.validated()
        var coordinator = RunCoordinator(project: Project(options: global), maxParallel: maxParallel, keepGoing: execution.keepGoing,
                                         fresh: fresh, resume: nil, gracePeriod: grace)
        coordinator.selecting = (only, from)
        let exit = try await coordinator.run(workflowName: workflow, parameterValues: param)
        if exit != .success { throw exit }
    }
}

struct ResumeCommand: Subcommand {
    static let spec = CommandSpec(
        name: "resume", abstract: "Resume a failed or interrupted run by its id.",
        arguments: [.init(name: "run-id", help: "The run id (see 'flow history').")],
        options: [CommandSpec.param("Change a parameter for the resumed run.")]
            + ExecutionOptions.options + GlobalOptions.options)

    var global: GlobalOptions
    var execution: ExecutionOptions
    var runID: String
    var param: [String]

    init(_ arguments: ParsedArguments) throws(CommandFailure) {
        global = GlobalOptions(arguments)
        execution = try ExecutionOptions(arguments)
        runID = arguments.required("run-id")
        param = arguments.values("param")
    }

    func run() async throws {
        try LogSetup.bootstrap(global.logLevel)
        let (maxParallel, grace) = try execution.validated()
        let id = try RunIDArgument.parse(runID)
        let project = Project(options: global)
        guard let store = try project.existingStore(), let record = try? store.run(id) else {
            throw CommandFailure(.notFound, "flow: no run \(id)")
        }
        let path = FileManager.default.fileExists(atPath: record.workflowPath) ? record.workflowPath : record.workflow
        let coordinator = RunCoordinator(project: project, maxParallel: maxParallel, keepGoing: execution.keepGoing,
                                         fresh: false, resume: (store, record), gracePeriod: grace)
        let exit = try await coordinator.run(workflowName: path, parameterValues: param)
        if exit != .success { throw exit }
    }
}

/// Run ids are positive integers; anything else is a usage error, never a path or SQL.
enum RunIDArgument {
    static func parse(_ text: String) throws(CommandFailure) -> RunID {
        guard let id = RunID(text), id > 0 else {
            throw CommandFailure(.usage, "flow: '\(text.prefix(40))' is not a run id; run ids are positive numbers (see 'flow history NAME')")
        }
        return id
    }
}
