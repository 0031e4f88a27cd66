import FlowCore
import FlowWeb
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// `flow serve`: hands over to `flow-serve`, the executable beside this one, so that flow's own start-up never
/// loads an HTTP server (docs/web.md says what that saves).
struct ServeCommand: Subcommand {
    static let spec = CommandSpec(
        name: "serve", abstract: "Serve the web view: workflows, runs with their graph, timeline and logs (live), the schedule ledger, data.",
        options: [
            .init(name: "listen", value: "host:port", help: "Where to listen (default 127.0.0.1:8080; port 0 picks a free one). Any address but loopback needs --token."),
            .init(name: "token", value: "token", help: "The token actions need (default: a new one, printed at start); at least 16 characters."),
            .init(name: "read-only", help: "No actions at all: pages and their JSON only."),
        ] + GlobalOptions.options)

    var global: GlobalOptions
    var listen: String
    var token: String?
    var readOnly: Bool

    init(_ arguments: ParsedArguments) throws(CommandFailure) {
        global = GlobalOptions(arguments)
        listen = arguments.value("listen") ?? "127.0.0.1:8080"
        token = arguments.value("token")
        readOnly = arguments.flag("read-only")
        guard let (host, _) = ListenAddress.parse(listen) else {
            throw ParsedArguments.usage(Self.spec, "--listen takes HOST:PORT, such as 127.0.0.1:8080, not '\(Console.shown(listen))'")
        }
        if !ListenAddress.isLoopback(host), token == nil, !readOnly {
            throw CommandFailure(.usage, "flow serve: refusing to listen on \(Console.shown(host)) without --token: anyone who can reach it could run workflows\nnote: give --token (16+ characters), or --read-only")
        }
        if let token, token.count < 16 { throw ParsedArguments.usage(Self.spec, "--token must be at least 16 characters") }
    }

    func run() async throws {
        let server = FilePath.directory(of: WebBackend.flowBinary()) + "/flow-serve"
        guard FileManager.default.isExecutableFile(atPath: server) else {
            throw CommandFailure(.internalError, "flow serve: \(server) is missing; build it with: swift build --product flow-serve")
        }
        var arguments = [server, "--listen", listen, "--workflows", global.workflowsDirectory, "--state", global.statePath]
        if let token { arguments += ["--token", token] }
        if readOnly { arguments.append("--read-only") }
        let pointers = arguments.map { strdup($0) } + [nil]
        execv(server, pointers)
        throw CommandFailure(.internalError, "flow serve: cannot start \(server): \(String(cString: strerror(errno)))")
    }
}

/// `--listen HOST:PORT`, read the same way by `flow serve` and by `flow-serve`.
package enum ListenAddress {
    package static func parse(_ text: String) -> (host: String, port: Int)? {
        guard let colon = text.lastIndex(of: ":"), colon != text.startIndex, let port = Int(text[text.index(after: colon)...]),
              (0...65535).contains(port) else { return nil }
        return (String(text[..<colon]).trimmingCharacters(in: CharacterSet(charactersIn: "[]")), port)
    }

    package static func isLoopback(_ host: String) -> Bool {
        host == "::1" || host == "localhost" || host.hasPrefix("127.")
    }
}

/// `flow report RUN --html`: the run page as one self-contained file — styles, script and every attempt's log
/// inside — for mailing or archiving.
struct ReportCommand: Subcommand {
    static let spec = CommandSpec(
        name: "report", abstract: "Print a run's page as one self-contained HTML file (graph, timeline, tasks, every log).",
        arguments: [.init(name: "run-id", help: "The run id.")],
        options: [.init(name: "html", help: "HTML (the only format; the flag says so in scripts).")] + GlobalOptions.options)

    var global: GlobalOptions
    var runID: String

    /// Each embedded log is cut to its last 256 KiB, so a report stays small enough to mail.
    static let logLimit = 256 * 1024

    init(_ arguments: ParsedArguments) {
        global = GlobalOptions(arguments)
        runID = arguments.required("run-id")
    }

    func run() async throws {
        let id = try RunIDArgument.parse(runID)
        let backend = WebBackend(workflows: global.workflows, state: global.statePath)
        let view: RunView
        do {
            view = try backend.runView(id)
        } catch .notFound(let message) {
            throw CommandFailure(.notFound, "flow: \(message)")
        } catch .failed(let message) {
            throw CommandFailure(.internalError, "flow: \(message)")
        }
        var logs: [AttemptID: String] = [:]
        for attempt in view.attempts {
            guard let (path, _) = try? backend.logPath(run: id, task: attempt.task.rawValue, attempt: attempt.attempt), !path.isEmpty,
                  let handle = FileHandle(forReadingAtPath: path) else { continue }
            let size = (try? handle.seekToEnd()) ?? 0
            let start = size > UInt64(Self.logLimit) ? size - UInt64(Self.logLimit) : 0
            try? handle.seek(toOffset: start)
            let data = (try? handle.readToEnd()) ?? Data()
            try? handle.close()
            logs[attempt.id] = (start > 0 ? "… (the first \(start) bytes are left out)\n" : "") + String(decoding: data, as: UTF8.self)
        }
        Console.out(RunPage.render(view, project: backend.projectDirectory, logs: logs))
    }
}
