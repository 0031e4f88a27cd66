import CFlowSystem
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
    /// Each live group's attempt tag (`FLOW_RUN_ID=…`, `FLOW_TASK=…`, `FLOW_ATTEMPT=…`), which its descendants
    /// inherit even when they leave the group with `setsid`.
    private let tags = Mutex<[Int32: Set<String>]>([:])

    /// Groups whose leader has ended but whose other processes are being stopped (`stopLeftovers`).
    private let stopping = Mutex<Set<Int32>>([])

    package init() {}

    /// Every live task leader of this process, whichever `ProcessGroups` started it: never taken for an escapee.
    /// Held across a spawn and its registration (`registering`), so a leader just born is never mistaken for one.
    private static let leaders = Mutex<Set<Int32>>([])

    /// Spawns with `body` and registers the new leader before any escapee search can see it.
    func registering<Extra>(tag: Set<String>, _ body: () throws -> (Int32, Extra)) rethrows -> (Int32, Extra) {
        try ProcessGroups.leaders.withLock { leaders in
            let started = try body()
            let pid = started.0
            leaders.insert(pid)
            _ = live.withLock { $0.insert(pid) }
            if !tag.isEmpty { tags.withLock { $0[pid] = tag } }
            return started
        }
    }

    func remove(_ pgid: Int32) {
        _ = live.withLock { $0.remove(pgid) }
        _ = ProcessGroups.leaders.withLock { $0.remove(pgid) }
        _ = tags.withLock { $0.removeValue(forKey: pgid) }
    }

    /// The variables that tag an attempt's processes.
    static func tag(of variables: [String: String]) -> Set<String> {
        var tag = Set<String>()
        for name in ["FLOW_RUN_ID", "FLOW_TASK", "FLOW_ATTEMPT", "FLOW_STATE"] {
            if let value = variables[name] { tag.insert("\(name)=\(value)") }
        }
        return tag.count >= 3 ? tag : []
    }

    /// Makes flow the reaper of its orphaned descendants (Linux), so that a task's `setsid` daemon, once its
    /// parent ends, becomes flow's child and `stopEscapees` finds it without scanning `/proc`.
    package static func adoptOrphans() {
        _ = flow_set_child_subreaper()
    }

    /// Stops the processes of a finished attempt that left its group (`setsid`, a double fork): flow's adopted
    /// children carrying the attempt's tag — SIGTERM, then SIGKILL after `grace` — and, only when one is found,
    /// every tagged process on the machine (a deeper chain). Costs one file read when there are none.
    func stopEscapees(of pgid: Int32, grace: Duration) {
        guard let tag = tags.withLock({ $0[pgid] }) else { return }
        var leaders = Set<Int32>()
        let adopted = ProcessGroups.leaders.withLock { live -> [Int32] in
            leaders = live
            leaders.remove(pgid)
            return ProcessGroups.adoptedChildren()
                .filter { !live.contains($0) && $0 != pgid && ProcessGroups.environment(of: $0, has: tag) }
        }
        guard !adopted.isEmpty else { return }
        var targets = Set(adopted.map { pid -> Int32 in
            let group = getpgid(pid)
            return group > 1 ? group : pid
        })
        targets.formUnion(ProcessGroups.groupsTagged(tag))
        targets.subtract(leaders)
        targets.remove(getpgrp())
        for target in targets where target != pgid {
            stopping.withLock { _ = $0.insert(target) }
            Task.detached { [self] in
                await ProcessGroups.terminate(target, grace: grace)
                for pid in adopted { var status: Int32 = 0; _ = waitpid(pid, &status, WNOHANG) }
                self.stopping.withLock { _ = $0.remove(target) }
            }
        }
    }

    /// Where adopted orphans are: the kernel gives an orphan to the first live thread of the subreaper's thread
    /// group — its main thread while flow runs — so one `children` file is read per task end, not one per thread.
    /// Every thread's are read only if the main thread's cannot be.
    static func adoptedChildren() -> [Int32] {
        if let text = try? String(contentsOfFile: "/proc/self/task/\(getpid())/children", encoding: .utf8) {
            return text.split(separator: " ").compactMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        }
        return children()
    }

    /// This process's children, from `/proc/self/task/*/children`.
    static func children() -> [Int32] {
        guard let threads = try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task") else { return [] }
        var pids: [Int32] = []
        for thread in threads {
            guard let text = try? String(contentsOfFile: "/proc/self/task/\(thread)/children", encoding: .utf8) else { continue }
            pids += text.split(separator: " ").compactMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        }
        return pids
    }

    static func environment(of pid: Int32, has tag: Set<String>) -> Bool {
        guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/environ") else { return false }
        var found = 0
        for variable in data.split(separator: 0) where tag.contains(String(decoding: variable, as: UTF8.self)) { found += 1 }
        return found == tag.count
    }

    /// Process groups of live processes whose environment carries every variable of `tag`, other than flow's own.
    static func groupsTagged(_ tag: Set<String>) -> [Int32] {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return [] }
        let own = getpgrp()
        var groups = Set<Int32>()
        for entry in entries where entry.first?.isNumber == true {
            guard let pid = Int32(entry), environment(of: pid, has: tag) else { continue }
            let group = getpgid(pid)
            if group > 1, group != own { groups.insert(group) }
        }
        return groups.sorted()
    }

    package var count: Int { live.withLock { $0.count } }

    /// Sends `signal` to every live group, and to what finished tasks left behind.
    package func signalAll(_ signal: Int32) {
        for pgid in live.withLock({ $0 }).union(stopping.withLock { $0 }) { _ = kill(-pgid, signal) }
    }

    /// Stops what a finished task's leader left in its group — SIGTERM, SIGKILL once `grace` has passed —
    /// without holding up the task's end. `awaitLeftovers` waits for all of it.
    func stopLeftovers(_ pgid: Int32, grace: Duration) {
        stopping.withLock { _ = $0.insert(pgid) }
        Task.detached { [self] in
            await ProcessGroups.terminate(pgid, grace: grace)
            self.stopping.withLock { _ = $0.remove(pgid) }
        }
    }

    /// Returns once every group given to `stopLeftovers` is gone: a run ends only after that, so nothing a
    /// task started outlives flow (each wait is bounded by its grace period).
    package func awaitLeftovers() async {
        while !stopping.withLock({ $0.isEmpty }) { await Self.pause(.milliseconds(10)) }
    }

    /// Whether any process of group `pgid` is still alive. Zombies do not count: a killed grandchild
    /// that nobody reaps yet is dead, and waiting for it would stall the run.
    package static func isAlive(_ pgid: Int32) -> Bool {
        if kill(-pgid, 0) != 0 && errno == ESRCH { return false }
        return hasLiveMember(pgid)
    }

    /// Scans /proc for a non-zombie process in group `pgid`.
    static func hasLiveMember(_ pgid: Int32) -> Bool {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return true }
        for entry in entries where entry.first?.isNumber == true {
            guard let pid = Int32(entry), let stat = ProcessTable.stat(of: pid), stat.group == pgid else { continue }
            if !stat.isDead { return true }
        }
        return false
    }

    /// Sleeps even when the calling task is cancelled: stopping a process must finish its grace period.
    private static func pause(_ duration: Duration) async {
        await Task.detached { try? await Task.sleep(for: duration) }.value
    }

    /// SIGTERM to the group, then SIGKILL once `grace` has passed if anything of it remains.
    /// Returns when the group is gone or was killed.
    package static func terminate(_ pgid: Int32, grace: Duration) async {
        guard pgid > 1 else { return }
        _ = kill(-pgid, SIGTERM)
        let deadline = ContinuousClock.now + grace
        var interval = Duration.milliseconds(10)
        while isAlive(pgid), ContinuousClock.now < deadline {
            await pause(interval)
            // Most groups exit at once on SIGTERM; poll quickly at first, then back off.
            interval = min(interval * 2, .milliseconds(200))
        }
        if isAlive(pgid) { _ = kill(-pgid, SIGKILL) }
    }

    /// Process groups of live processes whose environment carries `FLOW_RUN_ID=<runID>` and
    /// `FLOW_STATE=<statePath>`: a dead runner's tasks, even one killed before it recorded their pid.
    package static func groupsTagged(runID: Int64, statePath: String) -> [Int32] {
        groupsTagged(["FLOW_RUN_ID=\(runID)", "FLOW_STATE=\(statePath)"])
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
