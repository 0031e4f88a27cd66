import CFlowSystem
import FlowCore
import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Waits for child processes on one thread for the whole program: each child gets a pidfd in an epoll set,
/// and the thread reaps whichever exits. A thread per child (the fallback) costs a clone, a stack mapping
/// and its unmapping — with the TLB shootdown that brings — for every task.
///
/// Only the processes handed to `wait(for:)` are reaped (never `waitpid(-1)`), so children started by other
/// code in the same program keep their exit statuses.
final class ProcessReaper: Sendable {
    /// nil where pidfds or epoll are unavailable (Linux before 5.3): callers fall back to a thread per child.
    static let shared: ProcessReaper? = ProcessReaper()

    private let epoll: Int32
    private struct State {
        var waiting: [Int32: (pid: Int32, continuation: CheckedContinuation<ProcessExit?, Never>)] = [:]
        /// Set if epoll ever fails: from then on every wait takes the fallback.
        var broken = false
    }
    private let state = Mutex(State())

    private init?() {
        let probe = flow_pidfd_open(getpid())
        guard probe >= 0 else { return nil }
        close(probe)
        epoll = flow_epoll_create()
        guard epoll >= 0 else { return nil }
        let thread = Thread { [self] in self.loop() }
        thread.name = "flow-reaper"
        thread.stackSize = 64 * 1024
        thread.start()
    }

    /// Waits for `pid` to exit and reaps it; nil if it cannot be watched (the caller then waits another way).
    func wait(for pid: Int32) async -> ProcessExit? {
        // A pidfd is close-on-exec by definition, so no task inherits it.
        let fd = flow_pidfd_open(pid)
        guard fd >= 0 else { return nil }
        return await withCheckedContinuation { (continuation: CheckedContinuation<ProcessExit?, Never>) in
            let watched = state.withLock { s in
                guard !s.broken else { return false }
                s.waiting[fd] = (pid, continuation)
                return true
            }
            guard watched, flow_epoll_add_oneshot(epoll, fd) == 0 else {
                if watched { _ = state.withLock { $0.waiting.removeValue(forKey: fd) } }
                close(fd)
                continuation.resume(returning: nil)
                return
            }
        }
    }

    private func loop() {
        var ready = [Int32](repeating: 0, count: 64)
        while true {
            let n = ready.withUnsafeMutableBufferPointer { flow_epoll_wait_fds(epoll, $0.baseAddress, 64, -1) }
            if n < 0 {
                if errno == EINTR { continue }
                // epoll itself failed: hand every waiting process to a thread of its own and stop watching,
                // so no task waits forever.
                let stranded = state.withLock { s in
                    s.broken = true
                    defer { s.waiting.removeAll() }
                    return s.waiting
                }
                for (fd, waiter) in stranded {
                    close(fd)
                    ProcessExit.reapOnOwnThread(waiter.pid) { waiter.continuation.resume(returning: $0) }
                }
                return
            }
            for i in 0..<Int(n) {
                let fd = ready[i]
                guard let waiter = state.withLock({ $0.waiting.removeValue(forKey: fd) }) else { continue }
                close(fd)
                waiter.continuation.resume(returning: ProcessExit.reap(waiter.pid))
            }
        }
    }
}
