import FlowCore
import Foundation
import GRDB
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Who holds a workflow's lease, as far as the state database knows.
package struct LeaseHolder: Sendable, Hashable {
    package var runID: RunID?
    package var pid: Int32?
    package var host: String?
    package var acquiredAt: Date?
}

extension LeaseHolder {
    /// Whether the recorded holder is still the live process that took the lease: on this host, its pid
    /// running, and that process started no later than the lease was taken (a pid reused since is not it).
    /// A holder on another host cannot be checked from here and counts as alive. `processStart` says when the
    /// live process with a pid started, nil if there is none (FlowProcess reads it from `/proc`).
    package func isAlive(processStart: (Int32) -> Date?) -> Bool {
        guard let pid, pid > 0 else { return false }
        if let host, host != ProcessInfo.processInfo.hostName { return true }
        guard let started = processStart(pid) else { return false }
        guard let acquiredAt else { return true }
        return started <= acquiredAt.addingTimeInterval(2)
    }
}

package enum LeaseError: Error, Sendable {
    case held(LeaseHolder)
    case failed(String)
}

/// The right to run one workflow: an exclusive `flock` on a file beside the state database.
///
/// The kernel drops the lock when the process dies, even by `kill -9`, so a dead runner never
/// blocks the next one and a reused pid can never look like a live holder. The `leases` row only
/// describes the holder for the "already running" message.
package final class RunLease: Sendable {
    package let workflow: String
    private let fd: Int32
    private let store: StateStore
    /// Whether the `leases` row may be ours: written with the run's creation (or reopening), and not yet deleted
    /// by the run's end. `release` deletes it only then, saving a commit at the end of every run.
    private let rowWritten = Atomic<Bool>(false)

    private init(workflow: String, fd: Int32, store: StateStore) {
        self.workflow = workflow
        self.fd = fd
        self.store = store
    }

    package static func lockPath(for workflow: String, store: StateStore) -> String {
        "\(StateStore.filesDirectory(of: store.path))/locks/\(workflow).lock"
    }

    /// Takes the lease at once or reports who holds it; never waits.
    package static func acquire(workflow: String, store: StateStore) throws(LeaseError) -> RunLease {
        let path = lockPath(for: workflow, store: store)
        do {
            try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent,
                                                    withIntermediateDirectories: true)
        } catch {
            throw .failed("cannot create lock folder for '\(path)': \(error.localizedDescription)")
        }
        // O_CLOEXEC: a task's process must never inherit the lock and outlive us holding it.
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw .failed("cannot open lock file '\(path)': \(String(cString: strerror(errno)))") }
        if flock(fd, LOCK_EX | LOCK_NB) != 0 {
            let code = errno
            close(fd)
            guard code == EWOULDBLOCK else { throw .failed("cannot lock '\(path)': \(String(cString: strerror(code)))") }
            var holder = (try? store.leaseHolder(of: workflow)) ?? nil
            if holder == nil {
                // The holder may be between taking the lock and writing its row.
                usleep(100_000)
                holder = (try? store.leaseHolder(of: workflow)) ?? nil
            }
            throw .held(holder ?? LeaseHolder())
        }
        return RunLease(workflow: workflow, fd: fd, store: store)
    }

    /// Records which run holds the lease, for others to name, inside the caller's transaction (the run's creation
    /// or reopening).
    func writeRow(_ db: Database, run: RunID) throws {
        rowWritten.store(true, ordering: .relaxed)
        try db.execute(sql: """
            INSERT INTO leases(workflow, run_id, pid, host, acquired_at) VALUES (?, ?, ?, ?, ?)
            ON CONFLICT(workflow) DO UPDATE SET run_id = excluded.run_id, pid = excluded.pid, host = excluded.host,
                acquired_at = excluded.acquired_at
            """, arguments: [workflow, run, Int64(getpid()), ProcessInfo.processInfo.hostName, StateStore.now()])
    }

    /// Deletes the `leases` row inside the caller's transaction (the run's end); `rowDeleted` once it committed.
    func deleteRow(_ db: Database) throws {
        try db.execute(sql: "DELETE FROM leases WHERE workflow = ? AND pid = ?", arguments: [workflow, Int64(getpid())])
    }

    func rowDeleted() {
        rowWritten.store(false, ordering: .relaxed)
    }

    /// Lets the lock go, deleting the `leases` row first unless the run's end already did.
    package func release() {
        if rowWritten.load(ordering: .relaxed) {
            _ = try? store.write { db in try deleteRow(db) }
        }
        close(fd)
    }
}

extension StateStore {
    package func leaseHolder(of workflow: String) throws(StoreError) -> LeaseHolder? {
        try read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM leases WHERE workflow = ?", arguments: [workflow]).map { raw in
                let row = StoredRow(raw, table: "leases") { _ in "workflow '\(workflow)'" }
                return LeaseHolder(runID: try row.optional("run_id"), pid: try row.int32("pid"), host: try row.optional("host"),
                                   acquiredAt: try row.date("acquired_at"))
            }
        }
    }

    /// Whether the process that drives a `running` run is still there: the run's pid, alive since before the
    /// run's last update (so a pid reused since does not count), or a holder on another host (unknowable).
    package func runnerIsAlive(_ run: RunRecord, processStart: (Int32) -> Date?) -> Bool {
        guard run.status == .running else { return false }
        // Only the lease row knows the host; the run row knows the pid and when the runner last wrote.
        let holder = (try? leaseHolder(of: run.workflow)) ?? nil
        let host = holder?.runID == run.id ? holder?.host : nil
        return LeaseHolder(runID: run.id, pid: run.pid, host: host, acquiredAt: run.updatedAt).isAlive(processStart: processStart)
    }

    /// Runs of `workflow` still marked `running`: once we hold the lease, their runner is dead.
    package func staleRuns(of workflow: String) throws(StoreError) -> [RunID] {
        try read { db in try RunID.fetchAll(db, sql: "SELECT id FROM runs WHERE workflow = ? AND status = 'running'", arguments: [workflow]) }
    }
}
