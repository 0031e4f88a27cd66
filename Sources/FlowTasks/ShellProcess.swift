import FlowCore
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// One attempt of a `run:` script: its command, its `$FLOW_CHECKPOINT` follower and `$FLOW_OUTPUT` file.
final class ShellProcess: PreparedCommand {
    let command: Command
    let pollInterval: Duration?
    let follower: CheckpointFollower
    private let context: TaskContext
    private let outputPath: String
    private let checkpointPath: String
    private let limits: OutputLimits

    init(command: Command, context: TaskContext, outputPath: String, checkpointPath: String, pollInterval: Duration,
         limits: OutputLimits) {
        self.command = command
        self.pollInterval = pollInterval
        self.limits = limits
        self.context = context
        self.outputPath = outputPath
        self.checkpointPath = checkpointPath
        follower = CheckpointFollower(path: checkpointPath, context: context, limits: limits)
    }

    func poll() {
        try? follower.poll()
    }

    /// The attempt's result from the leader's exit: the last checkpoint lines are committed first, then the
    /// outputs are read; the scratch files go.
    func conclude(_ exit: ProcessExit) -> Result<[String: String], TaskFailure> {
        do {
            try follower.poll(final: true)
        } catch {
            unlink(checkpointPath)
            unlink(outputPath)
            return .failure(TaskFailure("cannot record checkpoint values: \(error)"))
        }
        if follower.seen { unlink(checkpointPath) }
        for problem in follower.problems {
            context.log.write("flow: ignored malformed line \(problem.line) in $FLOW_CHECKPOINT: \(problem.text.prefix(200))")
        }
        if let violation = follower.violation {
            unlink(outputPath)
            return .failure(TaskFailure("task '\(context.task)': \(violation); nothing past it was recorded. Keep large state in "
                                        + "a file of the task's own and checkpoint its path", retryable: false))
        }
        // Most tasks write no outputs: a missing file is the common case, not an error to build and throw.
        let outputBytes: [UInt8]?
        do {
            outputBytes = try ScratchFile.read(outputPath, limit: limits.outputFile)
        } catch let error as ScratchFile.TooLarge {
            unlink(outputPath)
            return .failure(TaskFailure("task '\(context.task)' wrote more than \(OutputLimits.size(error.limit)) to $FLOW_OUTPUT "
                                        + "(FLOW_MAX_OUTPUT_BYTES); write large results to a file and output its path", retryable: false))
        } catch {
            unlink(outputPath)
            return .failure(TaskFailure("cannot read $FLOW_OUTPUT: \(error)"))
        }
        if outputBytes != nil { unlink(outputPath) }
        let parsed = KeyValueParser.parse(String(decoding: outputBytes ?? [], as: UTF8.self))
        var outputs: [String: String] = [:]
        for (key, value) in parsed.values {
            guard value.utf8.count <= limits.outputValue else {
                return .failure(TaskFailure("output '\(key)' of task '\(context.task)' is \(value.utf8.count) bytes, over the limit of "
                                            + "\(OutputLimits.size(limits.outputValue)) (FLOW_MAX_OUTPUT_VALUE); write it to a file and "
                                            + "output its path", retryable: false))
            }
            outputs[key] = value
        }

        if let signal = exit.signal {
            return .failure(TaskFailure("killed by \(ProcessExit.signalName(signal))", signal: signal))
        }
        guard let code = exit.exitCode else { return .failure(TaskFailure("the process could not be waited for")) }
        guard code == 0 else {
            let hint = code == 127 ? " (command not found)" : code == 126 ? " (not executable)" : ""
            return .failure(TaskFailure("exited with status \(code)\(hint)", exitCode: code))
        }
        if let bad = parsed.errors.first {
            return .failure(TaskFailure("malformed line \(bad.line) in $FLOW_OUTPUT: '\(bad.text.prefix(80))'; write key=value or key<<EOF",
                                        retryable: false))
        }
        return .success(outputs)
    }
}
