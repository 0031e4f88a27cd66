import FlowCore
import FlowProcess
import FlowStore
import FlowTasks
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// `uses: workflow`: another workflow of the project as a child run — `flow run CHILD` in a process group of
/// its own, so it is stopped, timed out and retried like any task — linked to this task's run in the state
/// database. The child keeps its own checkpoints: a retry or a resumed parent resumes the child's run. Its
/// tasks' outputs become this task's, as `TASK.KEY`.
struct WorkflowAction: ProcessAction {
    /// Child runs inside child runs stop here: a workflow that reaches this depth is refused.
    static let maxDepth = 8
    /// What `FLOW_PARENT` and `FLOW_CHILD_PARAMS` tell a `flow run` started by this action.
    static let parentVariable = "FLOW_PARENT"
    static let paramsVariable = "FLOW_CHILD_PARAMS"
    static let depthVariable = "FLOW_DEPTH"
    /// The input flow adds when it loads the workflow: the child's definition, for the fingerprint.
    static let digestInput = "workflow_digest"

    let workflowsDirectory: String
    let statePath: String

    var signature: ActionSignature {
        ActionSignature(name: "workflow", summary: "runs another workflow of the project as a child run of this one", inputs: [
            ActionInput("workflow", required: true, "the workflow's name (its file in the workflows folder), written out"),
            ActionInput("params", kind: .bindings, "its params, as a mapping: { NAME: VALUE }"),
        ], outputs: ["run_id", "status", "*"])
    }

    var version: String { "1" }

    func prepare(_ context: TaskContext) throws -> any PreparedCommand {
        let child = try context.input("workflow")
        let depth = (Int(context.inherited[Self.depthVariable] ?? "") ?? 0) + 1
        guard depth <= Self.maxDepth else {
            throw TaskFailure("workflow '\(child)' would be a child run \(depth) levels deep (at most \(Self.maxDepth))", retryable: false)
        }
        var params: [String: JSONWriter.Item] = [:]
        for (key, value) in context.inputs where key.hasPrefix("params.") { params[String(key.dropFirst(7))] = .string(value) }
        let outputPath = context.scratchDirectory + ".output"
        var environment = ShellAction.environment(of: context, outputPath: outputPath)
        environment[Self.parentVariable] = ParentLink(run: context.runID, task: context.task).description
        // Params go through the environment, which only this user can read, never the command line.
        environment[Self.paramsVariable] = JSONWriter.object(params)
        environment[Self.depthVariable] = String(depth)
        let command = Command(executable: ProcessTable.executablePath(),
                              arguments: ["run", child, "--plain", "--workflows", workflowsDirectory, "--state", statePath],
                              environment: environment, workingDirectory: context.workingDirectory, logPath: context.log.path)
        return WorkflowProcess(command: command, child: child, outputPath: outputPath, statePath: statePath)
    }
}

/// One attempt of a `uses: workflow` task: the child `flow run`, and reading what its run left.
final class WorkflowProcess: PreparedCommand {
    let command: Command
    let pollInterval: Duration? = nil
    private let child: String
    private let outputPath: String
    private let statePath: String

    init(command: Command, child: String, outputPath: String, statePath: String) {
        self.command = command
        self.child = child
        self.outputPath = outputPath
        self.statePath = statePath
    }

    func poll() {}

    func conclude(_ exit: ProcessExit) -> Result<[String: String], TaskFailure> {
        // The child writes `run_id=N` here as soon as its run exists.
        var runID: RunID?
        if let bytes = try? ScratchFile.read(outputPath, limit: 4096) {
            for line in String(decoding: bytes, as: UTF8.self).split(separator: "\n") where line.hasPrefix("run_id=") {
                runID = RunID(line.dropFirst(7))
            }
        }
        unlink(outputPath)
        let which = runID.map { "workflow '\(child)' (run \($0))" } ?? "workflow '\(child)'"
        if let signal = exit.signal {
            return .failure(TaskFailure("\(which) was killed by \(ProcessExit.signalName(signal))", signal: signal))
        }
        switch exit.exitCode {
        case 0?:
            break
        case 1?:
            return .failure(TaskFailure("\(which) failed; its run's summary is at the end of this task's log", exitCode: 1))
        case 130?:
            return .failure(TaskFailure("\(which) was interrupted", exitCode: 130))
        case 69?:
            return .failure(TaskFailure("\(which) is already running elsewhere", exitCode: 69))
        case let code?:
            return .failure(TaskFailure("\(which) could not run (flow exited with status \(code)); see this task's log",
                                        retryable: false, exitCode: code))
        case nil:
            return .failure(TaskFailure("the child flow could not be waited for"))
        }
        guard let runID else { return .failure(TaskFailure("\(which) ended without naming its run", retryable: false)) }
        do {
            let store = try StateStore(path: statePath)
            var outputs: [String: String] = ["run_id": String(runID), "status": try store.run(runID)?.status.rawValue ?? "?"]
            for (task, state) in try store.taskStates(of: runID) where state.status == .succeeded {
                for (key, value) in state.outputs { outputs["\(task).\(key)"] = value }
            }
            return .success(outputs)
        } catch {
            return .failure(TaskFailure("cannot read the outputs of \(which): \(error)"))
        }
    }
}

/// The child's side of `uses: workflow`: how a `flow run` knows it is a child run, and tells its parent.
enum ChildRun {
    /// Variables a `uses: workflow` task sets for the `flow run` it starts, and only for it.
    static let variables: Set<String> = [WorkflowAction.parentVariable, WorkflowAction.paramsVariable, "FLOW_OUTPUT",
                                         "FLOW_CHECKPOINT", "FLOW_TASK", "FLOW_ATTEMPT", "FLOW_RUN_ID"]

    static func parentLink() throws(CommandFailure) -> ParentLink? {
        guard let text = HostEnvironment.value(WorkflowAction.parentVariable), !text.isEmpty else { return nil }
        guard let link = ParentLink(text) else {
            throw CommandFailure(.usage, "flow: \(WorkflowAction.parentVariable)='\(text.prefix(60))' is not RUN/TASK (only a 'uses: workflow' task sets it)")
        }
        return link
    }

    /// `FLOW_CHILD_PARAMS`, a JSON object of strings, as `-p` values.
    static func params() throws(CommandFailure) -> [String] {
        let text = HostEnvironment.value(WorkflowAction.paramsVariable) ?? "{}"
        guard let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: String] else {
            throw CommandFailure(.usage, "flow: \(WorkflowAction.paramsVariable) is not a JSON object of strings")
        }
        return object.keys.sorted().map { "\($0)=\(object[$0] ?? "")" }
    }

    /// The parent task learns the child's run id at once, so even a failure names it.
    static func tellParent(_ runID: RunID) {
        guard let path = HostEnvironment.value("FLOW_OUTPUT"), !path.isEmpty else { return }
        let fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { return }
        FileOutput.writeAll("run_id=\(runID)\n", to: fd)
        close(fd)
    }

}
