import FlowCore
import Foundation

/// `flow schedule install|uninstall (--systemd | --cron)`: an OS entry that wakes flow every few minutes to run
/// `flow schedule tick` for one project (or one workflow of it). The entry never encodes a cron expression —
/// systemd ANDs the day fields and skips DST ticks, Debian's cron has no `CRON_TZ` — the schedule and its DST
/// rules stay in the workflow. Everything it writes carries a marker naming the project, and uninstall removes
/// exactly what carries it.
struct ScheduleInstaller {
    enum Target: String { case systemd, cron }

    /// Minutes between two wake-ups: well inside a schedule's default 15-minute grace.
    static let everyMinutes = 5

    var target: Target
    /// Absolute paths.
    var projectDirectory: String
    var workflowsDirectory: String
    var statePath: String?
    var flowPath: String
    /// Only this workflow's ticks; every scheduled workflow of the project when nil.
    var workflow: String?
    var environment: [String: String]

    /// `flow-tick-market-1a2b3c4d` (or `…-daily-update`): the project folder's name and a hash of its path, so two
    /// projects with one folder name get two entries.
    var identity: String {
        let hash = SHA256.hex(projectDirectory).prefix(8)
        var parts = ["flow-tick", Self.slug(FilePath.stem(projectDirectory)), String(hash)]
        if let workflow { parts.append(Self.slug(workflow)) }
        return parts.filter { !$0.isEmpty }.joined(separator: "-")
    }

    var marker: String { "# flow schedule install: \(identity) (\(projectDirectory))" }

    static func slug(_ text: String) -> String {
        let mapped = text.lowercased().unicodeScalars.map { c -> Character in
            (c.isASCII && (c.properties.isAlphabetic || ("0"..."9").contains(c))) ? Character(c) : "-"
        }
        let collapsed = String(mapped).split(separator: "-").joined(separator: "-")
        return String(collapsed.prefix(32))
    }

    /// The arguments after the flow binary: absolute paths, so the entry works from any folder.
    var tickArguments: [String] {
        var arguments = ["schedule", "tick"]
        if let workflow { arguments.append(workflow) }
        arguments += ["--workflows", workflowsDirectory]
        if let statePath { arguments += ["--state", statePath] }
        return arguments
    }

    /// Refuses paths that no unit file or crontab line can hold.
    func checkPaths() throws(CommandFailure) {
        for path in [projectDirectory, workflowsDirectory, flowPath] + (statePath.map { [$0] } ?? []) {
            if path.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) {
                throw CommandFailure(.usage, "flow: cannot install a timer for a path with a line break or control character: "
                                     + Console.shown(path))
            }
        }
    }

    // MARK: systemd

    var unitDirectory: String {
        let config = environment["XDG_CONFIG_HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? ((environment["HOME"] ?? "~") + "/.config")
        return config + "/systemd/user"
    }

    var servicePath: String { unitDirectory + "/\(identity).service" }
    var timerPath: String { unitDirectory + "/\(identity).timer" }

    /// A value in a unit file: `%` would start a specifier.
    static func unitText(_ text: String) -> String { text.replacingOccurrences(of: "%", with: "%%") }

    /// One word of `ExecStart=` or `Environment=`, double-quoted with C escapes; `$` and `%` doubled.
    static func unitWord(_ text: String) -> String {
        var out = "\""
        for c in text {
            switch c {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "%": out += "%%"
            case "$": out += "$$"
            default: out.append(c)
            }
        }
        return out + "\""
    }

    var service: String {
        var lines = [
            marker,
            "[Unit]",
            "Description=" + Self.unitText("flow scheduler pass for \(projectDirectory)\(workflow.map { " (\($0))" } ?? "")"),
            "",
            "[Service]",
            "Type=oneshot",
            "WorkingDirectory=" + Self.unitText(projectDirectory),
            // Secrets (DATABENTO_API_KEY, ALERT_URL) live in this file, never in the unit.
            "EnvironmentFile=-" + Self.unitText(projectDirectory + "/flow.env"),
        ]
        if let path = environment["PATH"], !path.isEmpty { lines.append("Environment=" + Self.unitWord("PATH=" + path)) }
        lines += [
            "ExecStart=" + ([flowPath] + tickArguments).map(Self.unitWord).joined(separator: " "),
            // A stopped pass leaves its run interrupted; the next pass resumes it.
            "TimeoutStopSec=60",
        ]
        return lines.joined(separator: "\n") + "\n"
    }

    var timer: String {
        [
            marker,
            "[Unit]",
            "Description=" + Self.unitText("wake flow every \(Self.everyMinutes) minutes for \(projectDirectory)"),
            "",
            "[Timer]",
            "OnCalendar=*:0/\(Self.everyMinutes)",
            "AccuracySec=30s",
            "Unit=\(identity).service",
            "",
            "[Install]",
            "WantedBy=timers.target",
        ].joined(separator: "\n") + "\n"
    }

    // MARK: cron

    /// Single quotes for sh; `%` is a line break to cron unless escaped.
    static func cronWord(_ text: String) -> String {
        "'" + text.replacingOccurrences(of: "'", with: "'\\''").replacingOccurrences(of: "%", with: "\\%") + "'"
    }

    var cronLine: String {
        let project = Self.cronWord(projectDirectory)
        let env = "{ [ ! -f flow.env ] || { set -a; . ./flow.env; set +a; }; }"
        let command = ([flowPath] + tickArguments).map(Self.cronWord).joined(separator: " ")
        return "*/\(Self.everyMinutes) * * * * cd \(project) && \(env) && \(command) >> \(Self.cronWord(logPath)) 2>&1 \(marker)"
    }

    var logPath: String { FilePath.directory(of: statePath ?? projectDirectory + "/.flow/state.db") + "/schedule-tick.log" }
}
