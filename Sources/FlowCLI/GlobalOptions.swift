import FlowCore
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

    init(_ arguments: ParsedArguments) {
        workflows = arguments.value("workflows") ?? "workflows"
        state = arguments.value("state")
        logLevel = arguments.value("log-level")
    }

    /// The workflows folder as an absolute path.
    var workflowsDirectory: String {
        FilePath.absolute(workflows)
    }

    /// The folder that relative `working_directory` values and `.flow/` are relative to.
    var projectDirectory: String {
        (workflowsDirectory as NSString).deletingLastPathComponent
    }

    var statePath: String {
        if let state { return FilePath.absolute(state) }
        if let env = HostEnvironment.value("FLOW_STATE"), !env.isEmpty { return FilePath.absolute(env) }
        return projectDirectory + "/.flow/state.db"
    }

    /// Attempt logs and scratch files live beside the state database.
    var stateDirectory: String { (statePath as NSString).deletingLastPathComponent }
}
