import CFlowSystem
import FlowCore
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// One spare log file, used by one running attempt at a time (a run keeps as many as it ran at once). When
/// an attempt ends having written nothing, and no process (not even one that left the task's process group)
/// still has the file open, its empty log is renamed aside and renamed into place for the next attempt that
/// takes this recycler: a quiet task then costs two renames instead of a new file. Creating a file is an
/// inode allocation, the largest part of flow's per-task cost on some filesystems (docs/PERFORMANCE.md). A
/// log with any output is left exactly where it is; while an attempt runs its log is always at its own path.
/// Used by the command runner on the engine's loop thread only; a log refers back to its recycler, hence
/// `@unchecked Sendable`.
final class LogRecycler: @unchecked Sendable {
    private let sparePath: String
    private var spare: Int32?

    init(folder: String, number: Int) {
        sparePath = "\(folder)/.spare-\(number).log"
    }

    /// The log for an attempt: the spare renamed to `path` when there is one (and it is still empty),
    /// otherwise a new file.
    func open(_ path: String) throws -> LogFile {
        if let fd = spare {
            spare = nil
            // Checked again: something may have opened the spare by its path since it was set aside.
            if LogRecycler.isReusable(fd), rename(sparePath, path) == 0 {
                return LogFile(adopting: fd, path: path, recycler: self)
            }
            Glibc.close(fd)
            unlink(sparePath)
        }
        return try LogFile(path: path, recycler: self)
    }

    /// Ends an attempt's log. Returns whether the log file was kept at its path: false when it was empty and
    /// became the spare.
    func finish(_ log: LogFile) -> Bool {
        guard spare == nil, let fd = log.detach(if: LogRecycler.isReusable) else {
            log.close()
            return true
        }
        guard rename(log.path, sparePath) == 0 else {
            Glibc.close(fd)
            return true
        }
        spare = fd
        return false
    }

    /// Empty, and open nowhere else: a write lease is granted only to a file's sole opener.
    private static func isReusable(_ fd: Int32) -> Bool {
        var info = stat()
        return fstat(fd, &info) == 0 && info.st_size == 0 && flow_is_sole_opener(fd) == 1
    }

    /// Removes the spare when the run ends.
    func close() {
        guard let fd = spare else { return }
        Glibc.close(fd)
        unlink(sparePath)
        spare = nil
    }
}
