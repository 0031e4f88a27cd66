import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// How a process ended.
package struct ProcessExit: Sendable, Hashable {
    package var exitCode: Int32?
    package var signal: Int32?

    package init(exitCode: Int32?, signal: Int32?) {
        self.exitCode = exitCode
        self.signal = signal
    }

    /// Reaps `pid` (known to have exited, or about to) with `waitpid` and decodes its status; neither code nor
    /// signal if it cannot be waited for (someone else reaped it).
    package static func reap(_ pid: Int32) -> ProcessExit {
        var status: Int32 = 0
        while true {
            let r = waitpid(pid, &status, 0)
            if r == pid { break }
            if r == -1 && errno == EINTR { continue }
            return ProcessExit(exitCode: nil, signal: nil)
        }
        let termSig = status & 0x7f
        return termSig == 0 ? ProcessExit(exitCode: (status >> 8) & 0xff, signal: nil) : ProcessExit(exitCode: nil, signal: termSig)
    }

    /// Where pidfds are unavailable: a thread of its own blocks in `waitpid` for `pid`, then hands the exit to
    /// `done`, so no concurrency or loop thread ever blocks on a child.
    package static func reapOnOwnThread(_ pid: Int32, then done: @escaping @Sendable (ProcessExit) -> Void) {
        let thread = Thread { done(reap(pid)) }
        thread.stackSize = 64 * 1024
        thread.start()
    }
}

/// An action whose whole attempt is one child process in a process group of its own (the `run:` key).
///
/// The engine starts such an action and waits for its process on the run's own loop thread, which also
/// commits the attempt's end and starts what it releases: no thread hand-off lies between one task's exit
/// and the next task's spawn, which was most of flow's cost for a short task (docs/PERFORMANCE.md).
/// `run(_:)` stays the way to run the action anywhere else, and the engine's way for retries.
package protocol ProcessAction: Action {
    /// Starts the attempt's process and returns at once. Throws (a `TaskFailure` when it can say why) when
    /// the process cannot start; nothing is then left running.
    func start(_ context: TaskContext) throws -> any StartedProcess
}

/// A process a `ProcessAction` started. Used from one thread at a time: the engine's loop.
package protocol StartedProcess: AnyObject {
    /// The process, and the leader of its process group.
    var pid: Int32 { get }
    /// How often the engine calls `pollCheckpoint()` while the process runs.
    var checkpointInterval: Duration { get }
    /// Reads and commits whatever in-task checkpoint values the process wrote since the last call.
    func pollCheckpoint()
    /// Sends `signal` to the whole process group.
    func signalGroup(_ signal: Int32)
    /// Whether any process of the group is still alive (zombies do not count).
    var isGroupAlive: Bool { get }
    /// Ends the attempt once the leader has been reaped: reads its last checkpoint values and outputs, stops
    /// whatever the group left running, and turns the exit into the attempt's result.
    func finish(_ exit: ProcessExit) -> Result<[String: String], TaskFailure>
}
