import FlowCLI
import FlowCore
import FlowProcess
import FlowStore
import Foundation
import Hummingbird
import NIOCore
#if canImport(Glibc)
import Glibc
#endif

/// Server-sent events for a live run page: each task's status and the run's, sent when they change (checked
/// twice a second from the state database), then `end` once the run has ended.
enum LiveEvents {
    static let interval: Duration = .milliseconds(500)

    static func run(_ id: RunID, backend: WebBackend) -> ResponseBody {
        ResponseBody { writer in
            var last = ""
            var quiet = 0
            while true {
                guard let state = try? backend.runStatuses(id) else { break }
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys]
                let payload = String(decoding: (try? encoder.encode(Payload(run: state.run.rawValue, tasks: state.tasks))) ?? Data(), as: UTF8.self)
                if payload != last {
                    try await writer.write(ByteBuffer(string: "data: \(payload)\n\n"))
                    last = payload
                    quiet = 0
                } else {
                    quiet += 1
                    // A comment now and then keeps proxies from closing a quiet stream.
                    if quiet % 30 == 0 { try await writer.write(ByteBuffer(string: ": still running\n\n")) }
                }
                if state.run != .running { break }
                try await Task.sleep(for: interval)
            }
            try await writer.write(ByteBuffer(string: "event: end\ndata: {}\n\n"))
            try await writer.finish(nil)
        }
    }

    struct Payload: Encodable {
        var run: String
        var tasks: [String: String]
    }
}

/// An attempt's log: whole, as text, in 64 KiB pieces (a 200 MB log is never held in memory); or live, as
/// server-sent events of what was appended since the last look, every 100 ms, until the attempt has ended and
/// everything it wrote was sent. A writer of 10,000 lines a second is followed in 64 KiB steps, so the server
/// keeps one buffer per stream, however far behind a slow client is (the socket's back-pressure holds it).
enum LogStream {
    static let chunk = 64 * 1024

    static func whole(_ path: String) -> ResponseBody {
        ResponseBody { writer in
            if !path.isEmpty {
                let fd = open(path, O_RDONLY | O_CLOEXEC)
                if fd >= 0 {
                    defer { close(fd) }
                    var offset = 0
                    while let bytes = read(fd, at: offset), !bytes.isEmpty {
                        try await writer.write(ByteBuffer(bytes: bytes))
                        offset += bytes.count
                    }
                }
            }
            try await writer.finish(nil)
        }
    }

    static func read(_ fd: Int32, at offset: Int) -> [UInt8]? { FileInput.read(fd, at: offset, count: chunk) }

    static func live(run: RunID, task: String, attempt: Int, backend: WebBackend) -> ResponseBody {
        ResponseBody { writer in
            var offset = 0
            var fd: Int32 = -1
            defer { if fd >= 0 { close(fd) } }
            var carry: [UInt8] = []
            while true {
                guard let (path, record) = try? backend.logPath(run: run, task: task, attempt: attempt) else { break }
                if fd < 0, !path.isEmpty { fd = open(path, O_RDONLY | O_CLOEXEC) }
                var sent = false
                if fd >= 0 {
                    while let bytes = read(fd, at: offset), !bytes.isEmpty {
                        offset += bytes.count
                        // Only whole UTF-8 characters go out; a split one waits for its end.
                        var text = carry + bytes
                        let cut = utf8Boundary(text)
                        carry = Array(text[cut...])
                        text.removeSubrange(cut...)
                        try await writer.write(ByteBuffer(string: "data: \(jsonString(String(decoding: text, as: UTF8.self)))\n\n"))
                        sent = true
                    }
                }
                if record.status.isTerminal && !sent { break }
                try await Task.sleep(for: .milliseconds(100))
            }
            try await writer.write(ByteBuffer(string: "event: end\ndata: {}\n\n"))
            try await writer.finish(nil)
        }
    }

    /// The index where a trailing, incomplete UTF-8 sequence starts (`bytes.count` when there is none).
    static func utf8Boundary(_ bytes: [UInt8]) -> Int {
        var i = bytes.count
        var back = 0
        while i > 0, back < 4 {
            let byte = bytes[i - 1]
            if byte & 0xC0 == 0x80 { i -= 1; back += 1; continue }
            if byte & 0x80 == 0 { return bytes.count }
            let length = byte & 0xE0 == 0xC0 ? 2 : byte & 0xF0 == 0xE0 ? 3 : 4
            return back + 1 >= length ? bytes.count : i - 1
        }
        return bytes.count
    }

    static func jsonString(_ text: String) -> String {
        struct Message: Encodable { var text: String }
        let data = (try? JSONEncoder().encode(Message(text: text))) ?? Data("{\"text\":\"\"}".utf8)
        return String(decoding: data, as: UTF8.self)
    }
}
