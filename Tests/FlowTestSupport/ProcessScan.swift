import Foundation

/// Looks at /proc for processes, as `ps` would.
package enum ProcessScan {
    /// Whether `pid` is a live process (zombies are not).
    package static func isRunning(_ pid: Int32) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return false }
        let state = stat[stat.index(close, offsetBy: 2)]
        return state != "Z" && state != "X"
    }

    /// Whether a live process has `text` in its command line and a working directory under `folder`.
    package static func anyProcess(matching text: String, under folder: String) -> Bool {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return false }
        for entry in entries where entry.allSatisfy(\.isNumber) {
            guard let pid = Int32(entry), isRunning(pid),
                  let cmd = try? String(contentsOfFile: "/proc/\(entry)/cmdline", encoding: .utf8),
                  cmd.replacingOccurrences(of: "\0", with: " ").contains(text),
                  let cwd = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(entry)/cwd"),
                  cwd.hasPrefix(folder) else { continue }
            return true
        }
        return false
    }
}
