import ArgumentParser
import FlowCore
import Foundation

/// Options shared by `run` and `resume`.
struct ExecutionOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Run at most N tasks at once (overrides max_parallel).", valueName: "N"))
    var maxParallel: Int?

    @Flag(name: .long, help: "After a failure, keep running every task that does not depend on it.")
    var keepGoing = false

    @Option(name: .long, help: ArgumentHelp("Time between SIGTERM and SIGKILL when stopping a task.", valueName: "duration"))
    var grace: String = "5s"

    func validated() throws(CommandFailure) -> (maxParallel: Int?, grace: Duration) {
        if let n = maxParallel, !(1...1024).contains(n) {
            throw CommandFailure(.usage, "flow: --max-parallel must be between 1 and 1024, not \(n)")
        }
        guard let grace = DurationFormat.parse(grace) else {
            throw CommandFailure(.usage, "flow: --grace takes a duration such as 5s, not '\(grace.prefix(20))'")
        }
        return (maxParallel, grace)
    }
}

struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run a workflow, resuming its last run if that one failed or was interrupted.")

    @OptionGroup var global: GlobalOptions
    @OptionGroup var execution: ExecutionOptions

    @Argument(help: "Workflow name (file stem in the workflows folder) or path to a workflow file.")
    var workflow: String

    @Option(name: [.customShort("p"), .long], help: ArgumentHelp("Set a parameter (repeatable).", valueName: "name=value"))
    var param: [String] = []

    @Flag(name: .long, help: "Start a new run even if the last one failed or was interrupted.")
    var fresh = false

    func run() async throws {
        try LogSetup.bootstrap(global.logLevel)
        let (maxParallel, grace) = try execution.validated()
        let coordinator = RunCoordinator(project: Project(options: global), maxParallel: maxParallel, keepGoing: execution.keepGoing,
                                         fresh: fresh, resumeID: nil, gracePeriod: grace)
        let exit = try await coordinator.run(workflowName: workflow, parameterValues: param)
        if exit != .success { throw exit.code }
    }
}

struct ResumeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "resume",
        abstract: "Resume a failed or interrupted run by its id.")

    @OptionGroup var global: GlobalOptions
    @OptionGroup var execution: ExecutionOptions

    @Argument(help: "The run id (see 'flow history').")
    var runID: String

    @Option(name: [.customShort("p"), .long], help: ArgumentHelp("Change a parameter for the resumed run (repeatable).", valueName: "name=value"))
    var param: [String] = []

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
                                         fresh: false, resumeID: id, gracePeriod: grace)
        let exit = try await coordinator.run(workflowName: path, parameterValues: param)
        if exit != .success { throw exit.code }
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
