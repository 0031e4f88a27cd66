import FlowCore
import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The `run:` key: a shell command in its own process group, output to the attempt's log file. The engine
/// starts it through its command runner and polls its `$FLOW_CHECKPOINT` from its own loop.
package struct ShellAction: ProcessAction {
    /// How often `$FLOW_CHECKPOINT` is read and committed while the task runs.
    package let checkpointInterval: Duration
    private let limits: OutputLimits

    package init(checkpointInterval: Duration = .milliseconds(250)) {
        self.checkpointInterval = checkpointInterval
        self.limits = OutputLimits.fromEnvironment()
    }

    package var signature: ActionSignature {
        ActionSignature(name: "shell", summary: "runs a shell command (the 'run:' key)", inputs: [
            ActionInput("run", required: true, kind: .code(.environment), "the script"),
            ActionInput("shell", "'sh' (default) or 'bash'"),
        ])
    }

    package var version: String { "1" }

    package func prepare(_ context: TaskContext) throws -> any PreparedCommand {
        let script = try context.input("run")
        let shell = context.inputs["shell"] ?? "sh"
        // The files need not exist: `>> "$FLOW_OUTPUT"` creates them, and an absent file means no lines. No
        // earlier process can have left them: the engine clears the run's scratch folder when the run starts.
        let outputPath = context.scratchDirectory + ".output"
        let checkpointPath = context.scratchDirectory + ".checkpoint"
        var environment = ShellAction.environment(of: context, outputPath: outputPath)
        environment["FLOW_CHECKPOINT"] = checkpointPath
        for (key, value) in context.checkpoint { environment[ShellAction.checkpointVariable(key)] = value }

        let (executable, arguments): (String, [String]) = shell == "bash"
            ? ("bash", ["--noprofile", "--norc", "-eo", "pipefail", "-c", script])
            : ("/bin/sh", ["-e", "-c", script])
        var folder = stat()
        guard stat(context.workingDirectory, &folder) == 0 else {
            throw TaskFailure("working directory '\(context.workingDirectory)' does not exist", retryable: false)
        }
        let command = Command(executable: executable, arguments: arguments, environment: environment,
                              workingDirectory: context.workingDirectory, logPath: context.log.path)
        return ShellProcess(command: command, context: context, outputPath: outputPath, checkpointPath: checkpointPath,
                            pollInterval: checkpointInterval, limits: limits)
    }

    /// What every process a task starts is told of its attempt: the task's `env:`, then `FLOW_RUN_ID`,
    /// `FLOW_TASK`, `FLOW_ATTEMPT` and `FLOW_OUTPUT`.
    package static func environment(of context: TaskContext, outputPath: String) -> [String: String] {
        var environment = context.env
        environment["FLOW_RUN_ID"] = String(context.runID)
        environment["FLOW_TASK"] = context.task.rawValue
        environment["FLOW_ATTEMPT"] = String(context.attempt)
        environment["FLOW_OUTPUT"] = outputPath
        return environment
    }

    /// `FLOW_CHECKPOINT_<KEY>`: the key upper-cased, anything but letters and digits as '_'.
    package static func checkpointVariable(_ key: String) -> String {
        "FLOW_CHECKPOINT_" + String(key.uppercased().map { $0.isASCII && ($0.isLetter || $0.isNumber) ? $0 : "_" })
    }
}

/// Reads new lines of `$FLOW_CHECKPOINT` and commits them through the task context.
final class CheckpointFollower: Sendable {
    private let path: String
    private let context: TaskContext
    private let limits: OutputLimits
    private struct State {
        var offset: UInt64 = 0
        var parser = KeyValueParser()
        var closed = false
        /// Whether the file ever existed, so that a task that never wrote it costs no unlink.
        var seen = false
        /// The task's whole checkpoint as committed (what the next attempt gets as environment variables).
        var committed: [String: String] = [:]
        /// Set when the task wrote past a limit; nothing is committed after it.
        var violation: String?
    }
    /// Polled from the engine's loop thread; locked so the follower stays safe to share with the context.
    private let state = Mutex(State())

    init(path: String, context: TaskContext, limits: OutputLimits) {
        self.path = path
        self.context = context
        self.limits = limits
        state.withLock { $0.committed = context.checkpoint }
    }

    var problems: [KeyValueParser.Malformed] { state.withLock { $0.parser.errors } }
    var seen: Bool { state.withLock { $0.seen } }
    var violation: String? { state.withLock { $0.violation } }

    func poll(final: Bool = false) throws {
        try state.withLock { s in
            // After the final read nothing may be committed: the attempt's end is about to be recorded.
            guard !s.closed else { return }
            if final { s.closed = true }
            let data: [UInt8]
            do {
                guard let read = try ScratchFile.read(path, from: s.offset, limit: limits.checkpointTotal * 4) else { return }
                data = read
            } catch is ScratchFile.TooLarge {
                s.violation = "more than \(OutputLimits.size(limits.checkpointTotal * 4)) written to $FLOW_CHECKPOINT at once"
                s.closed = true
                return
            }
            s.seen = true
            s.offset += UInt64(data.count)
            var entries = s.parser.feed(data)
            if final { entries += s.parser.finish() }
            guard !entries.isEmpty else { return }
            var values: [String: String] = [:]
            for (key, value) in entries { values[key] = value }
            // Bounded when committed, so a stored checkpoint always fits the next attempt's environment.
            var merged = s.committed
            for (key, value) in values { merged[key] = value }
            if let (key, value) = values.first(where: { $0.value.utf8.count > limits.checkpointValue }) {
                s.violation = "checkpoint value '\(key)' is \(value.utf8.count) bytes, over the limit of "
                    + "\(OutputLimits.size(limits.checkpointValue)) (FLOW_MAX_CHECKPOINT_VALUE)"
            } else if merged.count > limits.checkpointKeys {
                s.violation = "the checkpoint has \(merged.count) keys, over the limit of \(limits.checkpointKeys) (FLOW_MAX_CHECKPOINT_KEYS)"
            } else if merged.reduce(0, { $0 + $1.key.utf8.count + $1.value.utf8.count }) > limits.checkpointTotal {
                s.violation = "the checkpoint is over \(OutputLimits.size(limits.checkpointTotal)) in all (FLOW_MAX_CHECKPOINT_BYTES)"
            }
            if s.violation != nil {
                s.closed = true
                return
            }
            try context.saveCheckpoint(values)
            s.committed = merged
        }
    }
}
