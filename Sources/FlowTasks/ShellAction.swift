import FlowCore
import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The `run:` key: a shell command in its own process group, output to the attempt's log file.
package struct ShellAction: Action {
    package let groups: ProcessGroups
    /// How often `$FLOW_CHECKPOINT` is read and committed while the task runs.
    package var checkpointInterval: Duration { poller.interval }
    /// One poller for every running task of this action, rather than a sleeping task per task.
    private let poller: CheckpointPoller

    /// flow's own environment, read once: every task inherits it.
    private let inherited: [String: String]

    package init(groups: ProcessGroups, checkpointInterval: Duration = .milliseconds(250)) {
        self.groups = groups
        self.poller = CheckpointPoller(interval: checkpointInterval)
        self.inherited = ProcessInfo.processInfo.environment
    }

    package var signature: ActionSignature {
        ActionSignature(name: "shell", summary: "runs a shell command (the 'run:' key)", inputs: [
            ActionInput("run", required: true, "the script"),
            ActionInput("shell", "'sh' (default) or 'bash'"),
        ])
    }

    package var version: String { "1" }

    package func run(_ context: TaskContext) async throws -> [String: String] {
        let script = try context.input("run")
        let shell = context.inputs["shell"] ?? "sh"
        // The files need not exist: `>> "$FLOW_OUTPUT"` creates them, and an absent file means no lines.
        let outputPath = context.scratchDirectory + ".output"
        let checkpointPath = context.scratchDirectory + ".checkpoint"
        unlink(outputPath)
        unlink(checkpointPath)
        defer {
            unlink(outputPath)
            unlink(checkpointPath)
        }
        var environment = inherited
        for (key, value) in context.env { environment[key] = value }
        environment["FLOW_RUN_ID"] = String(context.runID)
        environment["FLOW_TASK"] = context.task.rawValue
        environment["FLOW_ATTEMPT"] = String(context.attempt)
        environment["FLOW_OUTPUT"] = outputPath
        environment["FLOW_CHECKPOINT"] = checkpointPath
        for (key, value) in context.checkpoint { environment[ShellAction.checkpointVariable(key)] = value }

        let (executable, arguments): (String, [String]) = shell == "bash"
            ? ("bash", ["--noprofile", "--norc", "-eo", "pipefail", "-c", script])
            : ("/bin/sh", ["-e", "-c", script])
        let spec = ProcessSpec(executable: executable, arguments: arguments, environment: environment,
                               workingDirectory: context.workingDirectory, outputPath: context.log.path)
        guard FileManager.default.fileExists(atPath: context.workingDirectory) else {
            throw TaskFailure("working directory '\(context.workingDirectory)' does not exist", retryable: false)
        }

        let follower = CheckpointFollower(path: checkpointPath, context: context)
        let registration = poller.register(follower)
        let exit: ProcessExit
        do {
            exit = try await ProcessRunner.run(spec, groups: groups, grace: context.gracePeriod, onStart: context.processStarted)
        } catch {
            poller.unregister(registration)
            throw error
        }
        poller.unregister(registration)
        try await follower.poll(final: true)
        for problem in await follower.problems {
            context.log.write("flow: ignored malformed line \(problem.line) in $FLOW_CHECKPOINT: \(problem.text)")
        }

        // Most tasks write no outputs: a missing file is the common case, not an error to build and throw.
        let outputText = FileManager.default.contents(atPath: outputPath).map { String(decoding: $0, as: UTF8.self) } ?? ""
        let parsed = KeyValueParser.parse(outputText)
        var outputs: [String: String] = [:]
        for (key, value) in parsed.values { outputs[key] = value }

        if let signal = exit.signal {
            throw TaskFailure("killed by \(ProcessRunner.signalName(signal))", signal: signal)
        }
        guard let code = exit.exitCode else { throw TaskFailure("the process could not be waited for") }
        guard code == 0 else {
            let hint = code == 127 ? " (command not found)" : code == 126 ? " (not executable)" : ""
            throw TaskFailure("exited with status \(code)\(hint)", exitCode: code)
        }
        if let bad = parsed.errors.first {
            throw TaskFailure("malformed line \(bad.line) in $FLOW_OUTPUT: '\(bad.text.prefix(80))'; write key=value or key<<EOF",
                              retryable: false)
        }
        return outputs
    }

    /// `FLOW_CHECKPOINT_<KEY>`: the key upper-cased, anything but letters and digits as '_'.
    package static func checkpointVariable(_ key: String) -> String {
        "FLOW_CHECKPOINT_" + String(key.uppercased().map { $0.isASCII && ($0.isLetter || $0.isNumber) ? $0 : "_" })
    }
}

/// Reads new lines of `$FLOW_CHECKPOINT` and commits them through the task context.
actor CheckpointFollower {
    private let path: String
    private let context: TaskContext
    private var offset: UInt64 = 0
    private var parser = KeyValueParser()
    private var closed = false
    var problems: [KeyValueParser.Malformed] { parser.errors }

    init(path: String, context: TaskContext) {
        self.path = path
        self.context = context
    }

    func poll(final: Bool = false) async throws {
        // After the final read nothing may be committed: the attempt's end is about to be recorded.
        guard !closed else { return }
        if final { closed = true }
        guard let handle = FileHandle(forReadingAtPath: path) else { return }
        defer { try? handle.close() }
        try handle.seek(toOffset: offset)
        let data = try handle.readToEnd() ?? Data()
        offset += UInt64(data.count)
        var entries = parser.feed([UInt8](data))
        if final { entries += parser.finish() }
        guard !entries.isEmpty else { return }
        var values: [String: String] = [:]
        for (key, value) in entries { values[key] = value }
        try await context.saveCheckpoint(values)
    }
}

/// Reads the `$FLOW_CHECKPOINT` files of all running tasks every `interval`, on one task that exists only
/// while some task runs.
final class CheckpointPoller: Sendable {
    let interval: Duration
    private struct State {
        var followers: [UInt64: CheckpointFollower] = [:]
        var next: UInt64 = 0
        var polling = false
    }
    private let state = Mutex(State())

    init(interval: Duration) {
        self.interval = interval
    }

    func register(_ follower: CheckpointFollower) -> UInt64 {
        let (id, start) = state.withLock { s in
            let id = s.next
            s.next += 1
            s.followers[id] = follower
            defer { s.polling = true }
            return (id, !s.polling)
        }
        if start { Task.detached { await self.poll() } }
        return id
    }

    func unregister(_ id: UInt64) {
        _ = state.withLock { $0.followers.removeValue(forKey: id) }
    }

    private func poll() async {
        while true {
            try? await Task.sleep(for: interval)
            let followers: [CheckpointFollower]? = state.withLock { s in
                if s.followers.isEmpty {
                    s.polling = false
                    return nil
                }
                return Array(s.followers.values)
            }
            guard let followers else { return }
            for follower in followers { try? await follower.poll() }
        }
    }
}
