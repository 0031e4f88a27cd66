import CFlowSystem
import FlowCore
import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The real `CommandRunner`: spawns each command as the leader of a new process group, and waits for any of
/// them in one epoll set holding a pidfd per leader and an eventfd that `wake` writes. A run has one, used on
/// its loop thread; create it on that thread (see `init`).
///
/// Fallbacks, each reachable by `Features` in tests: without pidfds (Linux before 5.3) a thread of its own
/// reaps each child and posts its exit; without epoll (or once `epoll_wait` fails) the runner polls every
/// child with `waitid(WNOWAIT)` every few milliseconds.
package final class ProcessCommandRunner: CommandRunner {
    /// What the kernel offers; turned off in tests to reach the fallbacks.
    package struct Features: Sendable {
        package var pidfd: Bool
        package var epoll: Bool
        /// For tests: `epoll_wait` fails (EBADF) after this many calls, as a broken epoll set would.
        package var epollFailsAfter: Int?

        package init(pidfd: Bool = true, epoll: Bool = true, epollFailsAfter: Int? = nil) {
            self.pidfd = pidfd
            self.epoll = epoll
            self.epollFailsAfter = epollFailsAfter
        }
    }

    /// Owns the eventfd, closed only when nothing can call `wake` any more: a late wake-up must never write to
    /// a descriptor number reused since.
    private final class Waker: Sendable {
        let fd: Int32
        let woken = Mutex(false)

        init() { fd = flow_eventfd() }

        func wake() {
            woken.withLock { $0 = true }
            var one: UInt64 = 1
            if fd >= 0 { _ = Glibc.write(fd, &one, 8) }
        }

        /// Whether `wake` was called since the last call.
        func take() -> Bool {
            var count: UInt64 = 0
            if fd >= 0 { _ = Glibc.read(fd, &count, 8) }
            return woken.withLock { w in defer { w = false }; return w }
        }

        deinit { if fd >= 0 { Glibc.close(fd) } }
    }

    package let groups: ProcessGroups
    private let features: Features
    private let inherited: InheritedEnvironment
    private let masker: SecretMasker
    /// The pumps of started commands whose output is masked, by leader pid.
    private var pumps: [Int32: OutputPump] = [:]
    private let logFolder: String
    private let waker = Waker()
    private var epoll: Int32 = -1
    /// Leaders watched through a pidfd in the epoll set, by pidfd.
    private var watched: [Int32: Int32] = [:]
    /// Leaders watched by polling.
    private var polled: Set<Int32> = []
    /// Exits reaped by a thread of their own (no pidfd), waiting to be returned.
    private final class Reaped: Sendable {
        let exits = Mutex<[CommandExit]>([])

        func add(_ exit: CommandExit) { exits.withLock { $0.append(exit) } }

        func take() -> [CommandExit] { exits.withLock { e in defer { e.removeAll() }; return e } }
    }
    private let reapedElsewhere = Reaped()
    private var polling: Bool
    private var epollWaits = 0
    private var spareLogs: [LogRecycler] = []
    private var recyclers = 0

    package var wake: @Sendable () -> Void { { [waker] in waker.wake() } }

    /// `logFolder` holds the run's logs and the spare empty logs kept for reuse. Create the runner on the thread
    /// that calls `start`: it unblocks SIGCHLD there (see below).
    /// With a non-empty `masker`, every command's output reaches its log through it (see `OutputPump`).
    package init(groups: ProcessGroups, logFolder: String, inherited: InheritedEnvironment, masker: SecretMasker = .none,
                 features: Features = Features()) {
        self.groups = groups
        self.masker = masker
        self.features = features
        self.inherited = inherited
        self.logFolder = logFolder
        polling = !features.epoll
        if !polling {
            epoll = flow_epoll_create()
            if epoll < 0 || waker.fd < 0 || flow_epoll_add(epoll, waker.fd) != 0 { polling = true }
        }
        // The kernel drops a child's SIGCHLD (default action: ignore) only if the thread that started the child
        // does not block it. Swift's threads block it, so it stayed pending for the process and woke the main
        // thread, which libdispatch parks in sigsuspend with nothing blocked, once per task.
        var sigchld = sigset_t()
        sigemptyset(&sigchld)
        sigaddset(&sigchld, SIGCHLD)
        pthread_sigmask(SIG_UNBLOCK, &sigchld, nil)
    }

    package var now: ContinuousClock.Instant { .now }

    package func start(_ command: Command) throws -> Int32 {
        let (pid, pump) = try groups.registering(tag: ProcessGroups.tag(of: command.environment)) {
            try ProcessSpawner.spawn(command, inherited: inherited, masker: masker)
        }
        if let pump { pumps[pid] = pump }
        if polling {
            polled.insert(pid)
            return pid
        }
        let pidfd = features.pidfd ? flow_pidfd_open(pid) : -1
        if pidfd >= 0, flow_epoll_add(epoll, pidfd) == 0 {
            watched[pidfd] = pid
        } else {
            if pidfd >= 0 { Glibc.close(pidfd) }
            let (reaped, waker) = (reapedElsewhere, waker)
            let thread = Thread {
                let exit = ProcessExit.reap(pid)
                reaped.add(CommandExit(pid: pid, exit: exit))
                waker.wake()
            }
            thread.stackSize = 64 * 1024
            thread.start()
        }
        return pid
    }

    package func wait(until deadline: ContinuousClock.Instant?) -> [CommandExit] {
        while true {
            var exits = reapedElsewhere.take()
            if polling {
                for pid in polled where flow_child_exited(pid) != 0 {
                    // -1: it cannot be waited for at all; reaping it then reports that rather than waiting forever.
                    polled.remove(pid)
                    exits.append(CommandExit(pid: pid, exit: .reap(pid)))
                }
                if !exits.isEmpty || waker.take() { return exits }
                let left = deadline.map { $0 - .now }
                if let left, left <= .zero { return exits }
                let pause = min(left ?? .milliseconds(5), .milliseconds(5))
                usleep(UInt32(max(pause / .microseconds(1), 1)))
                continue
            }
            if !exits.isEmpty { return exits }
            var ready = [Int32](repeating: 0, count: 64)
            let timeout = Self.milliseconds(until: deadline)
            epollWaits += 1
            var n: Int32
            if let limit = features.epollFailsAfter, epollWaits > limit {
                (n, errno) = (-1, EBADF)
            } else {
                n = ready.withUnsafeMutableBufferPointer { flow_epoll_wait_fds(epoll, $0.baseAddress, 64, timeout) }
            }
            if n < 0 {
                if errno == EINTR { continue }
                // epoll itself failed: poll every child from now on rather than wait forever.
                polling = true
                for (pidfd, pid) in watched {
                    Glibc.close(pidfd)
                    polled.insert(pid)
                }
                watched.removeAll()
                continue
            }
            var woken = false
            for fd in ready.prefix(Int(n)) {
                if fd == waker.fd {
                    _ = waker.take()
                    woken = true
                } else if let pid = watched.removeValue(forKey: fd) {
                    Glibc.close(fd)
                    exits.append(CommandExit(pid: pid, exit: .reap(pid)))
                }
            }
            exits += reapedElsewhere.take()
            if !exits.isEmpty || woken || n == 0 { return exits }
        }
    }

    package func signalGroup(_ pid: Int32, _ signal: Int32) {
        guard pid > 1 else { return }
        _ = kill(-pid, signal)
    }

    package func isGroupAlive(_ pid: Int32) -> Bool { ProcessGroups.isAlive(pid) }

    /// Background processes of a finished task do not outlive it, even if they ignore SIGTERM or left the group.
    /// A masked command's output is all in its log when this returns: its pump is waited for, which takes
    /// longer only while a leftover process that keeps the pipe open is being stopped (at most `grace` and 1 s).
    package func release(_ pid: Int32, grace: Duration) {
        if ProcessGroups.isAlive(pid) { groups.stopLeftovers(pid, grace: grace) }
        groups.stopEscapees(of: pid, grace: grace)
        groups.remove(pid)
        pumps.removeValue(forKey: pid)?.finish(within: grace + .seconds(1))
    }

    package func openLog(at path: String) throws -> any AttemptLog {
        let recycler = spareLogs.popLast() ?? newRecycler()
        do {
            return try recycler.open(path)
        } catch {
            spareLogs.append(recycler)
            throw error
        }
    }

    package func finishLog(_ log: any AttemptLog) -> Bool {
        guard let file = log as? LogFile else { return true }
        guard let recycler = file.recycler else {
            file.close()
            return true
        }
        defer { spareLogs.append(recycler) }
        return recycler.finish(file)
    }

    package func close() {
        for recycler in spareLogs { recycler.close() }
        spareLogs.removeAll()
        for (pidfd, _) in watched { Glibc.close(pidfd) }
        watched.removeAll()
        if epoll >= 0 { Glibc.close(epoll) }
        epoll = -1
    }

    private func newRecycler() -> LogRecycler {
        defer { recyclers += 1 }
        return LogRecycler(folder: logFolder, number: recyclers)
    }

    /// For epoll_wait: until `deadline`, rounded up; -1 for none.
    private static func milliseconds(until deadline: ContinuousClock.Instant?) -> Int32 {
        guard let deadline else { return -1 }
        let left = deadline - .now
        guard left > .zero else { return 0 }
        let (seconds, attoseconds) = left.components
        return Int32(clamping: seconds * 1000 + (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000)
    }
}
