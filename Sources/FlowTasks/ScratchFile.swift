import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The few file reads on a task's hot path, straight through the system calls: most tasks write neither
/// `$FLOW_OUTPUT` nor `$FLOW_CHECKPOINT`, and finding that out should cost one failed open, not Foundation's
/// machinery around it.
package enum ScratchFile {
    /// More than the allowed bytes were there to read.
    package struct TooLarge: Error { var limit: Int }

    /// The bytes of `path` from `offset` on; nil if the file does not exist. Past `limit` bytes, throws `TooLarge`
    /// without reading the rest.
    package static func read(_ path: String, from offset: UInt64 = 0, limit: Int = .max) throws -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            if errno == ENOENT { return nil }
            throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO)
        }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var position = off_t(offset)
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let n = chunk.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, position) }
            if n < 0 {
                if errno == EINTR { continue }
                throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO)
            }
            if n == 0 { return bytes }
            bytes.append(contentsOf: chunk[0..<n])
            if bytes.count > limit { throw TooLarge(limit: limit) }
            position += off_t(n)
        }
    }
}
