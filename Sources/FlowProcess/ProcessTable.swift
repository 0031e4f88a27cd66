import FlowCore
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// What `/proc/PID/stat` says about a process: the one place flow parses it.
package enum ProcessTable {
    package struct Stat: Sendable, Hashable {
        /// `Z` (zombie) or `X` (dead): gone, though not yet reaped.
        package var isDead: Bool
        package var group: Int32
        /// Clock ticks after boot at which it started.
        package var startTicks: Double
    }

    package static func stat(of pid: Int32) -> Stat? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = text.lastIndex(of: ")") else { return nil }
        // Fields after the command name, which may itself hold spaces and parentheses: state, ppid, pgrp, …,
        // starttime (field 22 of the whole line).
        let fields = text[text.index(after: close)...].split(separator: " ")
        guard fields.count > 19, let group = Int32(fields[2]), let ticks = Double(fields[19]) else { return nil }
        return Stat(isDead: fields[0] == "Z" || fields[0] == "X", group: group, startTicks: ticks)
    }

    /// When the live process `pid` started; nil if there is none.
    /// This process's own executable, as an absolute path (`/proc/self/exe`); `argv[0]` made absolute if that
    /// cannot be read.
    package static func executablePath() -> String {
        let path = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return FilePath.absolute(path)
    }

    package static func startTime(of pid: Int32) -> Date? {
        guard let stat = stat(of: pid), !stat.isDead, let boot = bootTime else { return nil }
        let hz = Double(sysconf(Int32(_SC_CLK_TCK)))
        return Date(timeIntervalSince1970: boot + stat.startTicks / (hz > 0 ? hz : 100))
    }

    private static var bootTime: Double? {
        guard let text = try? String(contentsOfFile: "/proc/stat", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("btime ") {
            return Double(line.dropFirst(6).trimmingCharacters(in: .whitespaces))
        }
        return nil
    }
}
