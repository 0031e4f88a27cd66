import FlowCore
import Foundation
import Synchronization

/// What `install` and `uninstall` do to the system: files, `systemctl --user`, `crontab`.
extension ScheduleInstaller {
    /// Writes the entry (unchanged when it is already there), checks it, and turns it on unless `enable` is off.
    func install(dryRun: Bool, enable: Bool) throws(CommandFailure) {
        try checkPaths()
        switch target {
        case .systemd: try installSystemd(dryRun: dryRun, enable: enable)
        case .cron: try installCron(dryRun: dryRun)
        }
    }

    func uninstall(dryRun: Bool, enable: Bool) throws(CommandFailure) {
        switch target {
        case .systemd: try uninstallSystemd(dryRun: dryRun, enable: enable)
        case .cron: try uninstallCron(dryRun: dryRun)
        }
    }

    // MARK: systemd

    private func installSystemd(dryRun: Bool, enable: Bool) throws(CommandFailure) {
        let files = [(servicePath, service), (timerPath, timer)]
        for (path, _) in files { try refuseForeign(path) }
        let changed = files.filter { path, text in (try? String(contentsOfFile: path, encoding: .utf8)) != text }
        let commands = enable ? [["systemctl", "--user", "daemon-reload"], ["systemctl", "--user", "enable", "--now", "\(identity).timer"]] : []
        if dryRun {
            for (path, text) in files {
                Console.out("would write \(path)\(changed.contains { $0.0 == path } ? "" : " (unchanged)"):")
                Console.out(text.split(separator: "\n", omittingEmptySubsequences: false).map { "  " + $0 }.joined(separator: "\n"))
            }
            for command in commands { Console.out("would run: \(command.joined(separator: " "))") }
            return
        }
        do {
            try FileManager.default.createDirectory(atPath: unitDirectory, withIntermediateDirectories: true)
            for (path, text) in changed { try Data(text.utf8).write(to: URL(fileURLWithPath: path), options: .atomic) }
        } catch {
            throw CommandFailure(.internalError, "flow: cannot write the units in \(unitDirectory): \(error.localizedDescription)")
        }
        Console.out(changed.isEmpty ? "\(identity): units unchanged in \(unitDirectory)"
                    : "\(identity): wrote \(changed.map { FilePath.stem($0.0) + "." + ($0.0.hasSuffix(".timer") ? "timer" : "service") }.joined(separator: " and ")) in \(unitDirectory)")
        if let verify = ExternalCommand.find("systemd-analyze") {
            // Offline, in the system manager's mode: the user mode needs a running user manager.
            let result = ExternalCommand.run(verify, ["verify", servicePath, timerPath], environment: environment)
            guard result.status == 0 else {
                throw CommandFailure(.internalError, "flow: systemd-analyze verify refused the units it wrote:\n\(result.output)")
            }
            Console.out("\(identity): systemd-analyze verify accepts the units")
        }
        for command in commands { try runRequired(command, what: "turn the timer on") }
        if enable {
            Console.out("\(identity): every \(Self.everyMinutes) minutes: \(tickArguments.prefix(3).joined(separator: " ")) (see: systemctl --user list-timers)")
            Console.out("note: a user timer runs while you are logged in; to run it always: loginctl enable-linger \(environment["USER"] ?? "$USER")")
        }
    }

    private func uninstallSystemd(dryRun: Bool, enable: Bool) throws(CommandFailure) {
        let present = [timerPath, servicePath].filter { FileManager.default.fileExists(atPath: $0) }
        guard !present.isEmpty else { return Console.out("\(identity): nothing installed in \(unitDirectory)") }
        for path in present { try refuseForeign(path) }
        let stop = ["systemctl", "--user", "disable", "--now", "\(identity).timer"]
        let reload = ["systemctl", "--user", "daemon-reload"]
        if dryRun {
            if enable { Console.out("would run: \(stop.joined(separator: " "))") }
            for path in present { Console.out("would remove \(path)") }
            if enable { Console.out("would run: \(reload.joined(separator: " "))") }
            return
        }
        if enable, FileManager.default.fileExists(atPath: timerPath) { try runRequired(stop, what: "turn the timer off") }
        for path in present {
            do { try FileManager.default.removeItem(atPath: path) } catch {
                throw CommandFailure(.internalError, "flow: cannot remove \(path): \(error.localizedDescription)")
            }
        }
        if enable { try runRequired(reload, what: "reload the units") }
        Console.out("\(identity): removed \(present.map { ($0 as NSString).lastPathComponent }.joined(separator: " and "))")
    }

    /// A unit of that name that flow did not write is the user's: never overwritten or removed.
    private func refuseForeign(_ path: String) throws(CommandFailure) {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return }
        guard text.hasPrefix(marker) else {
            throw CommandFailure(.internalError, "flow: \(path) exists and was not written by flow schedule install for this project; "
                                 + "left as it is (move it away to install)")
        }
    }

    private func runRequired(_ command: [String], what: String) throws(CommandFailure) {
        guard let program = ExternalCommand.find(command[0]) else {
            throw CommandFailure(.internalError, "flow: \(command[0]) is not installed; cannot \(what). Run by hand: \(command.joined(separator: " "))")
        }
        let result = ExternalCommand.run(program, Array(command.dropFirst()), environment: environment)
        guard result.status == 0 else {
            throw CommandFailure(.internalError, "flow: \(command.joined(separator: " ")) failed (exit \(result.status)): "
                                 + result.output.trimmingCharacters(in: .whitespacesAndNewlines)
                                 + "\nnote: the unit files are in \(unitDirectory); run the command again once systemd's user manager is running")
        }
    }

    // MARK: cron

    private func currentCrontab() throws(CommandFailure) -> (program: String, lines: [String]) {
        guard let crontab = ExternalCommand.find("crontab") else {
            throw CommandFailure(.internalError, "flow: crontab is not installed (apt-get install cron), or use --systemd")
        }
        let listed = ExternalCommand.run(crontab, ["-l"], environment: environment)
        // `crontab -l` fails with "no crontab for USER" when there is none: an empty table.
        if listed.status != 0 && !listed.output.lowercased().contains("no crontab") {
            throw CommandFailure(.internalError, "flow: crontab -l failed (exit \(listed.status)): \(listed.output)")
        }
        let text = listed.status == 0 ? listed.stdout : ""
        var lines = text.components(separatedBy: "\n")
        if lines.last == "" { lines.removeLast() }
        return (crontab, lines)
    }

    private func writeCrontab(_ program: String, _ lines: [String]) throws(CommandFailure) {
        let result = ExternalCommand.run(program, ["-"], input: lines.map { $0 + "\n" }.joined(), environment: environment)
        guard result.status == 0 else {
            throw CommandFailure(.internalError, "flow: crontab - failed (exit \(result.status)): \(result.output)")
        }
    }

    private func installCron(dryRun: Bool) throws(CommandFailure) {
        if dryRun, ExternalCommand.find("crontab") == nil {
            return Console.out("would add to the crontab (crontab is not installed here):\n  \(cronLine)")
        }
        let (program, lines) = try currentCrontab()
        let kept = lines.filter { !$0.hasSuffix(marker) }
        let updated = kept + [cronLine]
        guard updated != lines else { return Console.out("\(identity): crontab line unchanged") }
        if dryRun { return Console.out("would add to the crontab (replacing an earlier line of this project):\n  \(cronLine)") }
        try? FileManager.default.createDirectory(atPath: FilePath.directory(of: logPath), withIntermediateDirectories: true)
        try writeCrontab(program, updated)
        Console.out("\(identity): crontab line \(kept.count == lines.count ? "added" : "updated"): every \(Self.everyMinutes) minutes, output in \(logPath)")
    }

    private func uninstallCron(dryRun: Bool) throws(CommandFailure) {
        let (program, lines) = try currentCrontab()
        let kept = lines.filter { !$0.hasSuffix(marker) }
        guard kept.count != lines.count else { return Console.out("\(identity): no crontab line to remove") }
        if dryRun { return Console.out("would remove from the crontab:\n" + lines.filter { $0.hasSuffix(marker) }.map { "  " + $0 }.joined(separator: "\n")) }
        try writeCrontab(program, kept)
        Console.out("\(identity): crontab line removed")
    }
}

/// Another program, run to its end: stdout, and stdout with stderr for messages.
enum ExternalCommand {
    struct Result {
        var status: Int32
        var stdout: String
        var output: String
    }

    static func find(_ name: String) -> String? {
        let path = HostEnvironment.value("PATH") ?? "/usr/bin:/bin"
        for folder in path.split(separator: ":") where !folder.isEmpty {
            let candidate = "\(folder)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }

    static func run(_ program: String, _ arguments: [String], input: String? = nil, environment: [String: String]) -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: program)
        process.arguments = arguments
        process.environment = environment
        let out = Pipe()
        let err = Pipe()
        let stdin = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = input == nil ? FileHandle.nullDevice : stdin
        do { try process.run() } catch { return Result(status: 127, stdout: "", output: "\(error)") }
        if let input {
            stdin.fileHandleForWriting.write(Data(input.utf8))
            try? stdin.fileHandleForWriting.close()
        }
        // Read both to the end before waiting: a full pipe would block the child.
        let errorText = Mutex(Data())
        let done = DispatchSemaphore(value: 0)
        Thread {
            let data = err.fileHandleForReading.readDataToEndOfFile()
            errorText.withLock { $0 = data }
            done.signal()
        }.start()
        let outText = out.fileHandleForReading.readDataToEndOfFile()
        done.wait()
        process.waitUntilExit()
        let stdout = String(decoding: outText, as: UTF8.self)
        return Result(status: process.terminationStatus, stdout: stdout,
                      output: stdout + String(decoding: errorText.withLock { $0 }, as: UTF8.self))
    }
}
