import CFlowSystem
import FlowCore
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// What to start: a program, its arguments and environment, where, and the file its output goes to.
package struct ProcessSpec: Sendable {
    package var executable: String
    package var arguments: [String]
    package var environment: ProcessEnvironment
    package var workingDirectory: String
    /// stdout and stderr are appended here directly, so there is no pipe to drain and a background
    /// process that keeps them open cannot hang the run.
    package var outputPath: String

    package init(executable: String, arguments: [String], environment: ProcessEnvironment, workingDirectory: String,
                 outputPath: String) {
        self.executable = executable
        self.arguments = arguments
        self.environment = environment
        self.workingDirectory = workingDirectory
        self.outputPath = outputPath
    }
}

package enum ProcessError: Error, CustomStringConvertible {
    case spawnFailed(String, Int32)
    case cannotOpenLog(String, Int32)

    package var description: String {
        switch self {
        case .spawnFailed(let program, let code): return "cannot start '\(program)': \(String(cString: strerror(code)))"
        case .cannotOpenLog(let path, let code): return "cannot open log file '\(path)': \(String(cString: strerror(code)))"
        }
    }
}

/// Starts processes with `posix_spawn` in their own process group and waits for them.
package enum ProcessRunner {
    /// Runs a process to its end. Cancelling the calling task sends SIGTERM to the whole group and
    /// SIGKILL after `grace`. Whatever the group leaves running after the leader exits is terminated too.
    package static func run(_ spec: ProcessSpec, groups: ProcessGroups, grace: Duration,
                            onStart: @Sendable (Int32) -> Void = { _ in }) async throws -> ProcessExit {
        let pid = try start(spec, groups: groups, onStart: onStart)
        return await wait(for: pid, groups: groups, grace: grace)
    }

    /// Spawns the process and registers its group, so a second Ctrl-C reaches it.
    static func start(_ spec: ProcessSpec, groups: ProcessGroups, onStart: (Int32) -> Void) throws -> Int32 {
        let pid = try groups.registering(tag: ProcessGroups.tag(of: spec.environment.variables)) { try spawn(spec) }
        CrashPoint.hit("after-spawn")
        onStart(pid)
        return pid
    }

    /// Waits for a started process to end (see `run`), then lets go of its group.
    static func wait(for pid: Int32, groups: ProcessGroups, grace: Duration) async -> ProcessExit {
        let exit = await withTaskCancellationHandler {
            await wait(for: pid)
        } onCancel: {
            Task.detached { await ProcessGroups.terminate(pid, grace: grace) }
        }
        if Task.isCancelled, ProcessGroups.isAlive(pid) { await ProcessGroups.terminate(pid, grace: grace) }
        release(pid, groups: groups, grace: grace)
        return exit
    }

    /// After the leader is reaped: background processes of a finished task do not outlive it, even if they
    /// ignore SIGTERM; the group is forgotten.
    static func release(_ pid: Int32, groups: ProcessGroups, grace: Duration) {
        if ProcessGroups.isAlive(pid) { groups.stopLeftovers(pid, grace: grace) }
        groups.stopEscapees(of: pid, grace: grace)
        groups.remove(pid)
    }

    static func spawn(_ spec: ProcessSpec) throws -> Int32 {
        let logFD = open(spec.outputPath, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
        guard logFD >= 0 else { throw ProcessError.cannotOpenLog(spec.outputPath, errno) }
        defer { close(logFD) }

        let argv = ([spec.executable] + spec.arguments).map { strdup($0) }
        defer { for p in argv { free(p) } }
        guard !argv.contains(nil) else { throw ProcessError.spawnFailed(spec.executable, ENOMEM) }
        // A new process group, stdin from /dev/null, output to the log, the working directory, no other
        // descriptor, default signal dispositions and an empty mask (see flow_spawn in CFlowSystem).
        let pid = try spec.environment.withEnvp(for: spec.executable) { envp in
            flow_spawn(spec.executable, argv + [nil], envp, logFD, spec.workingDirectory, spec.executable.utf8.contains(UInt8(ascii: "/")) ? 0 : 1)
        }
        guard pid > 0 else { throw ProcessError.spawnFailed(spec.executable, -pid) }
        return pid
    }

    /// Waits for `pid` through the shared reaper; where pidfds are unavailable, on a thread of its own, so a
    /// blocking `waitpid` never holds a concurrency thread.
    private static func wait(for pid: Int32) async -> ProcessExit {
        if let reaper = ProcessReaper.shared, let exit = await reaper.wait(for: pid) { return exit }
        return await withCheckedContinuation { (continuation: CheckedContinuation<ProcessExit, Never>) in
            ProcessExit.reapOnOwnThread(pid) { continuation.resume(returning: $0) }
        }
    }

    /// A signal's conventional name, for messages.
    package static func signalName(_ signal: Int32) -> String {
        switch signal {
        case SIGTERM: return "SIGTERM"
        case SIGKILL: return "SIGKILL"
        case SIGINT: return "SIGINT"
        case SIGHUP: return "SIGHUP"
        case SIGSEGV: return "SIGSEGV"
        case SIGABRT: return "SIGABRT"
        case SIGPIPE: return "SIGPIPE"
        case SIGQUIT: return "SIGQUIT"
        default: return "signal \(signal)"
        }
    }
}
