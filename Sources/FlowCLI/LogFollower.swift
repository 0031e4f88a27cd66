import FlowCore
import FlowProcess
import FlowStore
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// `flow logs -f RUN [TASK]`: what the run's attempts write, as they write it, until the run ends — like
/// `tail -f` over every attempt's log, with a header whenever the output switches to another attempt. Reads
/// the state database and the log files only; it never writes either, so following never slows the run.
struct LogFollower {
    var store: StateStore
    var run: RunID
    var task: TaskID?
    /// Only files under the state folder's logs are read, whatever the database says.
    var logRoot: String
    var interval: Duration = .milliseconds(200)

    func follow() async throws {
        var offsets: [AttemptID: Int] = [:]
        var finished: Set<AttemptID> = []
        /// Ended and read to the end: never opened again.
        var drained: Set<AttemptID> = []
        var current: AttemptID?
        while true {
            let record: RunRecord?
            let attempts: [AttemptRecord]
            do {
                record = try store.run(run)
                attempts = try store.attempts(of: run, task: task)
            } catch {
                throw CommandFailure(.internalError, "flow: \(error)")
            }
            guard let record else { throw CommandFailure(.notFound, "flow: no run \(run)") }
            // Decided before reading, so the last bytes of an attempt that ended meanwhile are read below.
            let ended = record.status != .running || !store.runnerIsAlive(record, processStart: ProcessTable.startTime)
            for a in attempts where !drained.contains(a.id) {
                let bytes = newBytes(of: a, from: offsets[a.id] ?? 0)
                if bytes.isEmpty, finished.contains(a.id) { drained.insert(a.id) }
                if !bytes.isEmpty {
                    if current != a.id { Console.out("==> \(a.task) attempt \(a.attempt) <==") }
                    current = a.id
                    offsets[a.id, default: 0] += bytes.count
                    if bytes.withUnsafeBufferPointer({ FileOutput.writeAll($0, to: STDOUT_FILENO) }) == EPIPE { return }
                }
                if a.status.isTerminal, !finished.contains(a.id) {
                    finished.insert(a.id)
                    Console.out(LogsCommand.header(a).replacingOccurrences(of: "==> ", with: "<== ended: ").replacingOccurrences(of: " <==", with: ""))
                    current = nil
                }
            }
            if ended {
                Console.out("run \(run) \(record.status.rawValue)")
                return
            }
            try await Task.sleep(for: interval)
        }
    }

    /// What `a`'s log holds past `offset`, at most 1 MiB at a time (the next round reads on).
    private func newBytes(of a: AttemptRecord, from offset: Int) -> [UInt8] {
        guard let path = a.logPath, FilePath.absolute(path).hasPrefix(logRoot) else { return [] }
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return [] }
        defer { close(fd) }
        return FileInput.read(fd, at: offset, count: 1 << 20) ?? []
    }
}
