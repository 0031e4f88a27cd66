import Foundation
import FlowTestSupport
import Testing

extension EndToEnd {
    /// `flow schedule install|uninstall` against a temporary HOME, with recording stand-ins for `systemctl` and
    /// `crontab` first on PATH, and the real `systemd-analyze` where it is installed.
    @Suite("flow schedule install and uninstall, end to end")
    struct ScheduleInstallEndToEndTests {
        /// A project in a folder whose name holds what unit files and crontab lines must escape.
        final class Setup: @unchecked Sendable {
            let base = TemporaryDirectory("flow-install")
            var home: String { base.path + "/home" }
            var bin: String { base.path + "/bin" }
            var project: String { base.path + "/my market 100% $HOME 'q' \"d\"" }
            var unitDir: String { home + "/.config/systemd/user" }

            init() throws {
                for folder in [home, bin, project + "/workflows"] {
                    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
                }
                try """
                    schedule:
                      cron: "0 20 * * *"
                      timezone: Australia/Brisbane
                    tasks:
                      work:
                        run: echo work
                    """.write(toFile: project + "/workflows/nightly.yaml", atomically: true, encoding: .utf8)
                // Stand-ins that record their arguments; crontab keeps its table in a file, as the real one does.
                try script("systemctl", "echo \"$*\" >> \"\(base.path)/systemctl.log\"")
                try script("crontab", """
                    table="\(base.path)/crontab.txt"
                    if [ "$1" = "-l" ]; then
                      [ -f "$table" ] || { echo "no crontab for $USER" >&2; exit 1; }
                      cat "$table"
                    elif [ "$1" = "-" ]; then
                      cat > "$table"
                    else
                      exit 2
                    fi
                    """)
            }

            func script(_ name: String, _ body: String) throws {
                let path = bin + "/" + name
                try ("#!/bin/sh\n" + body + "\n").write(toFile: path, atomically: true, encoding: .utf8)
                try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: path)
            }

            var env: [String: String] {
                ["HOME": home, "XDG_CONFIG_HOME": "", "PATH": bin + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")]
            }

            func flow(_ arguments: String...) async throws -> FlowBinary.Result {
                try await FlowBinary.run(arguments, in: project, environment: env)
            }

            var systemctlCalls: [String] { base.lines("systemctl.log") }
            var crontab: [String] { base.lines("crontab.txt") }

            func units() -> [String] {
                ((try? FileManager.default.contentsOfDirectory(atPath: unitDir)) ?? []).sorted()
            }

            /// Runs the words of `ExecStart=` as systemd would: unquoted, `$$` and `%%` undoubled.
            static func words(ofExecStart line: String) -> [String] {
                var words: [String] = []
                var current = ""
                var quoted = false
                var escaped = false
                for c in line.dropFirst("ExecStart=".count) {
                    if escaped { current.append(c); escaped = false; continue }
                    if c == "\\" && quoted { escaped = true; continue }
                    if c == "\"" { quoted.toggle(); continue }
                    if c == " " && !quoted { if !current.isEmpty { words.append(current) }; current = ""; continue }
                    current.append(c)
                }
                if !current.isEmpty { words.append(current) }
                return words.map { $0.replacingOccurrences(of: "$$", with: "$").replacingOccurrences(of: "%%", with: "%") }
            }
        }

        @Test("--systemd writes a service and a timer that systemd-analyze accepts, enables it, is idempotent, and uninstall removes exactly them")
        func systemd() async throws {
            let s = try Setup()
            let dry = try await s.flow("schedule", "install", "--systemd", "--dry-run")
            #expect(dry.status == 0, "\(dry.stdout)\(dry.stderr)")
            #expect(dry.stdout.contains("would run: systemctl --user enable --now flow-tick-my-market-100-home-q-d-"), "\(dry.stdout)")
            #expect(s.units().isEmpty && s.systemctlCalls.isEmpty, "a dry run changes nothing")

            let install = try await s.flow("schedule", "install", "--systemd")
            #expect(install.status == 0, "\(install.stdout)\(install.stderr)")
            let units = s.units()
            #expect(units.count == 2 && units.allSatisfy { $0.hasPrefix("flow-tick-my-market-100-home-q-d-") })
            #expect(units.first?.hasSuffix(".service") == true && units.last?.hasSuffix(".timer") == true)
            if FileManager.default.isExecutableFile(atPath: "/usr/bin/systemd-analyze") {
                #expect(install.stdout.contains("systemd-analyze verify accepts the units"), "\(install.stdout)")
            }
            let timerName = try #require(units.last)
            #expect(s.systemctlCalls == ["--user daemon-reload", "--user enable --now \(timerName)"])
            let service = try String(contentsOfFile: s.unitDir + "/" + (units.first ?? ""), encoding: .utf8)
            let timer = try String(contentsOfFile: s.unitDir + "/" + timerName, encoding: .utf8)
            // The unit names carry a hash of the project's path, which may hold any digits: look at the calendar lines.
            let calendars = timer.split(separator: "\n").filter { $0.hasPrefix("OnCalendar=") }
            #expect(calendars == ["OnCalendar=*:0/5"] && !timer.contains("20:00"), "the timer only wakes flow; the schedule stays in the workflow")
            #expect(service.contains("WorkingDirectory=" + s.project.replacingOccurrences(of: "%", with: "%%") + "\n"))
            // The service's command, run as systemd would run it from another folder, is a real scheduler pass.
            let exec = try #require(service.split(separator: "\n").first { $0.hasPrefix("ExecStart=") })
            let words = Setup.words(ofExecStart: String(exec))
            #expect(words.first?.hasPrefix("/") == true && words.dropFirst().prefix(2) == ["schedule", "tick"])
            let pass = try await FlowBinary.runProgram(try #require(words.first), Array(words.dropFirst()), in: "/", environment: s.env)
            #expect(pass.status == 0 && pass.stdout.contains("nightly: schedule starts"), "\(pass.stdout)\(pass.stderr)")
            #expect(FileManager.default.fileExists(atPath: s.project + "/.flow/state.db"), "the pass used the project's state, not /")

            let again = try await s.flow("schedule", "install", "--systemd")
            #expect(again.status == 0 && again.stdout.contains("units unchanged"), "\(again.stdout)")
            #expect(s.units() == units)

            let remove = try await s.flow("schedule", "uninstall", "--systemd")
            #expect(remove.status == 0, "\(remove.stdout)\(remove.stderr)")
            #expect(s.units().isEmpty)
            #expect(s.systemctlCalls.suffix(2) == ["--user disable --now \(timerName)", "--user daemon-reload"])
            let twice = try await s.flow("schedule", "uninstall", "--systemd")
            #expect(twice.status == 0 && twice.stdout.contains("nothing installed"))
        }

        @Test("a unit of that name that flow did not write is never overwritten or removed")
        func foreignUnit() async throws {
            let s = try Setup()
            #expect(try await s.flow("schedule", "install", "--systemd", "--no-enable").status == 0)
            let service = try #require(s.units().first)
            try "[Service]\nExecStart=/bin/true\n".write(toFile: s.unitDir + "/" + service, atomically: true, encoding: .utf8)
            let install = try await s.flow("schedule", "install", "--systemd", "--no-enable")
            #expect(install.status == 70)
            #expect(install.stderr.contains("was not written by flow schedule install"), "\(install.stderr)")
            #expect(try await s.flow("schedule", "uninstall", "--systemd", "--no-enable").status == 70)
            #expect(try String(contentsOfFile: s.unitDir + "/" + service, encoding: .utf8) == "[Service]\nExecStart=/bin/true\n")
            #expect(s.systemctlCalls.isEmpty, "--no-enable never calls systemctl")
        }

        @Test("--cron adds one line (keeping the user's), which cron's shell runs from anywhere; install twice keeps one; uninstall removes only it")
        func cron() async throws {
            let s = try Setup()
            try "MAILTO=me@example.com\n0 3 * * * /usr/bin/backup\n".write(toFile: s.base.path + "/crontab.txt", atomically: true, encoding: .utf8)
            let install = try await s.flow("schedule", "install", "nightly", "--cron")
            #expect(install.status == 0, "\(install.stdout)\(install.stderr)")
            #expect(try await s.flow("schedule", "install", "nightly", "--cron").stdout.contains("unchanged"))
            let table = s.crontab
            #expect(table.count == 3 && table.prefix(2) == ["MAILTO=me@example.com", "0 3 * * * /usr/bin/backup"])
            let line = try #require(table.last)
            #expect(line.hasPrefix("*/5 * * * * cd '"), "\(line)")
            // cron turns `\%` into `%` and hands the rest to /bin/sh, from the user's home.
            let command = String(line.dropFirst("*/5 * * * * ".count)).replacingOccurrences(of: "\\%", with: "%")
            let pass = try await FlowBinary.runProgram("/bin/sh", ["-c", command], in: s.home, environment: s.env)
            #expect(pass.status == 0, "\(pass.stdout)\(pass.stderr)")
            let log = (try? String(contentsOfFile: s.project + "/.flow/schedule-tick.log", encoding: .utf8)) ?? ""
            #expect(log.contains("nightly: schedule starts"), "\(log)")

            #expect(try await s.flow("schedule", "uninstall", "nightly", "--cron").status == 0)
            #expect(s.crontab == ["MAILTO=me@example.com", "0 3 * * * /usr/bin/backup"])
        }

        @Test("usage: one of --systemd or --cron; a workflow without a schedule is refused")
        func usage() async throws {
            let s = try Setup()
            #expect(try await s.flow("schedule", "install").status == 2)
            #expect(try await s.flow("schedule", "install", "--systemd", "--cron").status == 2)
            try "tasks:\n  a:\n    run: echo a\n".write(toFile: s.project + "/workflows/plain.yaml", atomically: true, encoding: .utf8)
            let plain = try await s.flow("schedule", "install", "plain", "--systemd")
            #expect(plain.status == 2 && plain.stderr.contains("'plain' has no schedule"), "\(plain.stderr)")
            #expect(s.units().isEmpty)
        }
    }
}
