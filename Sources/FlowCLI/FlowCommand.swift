import FlowCore
import FlowEngine
import Foundation
import Logging
#if canImport(Glibc)
import Glibc
#endif

/// A `flow` subcommand: its arguments and options as data, how it is built from a parsed command line, and
/// what it does.
protocol Subcommand: Sendable {
    static var spec: CommandSpec { get }
    /// The spec to parse `words` (the command's arguments) with: `spec`, unless the first argument changes it.
    static func spec(for words: ArraySlice<String>) -> CommandSpec
    init(_ arguments: ParsedArguments) throws(CommandFailure)
    func run() async throws
}

/// `flow`: finds the subcommand, parses its arguments, runs it, and maps every outcome to flow's exit codes
/// (usage errors exit 2).
extension Subcommand {
    static func spec(for words: ArraySlice<String>) -> CommandSpec { spec }
}

package enum FlowCommand {
    static let version = "0.1.0"
    static let abstract = "A declarative workflow runner: YAML tasks, a parallel DAG, SQLite checkpoints, resume after any failure."
    static let subcommands: [any Subcommand.Type] = [
        RunCommand.self, ResumeCommand.self, PlanCommand.self, ValidateCommand.self, StatusCommand.self,
        HistoryCommand.self, LogsCommand.self, ListCommand.self, GraphCommand.self, ScheduleCommand.self, SchedulerCommand.self,
        SchemaCommand.self, CompletionCommand.self, ServeCommand.self, ReportCommand.self, StopCommand.self, PruneCommand.self,
    ]

    package static func execute(arguments: [String]? = nil) async -> Never {
        // A closed pipe on stdout is an EPIPE flow handles (a run records itself interrupted), not a death by
        // SIGPIPE that would leave the run marked running. Tasks get SIGPIPE back at spawn.
        signal(SIGPIPE, SIG_IGN)
        do {
            try await dispatch(arguments ?? Array(CommandLine.arguments.dropFirst()))
            Glibc.exit(0)
        } catch let failure as CommandFailure {
            Console.err(failure.message)
            Glibc.exit(failure.exit.rawValue)
        } catch let exit as FlowExit {
            Glibc.exit(exit.rawValue)
        } catch {
            Console.err("flow: \(error)")
            Glibc.exit(FlowExit.internalError.rawValue)
        }
    }

    private static func dispatch(_ words: [String]) async throws {
        guard let first = words.first else {
            throw CommandFailure(.usage, "flow: missing command\n\n\(helpText)")
        }
        switch first {
        case "--help", "-h":
            return Console.out(helpText)
        case "help":
            guard let name = words.dropFirst().first else { return Console.out(helpText) }
            if name == "help" {
                return Console.out("usage: flow help [COMMAND]\n\nPrints flow's commands, or one command's arguments and options.")
            }
            return Console.out(try command(named: name).spec.helpText)
        case "--version":
            return Console.out(version)
        default:
            break
        }
        let type = try command(named: first)
        let spec = type.spec(for: words.dropFirst())
        let parsed = try ParsedArguments(words.dropFirst(), for: spec)
        if parsed.wantsHelp { return Console.out(spec.helpText) }
        let command = try type.init(parsed)
        // Commands block — SQLite reads and writes, the lease, recovering a dead run — so they run on a thread of
        // their own, never on one of Swift's two cooperative threads, which signal handling and the engine's
        // in-process actions share.
        let executor = ThreadExecutor(name: "flow-command")
        defer { executor.shutdown() }
        try await withTaskExecutorPreference(executor) { try await command.run() }
    }

    private static func command(named name: String) throws -> any Subcommand.Type {
        for type in subcommands where type.spec.name == name { return type }
        if name.hasPrefix("-") {
            // Every option belongs to a command: `flow run NAME --state x`, not `flow --state x run NAME`.
            throw CommandFailure(.usage, "flow: '\(name.prefix(64))' before the command: options go after it, as in 'flow run NAME \(name.prefix(64))'\nsee 'flow --help'")
        }
        var message = "flow: unknown command '\(name.prefix(64))'"
        if let close = Suggestion.closest(to: name, in: subcommands.map { $0.spec.name }) { message += " (did you mean '\(close)'?)" }
        throw CommandFailure(.usage, message + "\nsee 'flow --help'")
    }

    static var helpText: String {
        var lines = ["OVERVIEW: \(abstract)", "", "USAGE: flow <command> [options]", "", "COMMANDS:"]
        lines += CommandSpec.columns(subcommands.map { ($0.spec.name, $0.spec.abstract) })
        lines += ["", "OPTIONS:"]
        lines += CommandSpec.columns([("--version", "Show the version."), ("-h, --help", "Show this help.")])
        lines += ["", "See 'flow help <command>' for a command's arguments and options."]
        return lines.joined(separator: "\n")
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
