import FlowCore
import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Carries a task's output from a pipe to its log through the run's `SecretMasker`, on a thread of its own.
/// Only a run with secrets pipes output: otherwise a task writes to its log file directly.
///
/// The pump ends when every writer has closed the pipe (the task's processes are gone), or when `finish` gives
/// up waiting for that: what was read is then written, masked, and the pipe is closed, so a lingering writer
/// gets EPIPE rather than a log nobody masks.
final class OutputPump: Sendable {
    private let done = DispatchSemaphore(value: 0)
    private let stopping = Atomic<Bool>(false)

    /// Starts pumping `pipe` (the read end) into `log` (open for appending); takes both descriptors.
    init(pipe: Int32, log: Int32, masker: SecretMasker) {
        let thread = Thread { [self] in
            pump(pipe, into: log, masker: masker)
            Glibc.close(pipe)
            Glibc.close(log)
            done.signal()
        }
        thread.name = "flow-mask"
        thread.stackSize = 128 * 1024
        thread.start()
    }

    /// Waits until the pump has written everything, at most `limit`; then makes it stop and waits for that.
    /// Returns false when it had to be stopped.
    @discardableResult
    func finish(within limit: Duration) -> Bool {
        let (seconds, attoseconds) = limit.components
        let deadline = DispatchTime.now() + .nanoseconds(Int(seconds) * 1_000_000_000 + Int(attoseconds / 1_000_000_000))
        if done.wait(timeout: deadline) == .success { return true }
        stopping.store(true, ordering: .relaxed)
        done.wait()
        return false
    }

    private func pump(_ pipe: Int32, into log: Int32, masker: SecretMasker) {
        let size = 1 << 20   // the pipe's size (flow_pipe)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: size, alignment: 16)
        defer { buffer.deallocate() }
        var stream = MaskingStream(masker)
        var out: [UInt8] = []
        out.reserveCapacity(size + 256)
        var poller = pollfd(fd: pipe, events: Int16(POLLIN), revents: 0)
        while true {
            // Woken every 100 ms to see whether `finish` gave up: a read alone would block for as long as a
            // leftover process keeps the pipe open.
            let ready = poll(&poller, 1, 100)
            if ready < 0 && errno != EINTR { break }
            if ready <= 0 {
                if stopping.load(ordering: .relaxed) { break }
                continue
            }
            let n = read(pipe, buffer.baseAddress, size)
            if n < 0 { if errno == EINTR || errno == EAGAIN { continue } else { break } }
            if n == 0 { break }
            out.removeAll(keepingCapacity: true)
            stream.feed(UnsafeRawBufferPointer(rebasing: buffer[0..<n]), into: &out)
            Self.write(out, to: log)
            if stopping.load(ordering: .relaxed) { break }
        }
        out.removeAll(keepingCapacity: true)
        stream.finish(into: &out)
        Self.write(out, to: log)
    }

    private static func write(_ bytes: [UInt8], to fd: Int32) {
        guard !bytes.isEmpty else { return }
        bytes.withUnsafeBufferPointer { _ = FileOutput.writeAll($0, to: fd) }
    }
}
