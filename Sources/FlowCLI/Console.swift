import FlowCore
import FlowProcess
import FlowEngine
import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Writes progress and results to stdout, diagnostics to stderr. Colour only on a terminal without NO_COLOR.
final class Console: Sendable {
    let useColor: Bool
    private let state = Mutex<(done: Int, total: Int, width: Int)>((0, 0, 12))

    init() {
        useColor = isatty(STDOUT_FILENO) == 1 && (HostEnvironment.value("NO_COLOR") ?? "").isEmpty && HostEnvironment.value("TERM") != "dumb"
    }

    static func out(_ text: String) {
        if FileOutput.writeAll(text + "\n", to: STDOUT_FILENO) == EPIPE { stdoutClosed() }
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
        FileOutput.writeAll(text.hasSuffix("\n") ? text : text + "\n", to: STDERR_FILENO)
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

    func begin(total: Int, width: Int) {
        state.withLock { $0 = (0, total, min(max(width, 8), 32)) }
    }

    /// Renders one engine event as a progress line, built as bytes and written with one write(2): a line per
    /// task start and end, so string interpolation and padding here were a twentieth of flow's work per task.
    func handle(_ event: EngineEvent) {
        var line = ProgressLine(color: useColor)
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
            case .taskFinished(let id, let status, _, let duration, let error, _):
                if status == .succeeded {
                    line.word("ok", "32")
                } else {
                    line.word(Console.word(status), Console.code(status))
                }
                line.id(id, width: s.width)
                line.text("  " + DurationFormat.format(duration))
                if let error { line.text("  " + error) }
            case .taskReused(let id):
                line.word("reused", "32")
                line.id(id, width: s.width)
                line.text("  succeeded earlier in this run")
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
        line.write(to: STDOUT_FILENO)
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
