import CFlowSystem
import FlowCore
import Foundation
#if canImport(Glibc)
import Glibc
#endif

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

/// Starts a command with `flow_spawn` (glibc's posix_spawn) as the leader of a new process group: stdin from /dev/null, stdout and
/// stderr appended to its log file (no pipe to drain, so a background process that keeps them open cannot
/// hang the run), flow's environment with the command's variables on top.
enum ProcessSpawner {

    /// With a non-empty `masker` the output goes through a pipe and an `OutputPump` instead, returned with the pid.
    static func spawn(_ command: Command, inherited: InheritedEnvironment, masker: SecretMasker = .none) throws -> (Int32, OutputPump?) {
        let logFD = open(command.logPath, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
        guard logFD >= 0 else { throw ProcessError.cannotOpenLog(command.logPath, errno) }
        guard !masker.isEmpty else {
            defer { close(logFD) }
            return (try spawn(command, inherited: inherited, output: logFD), nil)
        }
        var ends: [Int32] = [-1, -1]
        guard flow_pipe(&ends) == 0 else {
            let code = errno
            close(logFD)
            throw ProcessError.spawnFailed(command.executable, code)
        }
        let pid: Int32
        do {
            pid = try spawn(command, inherited: inherited, output: ends[1])
        } catch {
            close(ends[0])
            close(ends[1])
            close(logFD)
            throw error
        }
        // The child holds the write end now: once it and its own children are gone, the pump reads the end.
        close(ends[1])
        return (pid, OutputPump(pipe: ends[0], log: logFD, masker: masker))
    }

    private static func spawn(_ command: Command, inherited: InheritedEnvironment, output logFD: Int32) throws -> Int32 {

        let argv = ([command.executable] + command.arguments).map { strdup($0) }
        defer { for p in argv { free(p) } }
        guard !argv.contains(nil) else { throw ProcessError.spawnFailed(command.executable, ENOMEM) }
        let environment = ProcessEnvironment(inherited: inherited, variables: command.environment)
        let searchPath: Int32 = command.executable.utf8.contains(UInt8(ascii: "/")) ? 0 : 1
        // A new process group, stdin from /dev/null, output to the log, the working directory, no other
        // descriptor, default signal dispositions and an empty mask (see flow_spawn in CFlowSystem).
        let pid = try environment.withEnvp(for: command.executable) { envp in
            flow_spawn(command.executable, argv + [nil], envp, logFD, command.workingDirectory, searchPath)
        }
        guard pid > 0 else { throw ProcessError.spawnFailed(command.executable, -pid) }
        return pid
    }
}

extension ProcessExit {
    /// Reaps `pid` (known to have exited, or about to) with `waitpid` and decodes its status; `.unknown` if it
    /// cannot be waited for (someone else reaped it).
    static func reap(_ pid: Int32) -> ProcessExit {
        var status: Int32 = 0
        while true {
            let r = waitpid(pid, &status, 0)
            if r == pid { break }
            if r == -1 && errno == EINTR { continue }
            return .unknown
        }
        let termSig = status & 0x7f
        return termSig == 0 ? ProcessExit(exitCode: (status >> 8) & 0xff, signal: nil) : ProcessExit(exitCode: nil, signal: termSig)
    }
}
