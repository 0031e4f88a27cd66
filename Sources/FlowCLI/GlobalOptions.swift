import FlowCore
import FlowStore
import Foundation

/// Options every command takes: where workflows and state live.
struct GlobalOptions {
    static let options: [CommandSpec.Option] = [
        .init(name: "workflows", value: "dir", help: "Folder of workflow files (default: workflows)."),
        .init(name: "state", value: "path", help: "State database (default: .flow/state.db beside the workflows folder; env FLOW_STATE)."),
        .init(name: "log-level", value: "level",
              help: "Log level for flow's own messages on stderr: trace, debug, info, notice, warning, error (env FLOW_LOG_LEVEL)."),
    ]

    var workflows: String
    var state: String?
    var logLevel: String?
    /// Set when the project is where a workflow file given by path lives, not the current folder.
    private var anchoredProject: String?
    private var workflowsGiven: Bool

    /// For a server or a test: the same options as `--workflows` and `--state` give.
    init(workflows: String?, state: String?) {
        self.workflows = workflows ?? "workflows"
        workflowsGiven = workflows != nil
        self.state = state
        logLevel = nil
    }

    init(_ arguments: ParsedArguments) {
        workflows = arguments.value("workflows") ?? "workflows"
        workflowsGiven = arguments.value("workflows") != nil
        state = arguments.value("state")
        logLevel = arguments.value("log-level")
    }

    /// Whether a command's workflow argument names a file rather than a workflow in the workflows folder.
    static func isPath(_ workflow: String) -> Bool {
        workflow.contains("/") || workflow.hasSuffix(".yaml") || workflow.hasSuffix(".yml")
    }

    /// The options for a command about `workflow`: a workflow given by path has its project where its file is —
    /// the folder that holds its `workflows/` folder (or the file's own folder when that is not named
    /// `workflows`) — exactly as when it is named from inside that project, so a cron line needs no `cd` and
    /// `.flow/`, `data/` and every relative path resolve there. `--workflows` given explicitly wins.
    func anchored(at workflow: String) -> GlobalOptions {
        guard GlobalOptions.isPath(workflow), !workflowsGiven else { return self }
        var options = self
        let folder = FilePath.directory(of: FilePath.absolute(workflow))
        options.workflows = folder
        options.anchoredProject = FilePath.stem(folder) == "workflows"
            ? FilePath.directory(of: folder) : folder
        return options
    }

    /// The workflows folder as an absolute path.
    var workflowsDirectory: String {
        FilePath.absolute(workflows)
    }

    /// The folder that relative `working_directory` values and `.flow/` are relative to.
    var projectDirectory: String {
        anchoredProject ?? FilePath.directory(of: workflowsDirectory)
    }

    var statePath: String {
        if let state { return FilePath.absolute(state) }
        if let env = HostEnvironment.value("FLOW_STATE"), !env.isEmpty { return FilePath.absolute(env) }
        return projectDirectory + "/.flow/state.db"
    }

    /// Attempt logs, scratch files and locks live in the state database's own folder.
    var stateDirectory: String { StateStore.filesDirectory(of: statePath) }
}
