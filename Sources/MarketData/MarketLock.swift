import FlowCore
import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// An exclusive `flock` on the market database file itself, so that two flows — whatever their state databases,
/// folders or users' habits — never detect and fill one market database at once.
///
/// `market.detect-gap` takes it and keeps it; `market.backfill` of the same run finds it held and releases it
/// when it ends. A run whose backfill is skipped keeps it until flow exits, when the kernel drops it (also on
/// `kill -9`). SQLite's own locks are POSIX record locks, which Linux keeps apart from `flock`, so this lock
/// never blocks SQLite. Inside the process the lock is shared: one flow process drives one run.
package final class MarketLock: Sendable {
    private static let held = Mutex<[String: Int32]>([:])

    let path: String

    private init(path: String) {
        self.path = path
    }

    /// Takes the lock, waiting up to `wait` for another flow to finish with the database; fails (retryable)
    /// naming the database when it does not.
    package static func acquire(_ path: String, holder: String, wait: Duration = .seconds(10)) async throws -> MarketLock {
        let key = FilePath.absolute(path)
        if held.withLock({ $0[key] != nil }) { return MarketLock(path: key) }
        try? FileManager.default.createDirectory(atPath: FilePath.directory(of: key), withIntermediateDirectories: true)
        let fd = open(key, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw TaskFailure("cannot open market database '\(path)': \(String(cString: strerror(errno)))", retryable: false)
        }
        let deadline = ContinuousClock.now + wait
        while flock(fd, LOCK_EX | LOCK_NB) != 0 {
            guard errno == EWOULDBLOCK || errno == EINTR, ContinuousClock.now < deadline else {
                let code = errno
                close(fd)
                if code == EWOULDBLOCK {
                    throw TaskFailure("market database '\(path)' is being updated by another flow (another run of a workflow "
                                      + "that writes it, perhaps with another state database); \(holder) waits for it on retry")
                }
                throw TaskFailure("cannot lock market database '\(path)': \(String(cString: strerror(code)))", retryable: false)
            }
            do {
                try await Task.sleep(for: .milliseconds(50))
            } catch {
                close(fd)
                throw error
            }
        }
        held.withLock { $0[key] = fd }
        return MarketLock(path: key)
    }

    /// Lets the lock go: the end of the run's backfill.
    package func release() {
        if let fd = MarketLock.held.withLock({ $0.removeValue(forKey: path) }) { close(fd) }
    }
}
