import FlowCore
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
        useColor = isatty(STDOUT_FILENO) == 1 && HostEnvironment.value("NO_COLOR") == nil && HostEnvironment.value("TERM") != "dumb"
    }

    static func out(_ text: String) {
        TaskLog.writeAll(text + "\n", to: STDOUT_FILENO)
    }

    static func err(_ text: String) {
        TaskLog.writeAll(text.hasSuffix("\n") ? text : text + "\n", to: STDERR_FILENO)
    }

    func paint(_ text: String, _ code: String) -> String {
        useColor ? "\u{1B}[\(code)m\(text)\u{1B}[0m" : text
    }

    func paint(_ status: TaskStatus) -> String {
        let word = status.rawValue.replacingOccurrences(of: "_", with: " ")
        switch status {
        case .succeeded, .reused: return paint(word, "32")
        case .failed, .timedOut: return paint(word, "31;1")
        case .skipped, .pending: return paint(word, "2")
        case .interrupted: return paint(word, "33")
        case .running: return paint(word, "36")
        }
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

    /// Renders one engine event as a progress line.
    func handle(_ event: EngineEvent) {
        let line: String = state.withLock { s in
            func pad(_ id: TaskID) -> String {
                let length = id.rawValue.count
                return length >= s.width ? id.rawValue : id.rawValue + String(repeating: " ", count: s.width - length)
            }
            func counter() -> String {
                let digits = String(s.total).count
                let done = String(s.done)
                return "[" + String(repeating: " ", count: max(0, digits - done.count)) + done + "/\(s.total)]"
            }
            switch event {
            case .taskStarted(let id, let attempt):
                return "\(counter()) \(paint("start", "36"))    \(pad(id))" + (attempt > 1 ? "  attempt \(attempt)" : "")
            case .taskRetrying(let id, let attempt, let delay, let error):
                return "\(counter()) \(paint("retry", "33"))    \(pad(id))  attempt \(attempt) failed: \(error); retrying in \(DurationFormat.format(delay))"
            case .taskFinished(let id, let status, _, let duration, let error):
                s.done += 1
                let word = status == .succeeded ? paint("ok", "32") + "       " : paint(status) + String(repeating: " ", count: max(1, 9 - status.rawValue.count))
                return "\(counter()) \(word)\(pad(id))  \(DurationFormat.format(duration))" + (error.map { "  \($0)" } ?? "")
            case .taskReused(let id):
                s.done += 1
                return "\(counter()) \(paint("reused", "32"))   \(pad(id))  succeeded earlier in this run"
            case .taskSkipped(let id, let reason):
                s.done += 1
                return "\(counter()) \(paint("skipped", "2"))  \(pad(id))  \(reason)"
            case .taskNotStarted(let id, let reason):
                return "\(counter()) \(paint("pending", "2"))  \(pad(id))  \(reason)"
            }
        }
        Console.out(line)
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
