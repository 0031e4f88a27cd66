import FlowCore
import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The log file of one attempt. Shell tasks write to it directly through their own descriptors; built-in
/// actions and flow append lines through `write(_:)`. Every writer uses O_APPEND, so lines from both never
/// overwrite each other.
package final class LogFile: AttemptLog {
    package let path: String
    private let descriptor: Mutex<Int32>
    /// The spare slot this log came from, which takes it back when the attempt ends.
    let recycler: LogRecycler?

    /// Opens (creating) the file for appending; its folder is created if missing.
    init(path: String, recycler: LogRecycler?) throws {
        self.path = path
        self.recycler = recycler
        var fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
        if fd < 0 && errno == ENOENT {
            try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent,
                                                    withIntermediateDirectories: true)
            fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
        }
        guard fd >= 0 else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path,
                                                          NSLocalizedDescriptionKey: String(cString: strerror(errno))])
        }
        descriptor = Mutex(fd)
    }

    /// Takes over `fd`, already open for appending at `path` (a recycled empty log renamed into place).
    init(adopting fd: Int32, path: String, recycler: LogRecycler?) {
        self.path = path
        self.recycler = recycler
        descriptor = Mutex(fd)
    }

    /// The open descriptor, handed over without closing it, if `condition` holds for it; nil otherwise (the
    /// log stays as it is).
    func detach(if condition: (Int32) -> Bool) -> Int32? {
        descriptor.withLock { fd -> Int32? in
            guard fd >= 0, condition(fd) else { return nil }
            defer { fd = -1 }
            return fd
        }
    }

    package func write(_ line: String) {
        let text = line.hasSuffix("\n") ? line : line + "\n"
        descriptor.withLock { fd in
            guard fd >= 0 else { return }
            FileOutput.writeAll(text, to: fd)
        }
    }

    /// Reads at most the last 64 KiB: a log can be gigabytes.
    package func tail(_ count: Int, width: Int) -> [String] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return [] }
        defer { _ = Glibc.close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { return [] }
        let window = min(Int(info.st_size), 64 * 1024)
        guard window > 0 else { return [] }
        guard let bytes = FileInput.read(fd, at: Int(info.st_size) - window, count: window), !bytes.isEmpty else { return [] }
        var text = String(decoding: bytes, as: UTF8.self)
        // A window that starts mid-file starts mid-line: drop the partial first line.
        if window < Int(info.st_size), let newline = text.firstIndex(of: "\n") { text = String(text[text.index(after: newline)...]) }
        return LogFile.lastLines(of: text, count, width: width)
    }

    package func close() {
        descriptor.withLock { fd in
            if fd >= 0 { _ = Glibc.close(fd) }
            fd = -1
        }
    }

    deinit {
        descriptor.withLock { fd in
            if fd >= 0 { _ = Glibc.close(fd) }
        }
    }
}

/// Reads of a file that may still be growing (a live log).
package enum FileInput {
    /// Up to `count` bytes at `offset`; empty at the end, nil on an error.
    package static func read(_ fd: Int32, at offset: Int, count: Int) -> [UInt8]? {
        var buffer = [UInt8](repeating: 0, count: count)
        let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, count, off_t(offset)) }
        return n < 0 ? nil : Array(buffer.prefix(n))
    }

    /// The whole of a small file: nil on an error or past `limit` bytes.
    package static func readAll(_ fd: Int32, limit: Int) -> [UInt8]? {
        var bytes: [UInt8] = []
        while bytes.count <= limit {
            guard let chunk = read(fd, at: bytes.count, count: limit + 1 - bytes.count) else { return nil }
            if chunk.isEmpty { return bytes }
            bytes += chunk
        }
        return nil
    }
}

/// Whole writes to a descriptor.
package enum FileOutput {
    /// Writes all of `text` to `fd`, as one write(2) where the descriptor takes it whole (so lines from
    /// concurrent writers do not interleave), retrying after signals and short writes; gives up on an error.
    /// Returns 0, or the errno it gave up on (EPIPE: the reader is gone).
    @discardableResult
    package static func writeAll(_ text: String, to fd: Int32) -> Int32 {
        var text = text
        return text.withUTF8 { writeAll($0, to: fd) }
    }

    /// `writeAll` for bytes already laid out.
    @discardableResult
    package static func writeAll(_ bytes: UnsafeBufferPointer<UInt8>, to fd: Int32) -> Int32 {
        var offset = 0
        while offset < bytes.count {
            let n = Glibc.write(fd, bytes.baseAddress.map { $0 + offset }, bytes.count - offset)
            if n < 0 { if errno == EINTR { continue } else { return errno } }
            offset += n
        }
        return 0
    }
}
