import ArgumentParser
import FlowCore
import Foundation
import Logging
#if canImport(Glibc)
import Glibc
#endif

/// `flow`: the root command.
package struct FlowCommand: AsyncParsableCommand {
    package static let configuration = CommandConfiguration(
        commandName: "flow",
        abstract: "A declarative workflow runner: YAML tasks, a parallel DAG, SQLite checkpoints, resume after any failure.",
        version: "0.1.0",
        subcommands: [RunCommand.self, ResumeCommand.self, PlanCommand.self, ValidateCommand.self, StatusCommand.self,
                      HistoryCommand.self, LogsCommand.self, ListCommand.self, GraphCommand.self])

    package init() {}

    /// Parses arguments and runs, mapping every outcome to flow's exit codes (usage errors exit 2).
    package static func execute(arguments: [String]? = nil) async -> Never {
        do {
            var command = try parseAsRoot(arguments)
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
            Glibc.exit(0)
        } catch let failure as CommandFailure {
            Console.err(failure.message)
            Glibc.exit(failure.exit.rawValue)
        } catch {
            let code = exitCode(for: error)
            if code == .success {
                // --help, --version
                Console.out(fullMessage(for: error))
                Glibc.exit(0)
            }
            if code.rawValue == 64 || code == .validationFailure {
                Console.err(fullMessage(for: error))
                Glibc.exit(FlowExit.usage.rawValue)
            }
            if let exitCode = error as? ExitCode { Glibc.exit(exitCode.rawValue) }
            Console.err("flow: \(fullMessage(for: error))")
            Glibc.exit(code.rawValue)
        }
    }
}

/// Sets up swift-log once, from `--log-level` or `FLOW_LOG_LEVEL`; flow's own messages go to stderr.
enum LogSetup {
    nonisolated(unsafe) private static var done = false

    static func bootstrap(_ option: String?) throws(CommandFailure) {
        let text = option ?? HostEnvironment.value("FLOW_LOG_LEVEL") ?? "notice"
        guard let level = Logger.Level(rawValue: text.lowercased()) else {
            throw CommandFailure(.usage, "flow: unknown log level '\(text.prefix(20))'; use trace, debug, info, notice, warning, error or critical")
        }
        guard !done else { return }
        done = true
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
    }
}
