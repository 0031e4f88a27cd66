import Foundation

/// What a process action asks the command runner to start: one program, as the leader of a process group of
/// its own, with stdout and stderr appended to the attempt's log file.
package struct Command: Sendable, Hashable {
    package var executable: String
    package var arguments: [String]
    /// The attempt's own variables; they replace flow's inherited environment of the same name.
    package var environment: [String: String]
    package var workingDirectory: String
    package var logPath: String

    package init(executable: String, arguments: [String], environment: [String: String], workingDirectory: String,
                 logPath: String) {
        self.executable = executable
        self.arguments = arguments
        self.environment = environment
        self.workingDirectory = workingDirectory
        self.logPath = logPath
    }
}

/// How a process ended.
package struct ProcessExit: Sendable, Hashable {
    package var exitCode: Int32?
    package var signal: Int32?

    package init(exitCode: Int32?, signal: Int32?) {
        self.exitCode = exitCode
        self.signal = signal
    }

    /// Neither code nor signal: the process could not be waited for (someone else reaped it).
    package static let unknown = ProcessExit(exitCode: nil, signal: nil)

    /// A signal's conventional name, for messages.
    package static func signalName(_ signal: Int32) -> String {
        switch signal {
        case 15: return "SIGTERM"
        case 9: return "SIGKILL"
        case 2: return "SIGINT"
        case 1: return "SIGHUP"
        case 11: return "SIGSEGV"
        case 6: return "SIGABRT"
        case 13: return "SIGPIPE"
        case 3: return "SIGQUIT"
        default: return "signal \(signal)"
        }
    }
}

/// An action whose whole attempt is one child process (the `run:` key). The engine asks it for the command,
/// starts that through its `CommandRunner` — the same way for a first attempt, a retry and a resume — and
/// hands the exit back to the prepared attempt to turn into outputs.
package protocol ProcessAction: Action {
    /// Everything the attempt needs before its process starts. Throws (a `TaskFailure` when it can say why)
    /// when it cannot start; nothing is then left behind.
    func prepare(_ context: TaskContext) throws -> any PreparedCommand
}

/// One attempt of a process action between `prepare` and its end. Used by the engine's loop thread only.
package protocol PreparedCommand: AnyObject {
    var command: Command { get }
    /// How often the engine calls `poll()` while the process runs; nil for never.
    var pollInterval: Duration? { get }
    /// Picks up what the running process reported so far (in-task checkpoint values).
    func poll()
    /// Turns the leader's exit into the attempt's result, once the leader is reaped and the runner has dealt
    /// with what its group left running.
    func conclude(_ exit: ProcessExit) -> Result<[String: String], TaskFailure>
}

/// The leader of a started command that exited.
package struct CommandExit: Sendable, Hashable {
    package var pid: Int32
    package var exit: ProcessExit

    package init(pid: Int32, exit: ProcessExit) {
        self.pid = pid
        self.exit = exit
    }
}

/// Starts commands and reports their ends: the engine's only way to run a process, like ninja's
/// `CommandRunner`. One instance serves one run and is used from the engine's loop thread, except `wake`.
/// The real one (FlowProcess) spawns process groups and waits on pidfds; tests use a scripted fake.
package protocol CommandRunner: AnyObject {
    /// The clock of every deadline the engine keeps: timeouts, retry backoffs, kills after the grace period.
    var now: ContinuousClock.Instant { get }
    /// Starts `command` as the leader of a new process group and returns its pid. Throws when it cannot start;
    /// nothing is left running then.
    func start(_ command: Command) throws -> Int32
    /// Blocks until a started leader exits, `wake` is called, or `deadline` (nil: none) passes; returns the
    /// leaders reaped since the last call (possibly none).
    func wait(until deadline: ContinuousClock.Instant?) -> [CommandExit]
    /// Makes a blocked `wait` return, or the next one return at once; callable from any thread.
    var wake: @Sendable () -> Void { get }
    /// Sends `signal` to the process group that `pid` leads.
    func signalGroup(_ pid: Int32, _ signal: Int32)
    /// Whether any process of the group is still alive (zombies do not count).
    func isGroupAlive(_ pid: Int32) -> Bool
    /// The leader's end is being recorded: whatever its group, or a process that left the group, still runs
    /// is stopped (SIGTERM, SIGKILL after `grace`) without holding the caller up, and the group is forgotten.
    func release(_ pid: Int32, grace: Duration)
    /// The log file of an attempt at `path`.
    func openLog(at path: String) throws -> any AttemptLog
    /// Closes an attempt's log. Returns whether a file stays at its path: false when the attempt wrote nothing
    /// and the runner kept the empty file to reuse.
    func finishLog(_ log: any AttemptLog) -> Bool
    /// The run is over: frees what the runner kept.
    func close()
}
