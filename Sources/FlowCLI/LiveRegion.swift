import FlowCore
import FlowProcess
import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The few lines under a run's event lines on a terminal: what is running and for how long, what waits, the
/// counter. Redrawn in place four times a second; an event line is written above it in the same write(2) that
/// erases and redraws it, so the terminal never shows a half-drawn frame.
final class LiveRegion: Sendable {
    private struct Running {
        var id: TaskID
        var attempt: Int
        var since: ContinuousClock.Instant
    }

    private struct State {
        var running: [Running] = []
        var done = 0
        var total = 0
        var drawnLines = 0
        var started = ContinuousClock.now
        var stopped = false
    }

    private let state = Mutex(State())
    /// Lines of running tasks shown at most; the rest are counted.
    static let shownRunning = 8
    static let frame: Duration = .milliseconds(250)

    init(total: Int) {
        state.withLock { $0.total = total }
        let thread = Thread { [self] in
            while true {
                Thread.sleep(forTimeInterval: LiveRegion.frame.seconds)
                guard redraw() else { return }
            }
        }
        thread.name = "flow-live"
        thread.start()
    }

    /// A foreach was expanded: the run has `total` tasks now.
    func setTotal(_ total: Int) {
        state.withLock { $0.total = total }
    }

    func taskStarted(_ id: TaskID, attempt: Int) {
        state.withLock { s in
            s.running.removeAll { $0.id == id }
            s.running.append(Running(id: id, attempt: attempt, since: .now))
        }
    }

    /// A task ended for good (or will not run): it leaves the region, and counts as done when `done`.
    func taskEnded(_ id: TaskID, done: Bool) {
        state.withLock { s in
            s.running.removeAll { $0.id == id }
            if done { s.done += 1 }
        }
    }

    /// Writes `bytes` (whole lines) above the region, then the region again.
    func write(_ bytes: [UInt8], to fd: Int32 = STDOUT_FILENO) {
        state.withLock { s in
            var out = erase(&s)
            if fd == STDOUT_FILENO {
                out += bytes
            } else {
                flush(out, to: STDOUT_FILENO)
                out = []
                flush(bytes, to: fd)
            }
            if !s.stopped { out += draw(&s) }
            flush(out, to: STDOUT_FILENO)
        }
    }

    /// Removes the region for good; false afterwards from `redraw`.
    func stop() {
        state.withLock { s in
            guard !s.stopped else { return }
            s.stopped = true
            flush(erase(&s), to: STDOUT_FILENO)
        }
    }

    @discardableResult
    private func redraw() -> Bool {
        state.withLock { s in
            guard !s.stopped else { return false }
            flush(erase(&s) + draw(&s), to: STDOUT_FILENO)
            return true
        }
    }

    private func flush(_ bytes: [UInt8], to fd: Int32) {
        guard !bytes.isEmpty else { return }
        if bytes.withUnsafeBufferPointer({ FileOutput.writeAll($0, to: fd) }) == EPIPE, fd == STDOUT_FILENO {
            // The terminal is gone: nothing more is drawn (and flow records the run as it does for a closed pipe).
            state.withLock { $0.stopped = true }
        }
    }

    /// Cursor to the region's first line, and everything from there down cleared.
    private func erase(_ s: inout State) -> [UInt8] {
        defer { s.drawnLines = 0 }
        return s.drawnLines == 0 ? [] : Array("\u{1B}[\(s.drawnLines)F\u{1B}[J".utf8)
    }

    private func draw(_ s: inout State) -> [UInt8] {
        let now = ContinuousClock.now
        let width = max(20, LiveRegion.columns() - 1)
        let idWidth = min(32, s.running.map(\.id.displayName.count).max() ?? 8)
        var lines: [String] = []
        for task in s.running.prefix(LiveRegion.shownRunning) {
            let shown = task.id.displayName
            let name = shown.padding(toLength: max(idWidth, shown.count), withPad: " ", startingAt: 0)
            var line = "  running  \(name)  \(LiveRegion.elapsed(now - task.since))"
            if task.attempt > 1 { line += "  attempt \(task.attempt)" }
            lines.append(line)
        }
        if s.running.count > LiveRegion.shownRunning { lines.append("  … and \(s.running.count - LiveRegion.shownRunning) more running") }
        let waiting = max(0, s.total - s.done - s.running.count)
        lines.append("  [\(s.done)/\(s.total)] \(s.running.count) running · \(waiting) waiting · \(LiveRegion.elapsed(now - s.started))")
        s.drawnLines = lines.count
        var out: [UInt8] = []
        for line in lines {
            // Cut to the terminal's width: a wrapped line would make the erase miss a row.
            let cut = line.count > width ? String(line.prefix(width - 1)) + "…" : line
            out += Array("\u{1B}[2m\(cut)\u{1B}[0m\n".utf8)
        }
        return out
    }

    static func elapsed(_ duration: Duration) -> String {
        let seconds = duration.seconds
        if seconds < 60 { return String(format: "%.1fs", seconds) }
        let total = Int(seconds)
        return total < 3600 ? "\(total / 60)m\(String(format: "%02d", total % 60))s" : "\(total / 3600)h\(String(format: "%02d", (total % 3600) / 60))m"
    }

    static func columns() -> Int {
        var size = winsize()
        guard ioctl(STDOUT_FILENO, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 else { return 80 }
        return Int(size.ws_col)
    }
}
