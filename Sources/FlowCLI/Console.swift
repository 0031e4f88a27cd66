import FlowCore
import FlowProcess
import FlowEngine
import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Writes progress and results to stdout, diagnostics to stderr. Colour only on a terminal without NO_COLOR.
///
/// Commands that run workflows choose how (`configureForRun`): on a terminal, a live region of running tasks under
/// the event lines; piped, with NO_COLOR or `--plain`, plain lines, each with a timestamp, so a cron log tells
/// evenings apart. Other commands print as they are.
final class Console: Sendable {
    enum Mode: Sendable { case basic, plain, live }

    let useColor: Bool
    private let state = Mutex<(done: Int, total: Int, width: Int)>((0, 0, 12))
    /// Tasks an earlier part of this run already reported (before a foreach was expanded): their reuse now is
    /// counted, not printed again.
    private let reported = Mutex<Set<TaskID>>([])
    private static let mode = Mutex(Mode.basic)
    /// The live region of the run being shown, which every line written meanwhile goes above.
    private static let region = Mutex<LiveRegion?>(nil)

    /// Lines of a failed task's output shown under its `failed` line.
    static let failureLines = 10

    static var isTerminal: Bool {
        isatty(STDOUT_FILENO) == 1 && (HostEnvironment.value("NO_COLOR") ?? "").isEmpty && HostEnvironment.value("TERM") != "dumb"
    }

    /// For `run`, `resume`, `schedule tick` and `scheduler`: live on a terminal unless `plain`, else timestamped lines.
    static func configureForRun(plain: Bool) {
        mode.withLock { $0 = isTerminal && !plain ? .live : .plain }
    }

    init() {
        useColor = Console.isTerminal && Console.mode.withLock { $0 } != .plain
    }

    static func out(_ text: String) {
        let bytes = Array((text + "\n").utf8)
        if let region = region.withLock({ $0 }) { return region.write(bytes) }
        write(mode.withLock { $0 } == .plain ? stamped(bytes) : bytes)
    }

    private static func write(_ bytes: [UInt8]) {
        if bytes.withUnsafeBufferPointer({ FileOutput.writeAll($0, to: STDOUT_FILENO) }) == EPIPE { stdoutClosed() }
    }

    /// Every line of `bytes` after a timestamp: local time with its offset, to the second.
    static func stamped(_ bytes: [UInt8]) -> [UInt8] {
        let stamp = currentStamp()
        // One line, the usual case: no scan.
        if let newline = bytes.firstIndex(of: UInt8(ascii: "\n")), newline == bytes.count - 1 { return stamp + bytes }
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count + stamp.count)
        var atStart = true
        for byte in bytes {
            if atStart { out += stamp }
            out.append(byte)
            atStart = byte == UInt8(ascii: "\n")
        }
        return out
    }

    /// The timestamp and a space, as bytes, made once per second: a run writes two lines per task.
    private static let stampCache = Mutex<(second: Int, bytes: [UInt8])>((-1, []))

    private static func currentStamp() -> [UInt8] {
        let now = time(nil)
        return stampCache.withLock { cache in
            if cache.second != now { cache = (now, Array((timestamp(now) + " ").utf8)) }
            return cache.bytes
        }
    }

    /// `2026-12-02T20:30:05+10:00`: glibc's localtime_r, which reads the zone once, not ICU's per-call lookups.
    static func timestamp(_ seconds: Int = time(nil)) -> String {
        var t = time_t(seconds)
        var parts = tm()
        localtime_r(&t, &parts)
        return ISOTime.format(Int64(seconds), offset: parts.tm_gmtoff)
    }

    /// What to do once stdout's reader is gone (flow ignores SIGPIPE so that it can record the run first).
    private static let closedHandler = Mutex<(@Sendable () -> Void)?>(nil)

    static func onStdoutClosed(_ handler: @escaping @Sendable () -> Void) {
        closedHandler.withLock { $0 = handler }
    }

    static func stdoutClosed() {
        closedHandler.withLock { $0 }?()
    }

    static func err(_ text: String) {
        let line = text.hasSuffix("\n") ? text : text + "\n"
        if let region = region.withLock({ $0 }) { return region.write(Array(line.utf8), to: STDERR_FILENO) }
        FileOutput.writeAll(line, to: STDERR_FILENO)
    }

    /// A value (a param, a file name) as a line of output can hold it: control characters escaped, at most 80 characters.
    static func shown(_ value: String) -> String {
        let out = escaped(String(value.unicodeScalars.prefix(80)))
        return value.unicodeScalars.count > 80 ? out + "..." : out
    }

    /// `value` with its control characters escaped (`\u{01}`), so it cannot move a terminal's cursor.
    static func escaped(_ value: String) -> String {
        guard value.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else { return value }
        var out = ""
        for scalar in value.unicodeScalars {
            out += scalar.properties.generalCategory == .control ? scalar.escaped(asASCII: true) : String(scalar)
        }
        return out
    }

    func paint(_ text: String, _ code: String) -> String {
        useColor ? "\u{1B}[\(code)m\(text)\u{1B}[0m" : text
    }

    func paint(_ status: TaskStatus) -> String {
        paint(Console.word(status), Console.code(status))
    }

    func paint(_ status: RunStatus) -> String {
        switch status {
        case .succeeded: return paint(status.rawValue, "32")
        case .failed: return paint(status.rawValue, "31;1")
        case .interrupted: return paint(status.rawValue, "33")
        case .running: return paint(status.rawValue, "36")
        }
    }

    /// The run goes on with a foreach expanded: `total` tasks now, `reported` of them already shown.
    func continueRun(total: Int, reported ids: Set<TaskID>) {
        state.withLock { $0.total = total }
        reported.withLock { $0 = ids }
        Console.region.withLock { $0?.setTotal(total) }
    }

    func begin(total: Int, width: Int) {
        state.withLock { $0 = (0, total, min(max(width, 8), 32)) }
        if Console.mode.withLock({ $0 }) == .live { Console.region.withLock { $0 = LiveRegion(total: total) } }
    }

    /// The run's events are over: the live region goes.
    func end() {
        let region = Console.region.withLock { r in
            defer { r = nil }
            return r
        }
        region?.stop()
    }

    /// Renders one engine event as a progress line, built as bytes and written with one write(2): a line per
    /// task start and end, so string interpolation and padding here were a twentieth of flow's work per task.
    func handle(_ event: EngineEvent) {
        var line = ProgressLine(color: useColor)
        var tail: [String] = []
        if case .taskReused(let id, nil) = event, reported.withLock({ $0.contains(id) }) { return }
        state.withLock { s in
            switch event {
            case .taskFinished, .taskReused, .taskSkipped: s.done += 1
            case .taskStarted, .taskRetrying, .taskNotStarted: break
            }
            line.counter(done: s.done, total: s.total)
            switch event {
            case .taskStarted(let id, let attempt):
                line.word("start", "36")
                line.id(id, width: s.width)
                if attempt > 1 { line.text("  attempt \(attempt)") }
            case .taskRetrying(let id, let attempt, let delay, let error):
                line.word("retry", "33")
                line.id(id, width: s.width)
                line.text("  attempt \(attempt) failed: \(error); retrying in \(DurationFormat.format(delay))")
            case .taskFinished(let id, let status, _, let duration, let error, let logTail):
                tail = Console.failureTail(logTail)
                if status == .succeeded {
                    line.word("ok", "32")
                } else {
                    line.word(Console.word(status), Console.code(status))
                }
                line.id(id, width: s.width)
                line.text("  " + DurationFormat.format(duration))
                if let error { line.text("  " + error) }
            case .taskReused(let id, let from):
                line.word("reused", "32")
                line.id(id, width: s.width)
                line.text(from.map { "  succeeded in run \($0) with the same inputs" } ?? "  succeeded earlier in this run")
            case .taskSkipped(let id, let reason):
                line.word("skipped", "2")
                line.id(id, width: s.width)
                line.text("  " + reason)
            case .taskNotStarted(let id, let reason):
                line.word("pending", "2")
                line.id(id, width: s.width)
                line.text("  " + reason)
            }
        }
        var bytes = line.bytes
        bytes.append(UInt8(ascii: "\n"))
        for text in tail { bytes += Array("      | \(text)\n".utf8) }
        if let region = Console.region.withLock({ $0 }) {
            switch event {
            case .taskStarted(let id, let attempt):
                // The region shows what runs; a start line would only push the finished ones away.
                return region.taskStarted(id, attempt: attempt)
            case .taskFinished(let id, _, _, _, _, _), .taskReused(let id, _), .taskSkipped(let id, _): region.taskEnded(id, done: true)
            case .taskNotStarted(let id, _): region.taskEnded(id, done: false)
            case .taskRetrying: break
            }
            return region.write(bytes)
        }
        Console.write(Console.mode.withLock { $0 } == .plain ? Console.stamped(bytes) : bytes)
    }

    /// What a failed task printed last, without flow's own note (its error is on the line above), each line
    /// with its control characters escaped so a task cannot move the terminal's cursor.
    static func failureTail(_ lines: [String]) -> [String] {
        lines.filter { !$0.hasPrefix("flow: attempt ") }.suffix(failureLines).map(escaped)
    }

    /// A status as people read it: `timed_out` is "timed out".
    static func word(_ status: TaskStatus) -> String {
        // Not Foundation's replacingOccurrences: its first call costs half a million instructions.
        status == .timedOut ? "timed out" : status.rawValue
    }

    static func code(_ status: TaskStatus) -> String {
        switch status {
        case .succeeded, .reused: return "32"
        case .failed, .timedOut: return "31;1"
        case .skipped, .pending: return "2"
        case .interrupted: return "33"
        case .running: return "36"
        }
    }
}

/// Renders rows as aligned columns.
struct Table {
    var header: [String]
    var rows: [[String]] = []

    func render() -> String {
        var widths = header.map(\.count)
        for row in rows { for (i, cell) in row.enumerated() where i < widths.count { widths[i] = max(widths[i], cell.count) } }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { i, cell in i == cells.count - 1 ? cell : cell.padding(toLength: widths[i], withPad: " ", startingAt: 0) }
                .joined(separator: "  ")
        }
        return ([line(header)] + rows.map(line)).joined(separator: "\n")
    }
}
