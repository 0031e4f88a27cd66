import FlowCore
import Foundation

/// A `CommandRunner` without processes, like ninja's `FakeCommandRunner`: each command behaves as its script
/// says (exit after a while, ignore SIGTERM, leave its group behind), and the runner records what started,
/// when, how many at once, and every signal. With a virtual clock time jumps to the next exit or deadline,
/// so a test of timeouts and backoffs takes no real time; use the real clock when in-process actions run too.
package final class FakeCommandRunner: CommandRunner, @unchecked Sendable {
    package enum Clock: Sendable { case virtual, real }

    /// How one started command behaves.
    package struct Behaviour: Sendable {
        /// When it exits by itself, after its start; nil: only a signal ends it.
        package var exitsAfter: Duration?
        package var exit: ProcessExit
        /// SIGTERM does not end it (SIGKILL does).
        package var ignoresTerm: Bool
        /// After its leader exits on SIGTERM, the rest of its group lives on until SIGKILL.
        package var groupLingers: Bool
        /// It cannot start: `start` throws this message.
        package var startFailure: String?

        package init(exitsAfter: Duration? = .zero, exit: ProcessExit = ProcessExit(exitCode: 0, signal: nil), ignoresTerm: Bool = false,
                     groupLingers: Bool = false, startFailure: String? = nil) {
            self.exitsAfter = exitsAfter
            self.exit = exit
            self.ignoresTerm = ignoresTerm
            self.groupLingers = groupLingers
            self.startFailure = startFailure
        }

        package static func exits(_ code: Int32, after: Duration = .zero) -> Behaviour {
            Behaviour(exitsAfter: after, exit: ProcessExit(exitCode: code, signal: nil))
        }
    }

    package struct Started: Sendable {
        package var command: Command
        package var pid: Int32
        /// Since the runner was made, on its clock.
        package var at: Duration
    }

    package struct Signal: Sendable, Hashable {
        package var pid: Int32
        package var signal: Int32
        package var at: Duration

        package init(pid: Int32, signal: Int32, at: Duration) {
            self.pid = pid
            self.signal = signal
            self.at = at
        }
    }

    private struct Process {
        var behaviour: Behaviour
        var exitAt: ContinuousClock.Instant?
        var exit: ProcessExit
        var exited = false
        var groupAlive = false
    }

    private let condition = NSCondition()
    private let clock: Clock
    private let origin: ContinuousClock.Instant
    private var virtualNow: ContinuousClock.Instant
    private var processes: [Int32: Process] = [:]
    private var nextPID: Int32 = 1000
    private var woken = false
    private let script: @Sendable (Command) -> Behaviour
    private var startedLog: [Started] = []
    private var signalLog: [Signal] = []
    private var running = 0
    private var mostAtOnce = 0
    private var released: [Int32] = []
    private var logs: [String: MemoryLog] = [:]

    package init(clock: Clock = .virtual, script: @escaping @Sendable (Command) -> Behaviour = { _ in .exits(0) }) {
        self.clock = clock
        self.script = script
        origin = .now
        virtualNow = origin
    }

    package var started: [Started] { locked { startedLog } }
    package var signals: [Signal] { locked { signalLog } }
    package var maxConcurrent: Int { locked { mostAtOnce } }
    package var releasedPIDs: [Int32] { locked { released } }
    /// The lines flow and in-process actions wrote to each attempt's log, by path.
    package func logLines(_ path: String) -> [String] { locked { logs[path]?.lines ?? [] } }

    package var now: ContinuousClock.Instant { locked { currentTime } }

    private var currentTime: ContinuousClock.Instant { clock == .virtual ? virtualNow : .now }

    package func start(_ command: Command) throws -> Int32 {
        let behaviour = script(command)
        return try locked {
            if let failure = behaviour.startFailure { throw TaskFailure(failure) }
            nextPID += 1
            let now = currentTime
            processes[nextPID] = Process(behaviour: behaviour, exitAt: behaviour.exitsAfter.map { now + $0 }, exit: behaviour.exit)
            startedLog.append(Started(command: command, pid: nextPID, at: now - origin))
            running += 1
            mostAtOnce = max(mostAtOnce, running)
            return nextPID
        }
    }

    package func wait(until deadline: ContinuousClock.Instant?) -> [CommandExit] {
        condition.lock()
        defer { condition.unlock() }
        while true {
            let now = currentTime
            let due = processes.filter { !$0.value.exited && ($0.value.exitAt.map { $0 <= now } ?? false) }
            if !due.isEmpty {
                return due.keys.sorted().map { pid in
                    processes[pid]?.exited = true
                    running -= 1
                    return CommandExit(pid: pid, exit: processes[pid]?.exit ?? .unknown)
                }
            }
            if woken {
                woken = false
                return []
            }
            if let deadline, deadline <= now { return [] }
            let nextExit = processes.values.filter { !$0.exited }.compactMap(\.exitAt).min()
            let target = [deadline, nextExit].compactMap { $0 }.min()
            switch clock {
            case .virtual:
                if let target {
                    virtualNow = max(virtualNow, target)
                } else {
                    condition.wait()
                }
            case .real:
                if let target {
                    let left = target - .now
                    let seconds = Double(left.components.seconds) + Double(left.components.attoseconds) / 1e18
                    _ = condition.wait(until: Date(timeIntervalSinceNow: max(seconds, 0)))
                } else {
                    condition.wait()
                }
            }
        }
    }

    package var wake: @Sendable () -> Void {
        { [self] in
            condition.lock()
            woken = true
            condition.signal()
            condition.unlock()
        }
    }

    package func signalGroup(_ pid: Int32, _ signal: Int32) {
        locked {
            let now = currentTime
            signalLog.append(Signal(pid: pid, signal: signal, at: now - origin))
            guard var process = processes[pid] else { return }
            if signal == SIGKILL {
                process.groupAlive = false
                if !process.exited { process.exitAt = now; process.exit = ProcessExit(exitCode: nil, signal: SIGKILL) }
            } else if signal == SIGTERM, !process.behaviour.ignoresTerm, !process.exited {
                process.exitAt = now
                process.exit = ProcessExit(exitCode: nil, signal: SIGTERM)
                process.groupAlive = process.behaviour.groupLingers
            }
            processes[pid] = process
        }
    }

    package func isGroupAlive(_ pid: Int32) -> Bool { locked { processes[pid]?.groupAlive ?? false } }

    package func release(_ pid: Int32, grace: Duration) { locked { released.append(pid) } }

    package func openLog(at path: String) throws -> any AttemptLog {
        locked {
            let log = logs[path] ?? MemoryLog(path: path)
            logs[path] = log
            return log
        }
    }

    package func finishLog(_ log: any AttemptLog) -> Bool { true }

    package func close() {}

    private func locked<T>(_ body: () throws -> T) rethrows -> T {
        condition.lock()
        defer { condition.unlock() }
        return try body()
    }
}

/// An attempt log kept in memory.
package final class MemoryLog: AttemptLog, @unchecked Sendable {
    package let path: String
    private let lock = NSLock()
    private var written: [String] = []

    package init(path: String = "/dev/null") {
        self.path = path
    }

    package var lines: [String] { lock.withLock { written } }

    package func write(_ line: String) {
        lock.withLock { written.append(line.hasSuffix("\n") ? String(line.dropLast()) : line) }
    }

    package func tail(_ count: Int, width: Int) -> [String] {
        MemoryLog.lastLines(of: lines.joined(separator: "\n"), count, width: width)
    }
}
