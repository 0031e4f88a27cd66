import Foundation
import Synchronization

/// The log file of one attempt. Shell tasks write to it directly through their file descriptors;
/// built-in actions append lines through `write(_:)`.
package final class TaskLog: Sendable {
    package let path: String
    private let handle: Mutex<FileHandle?>

    /// Opens (creating) the file for appending.
    package init(path: String) throws {
        self.path = path
        let url = URL(fileURLWithPath: path)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        if !FileManager.default.fileExists(atPath: path) {
            FileManager.default.createFile(atPath: path, contents: nil)
        }
        let fh = try FileHandle(forWritingTo: url)
        _ = try? fh.seekToEnd()
        handle = Mutex(fh)
    }

    /// A log that discards everything, for tests and dry runs.
    package init(discarding: Void = ()) {
        path = "/dev/null"
        handle = Mutex(nil)
    }

    package func write(_ line: String) {
        let data = Data((line.hasSuffix("\n") ? line : line + "\n").utf8)
        handle.withLock { fh in try? fh?.write(contentsOf: data) }
    }

    package func close() {
        handle.withLock { fh in
            try? fh?.close()
            fh = nil
        }
    }
}
