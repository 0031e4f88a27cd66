import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The process groups that tasks of this runner have started and not yet reaped.
///
/// Each shell task runs as the leader of its own group so that signals reach its grandchildren;
/// the CLI uses this to forward Ctrl-C and, on a second one, to kill everything at once.
package final class ProcessGroups: Sendable {
    private let live = Mutex<Set<Int32>>([])

    package init() {}

    func add(_ pgid: Int32) { _ = live.withLock { $0.insert(pgid) } }
    func remove(_ pgid: Int32) { _ = live.withLock { $0.remove(pgid) } }

    package var count: Int { live.withLock { $0.count } }

    /// Sends `signal` to every live group.
    package func signalAll(_ signal: Int32) {
        for pgid in live.withLock({ $0 }) { _ = kill(-pgid, signal) }
    }

    /// Whether any process of group `pgid` is still alive.
    package static func isAlive(_ pgid: Int32) -> Bool {
        kill(-pgid, 0) == 0 || errno == EPERM
    }

    /// SIGTERM to the group, then SIGKILL once `grace` has passed if anything of it remains.
    /// Returns when the group is gone or was killed.
    package static func terminate(_ pgid: Int32, grace: Duration) async {
        guard pgid > 1 else { return }
        _ = kill(-pgid, SIGTERM)
        let deadline = ContinuousClock.now + grace
        while isAlive(pgid), ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(20))
        }
        if isAlive(pgid) { _ = kill(-pgid, SIGKILL) }
    }

    /// Kills the orphaned groups of a dead runner. Callers pass pgids read from attempt rows.
    package static func killOrphans(_ pgids: [Int32], grace: Duration) async -> Int {
        var killed = 0
        for pgid in pgids where pgid > 1 && isAlive(pgid) {
            await terminate(pgid, grace: grace)
            killed += 1
        }
        return killed
    }
}
