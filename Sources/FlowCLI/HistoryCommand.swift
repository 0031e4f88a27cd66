import FlowCore
import FlowProcess
import FlowStore
import Foundation

struct HistoryCommand: Subcommand {
    static let spec = CommandSpec(
        name: "history", abstract: "List past runs of a workflow, newest first.",
        arguments: [.init(name: "workflow", help: "Workflow name or path.")],
        options: [
            .init(name: "limit", value: "N", help: "How many runs to show (default: 20)."),
            CommandSpec.json,
        ] + GlobalOptions.options)

    var global: GlobalOptions
    var workflow: String
    var limit: Int
    var json: Bool

    init(_ arguments: ParsedArguments) throws(CommandFailure) {
        global = GlobalOptions(arguments)
        workflow = arguments.required("workflow")
        global = global.anchored(at: workflow)
        limit = try arguments.integer("limit") ?? 20
        json = arguments.flag("json")
    }

    struct Document: Encodable {
        var version = JSONDocument.version
        var workflow: String
        var runs: [Entry]
    }

    struct Entry: Encodable {
        var id: Int64
        var status: String
        var startedAt: String
        var createdAt: Date
        var finishedAt: Date?
        var durationSeconds: Double?
        var resumes: Int
        var error: String?
        /// Set when the stored status is `running` but its runner is gone (shown `interrupted`).
        var runnerGone: Bool?
        /// For a failed run, each task that failed and its error.
        var failedTasks: [FailedTask]?
        /// A child run's parent, `RUN/TASK` (`uses: workflow`).
        var parent: String?
        /// The child runs this run's tasks started.
        var children: [ChildRun]?
    }

    struct ChildRun: Encodable {
        var task: String
        var run: Int64
        var workflow: String
        var status: String
    }

    /// The runs `run`'s tasks started, as documents list them; nil when none.
    static func children(of run: RunID, store: StateStore) throws -> [ChildRun]? {
        let runs = try store.childRuns(of: run)
        guard !runs.isEmpty else { return nil }
        return runs.map { ChildRun(task: $0.parent?.task.rawValue ?? "?", run: $0.id, workflow: $0.workflow,
                                   status: ShownStatus($0, store: store).status.rawValue) }
    }

    struct FailedTask: Encodable {
        var task: String
        var status: String
        var attempts: Int
        var error: String?
    }

    func run() async throws {
        try LogSetup.bootstrap(global.logLevel)
        guard (1...100_000).contains(limit) else { throw CommandFailure(.usage, "flow: --limit must be between 1 and 100000") }
        let project = Project(options: global)
        let wf = try project.load(try project.locate(workflow))
        var entries: [Entry] = []
        if let store = try project.existingStore() {
            do {
                entries = try Self.entries(try store.history(of: wf.name, limit: limit), store: store)
            } catch {
                throw CommandFailure(.internalError, "flow: \(error)")
            }
        }
        if json {
            try JSONDocument.print(Document(workflow: wf.name, runs: entries))
            return
        }
        guard !entries.isEmpty else {
            Console.out("workflow '\(wf.name)' has not run yet")
            return
        }
        let linked = entries.contains { $0.parent != nil || $0.children != nil }
        var table = Table(header: ["RUN", "STATUS", "STARTED", "DURATION", "RESUMES"] + (linked ? ["LINKS"] : []) + ["ERROR"])
        for e in entries {
            var links: [String] = []
            if let parent = e.parent { links.append("child of \(parent)") }
            for child in e.children ?? [] { links.append("\(child.task) → run \(child.run)") }
            table.rows.append([String(e.id), e.status, ISOTime.format(e.createdAt),
                               e.durationSeconds.map { DurationFormat.format(.milliseconds(Int64($0 * 1000))) } ?? "-",
                               String(e.resumes)] + (linked ? [links.joined(separator: ", ")] : []) + [Self.errorColumn(e)])
        }
        Console.out(table.render())
    }
}

extension HistoryCommand {
    /// `history --json`'s entries for `runs`: each with its shown status and, for a failed run, its failed tasks.
    static func entries(_ runs: [RunRecord], store: StateStore) throws -> [Entry] {
        try runs.map { r in
            let shown = ShownStatus(r, store: store)
            var failed: [FailedTask]?
            if r.status == .failed {
                failed = try store.taskStates(of: r.id).values
                    .filter { $0.status == .failed || $0.status == .timedOut }
                    .sorted { ($0.finishedAt ?? .distantPast, $0.task.rawValue) < ($1.finishedAt ?? .distantPast, $1.task.rawValue) }
                    .map { FailedTask(task: $0.task.rawValue, status: $0.status.rawValue, attempts: $0.attempts, error: $0.reason) }
            }
            return Entry(id: r.id, status: shown.status.rawValue, startedAt: r.startedAt, createdAt: r.createdAt,
                         finishedAt: r.finishedAt, durationSeconds: r.finishedAt.map { $0.timeIntervalSince(r.createdAt) },
                         resumes: r.resumes, error: shown.note ?? r.error, runnerGone: shown.runnerGone ? true : nil,
                         failedTasks: failed, parent: r.parent?.description, children: try children(of: r.id, store: store))
        }
    }

    /// The failing task first (`backfill: HTTP 401 ... (not retried: permanent error)`), then the run's own error.
    static func errorColumn(_ e: Entry) -> String {
        var parts = (e.failedTasks ?? []).map { "\($0.task): \($0.error ?? $0.status)" }
        if let error = e.error, !error.isEmpty { parts.append(error) }
        let text = parts.joined(separator: "; ").replacingOccurrences(of: "\n", with: " ")
        return text.count > 160 ? String(text.prefix(157)) + "..." : text
    }
}

struct ListCommand: Subcommand {
    static let spec = CommandSpec(
        name: "list", abstract: "List workflows with their last run's status and time.",
        options: [CommandSpec.json] + GlobalOptions.options)

    var global: GlobalOptions
    var json: Bool

    init(_ arguments: ParsedArguments) {
        global = GlobalOptions(arguments)
        json = arguments.flag("json")
    }

    struct Document: Encodable {
        var version = JSONDocument.version
        var workflows: [Entry]
    }

    struct Entry: Encodable {
        var name: String
        var path: String
        var valid: Bool
        var tasks: Int?
        var description: String?
        var lastRun: LastRun?
        var schedule: ScheduleEntry?
    }

    struct ScheduleEntry: Encodable {
        var cron: [String]
        var timezone: String
        var nextTick: String?
        var lastTick: String?
        var lastTickStatus: String?
        var lastTickRunStatus: String?
        /// `ok`, `failed` or `stale`, as `flow status NAME --check` says.
        var health: String
    }

    struct LastRun: Encodable {
        var id: Int64
        var status: String
        var createdAt: Date
        var finishedAt: Date?
    }

    /// `list --json`'s entries: every workflow file, valid or not, with its last run and schedule.
    static func entries(_ project: Project) throws(CommandFailure) -> [Entry] {
        var latest: [String: RunRecord] = [:]
        let store = try project.existingStore()
        if let store {
            do { latest = try store.latestRuns() } catch { throw CommandFailure(.internalError, "flow: \(error)") }
        }
        var entries: [Entry] = []
        let now = try RunSetup.clockSeconds()
        for path in project.workflowFiles() {
            let stem = ((path as NSString).lastPathComponent as NSString).deletingPathExtension
            if let wf = try? project.load(path) {
                let last = latest[wf.name].map { run in
                    LastRun(id: run.id, status: (store.map { ShownStatus(run, store: $0).status } ?? run.status).rawValue,
                            createdAt: run.createdAt, finishedAt: run.finishedAt)
                }
                var scheduled: ScheduleEntry?
                if let schedule = wf.schedule, let health = try? ScheduleHealth(wf, store: store, now: now) {
                    scheduled = ScheduleEntry(cron: schedule.expressions.map(\.source), timezone: schedule.timeZone,
                                              nextTick: health.next?.utcText, lastTick: health.lastTick.map { ISOTime.format($0.tick) },
                                              lastTickStatus: health.lastTick?.status, lastTickRunStatus: health.lastTick?.runStatus?.rawValue,
                                              health: "\(health.verdict)")
                }
                entries.append(Entry(name: wf.name, path: project.display(path), valid: true, tasks: wf.tasks.count,
                                     description: wf.description, lastRun: last, schedule: scheduled))
            } else {
                entries.append(Entry(name: Console.shown(stem), path: Console.shown(project.display(path)), valid: false, tasks: nil,
                                     description: nil, lastRun: nil, schedule: nil))
            }
        }
        return entries
    }

    /// `2026-01-14T10:00:00Z caught-up, succeeded`, with `(failed)` or `(stale)` when the check would say so.
    static func lastTickText(_ schedule: ScheduleEntry) -> String {
        guard let tick = schedule.lastTick else { return schedule.health == "stale" ? "stale" : "-" }
        let outcome: String = [schedule.lastTickStatus, schedule.lastTickRunStatus].compactMap { $0 }.joined(separator: ", ")
        let flag: String = schedule.health == "ok" ? "" : " (" + schedule.health + ")"
        return tick + " " + outcome + flag
    }

    func run() async throws {
        try LogSetup.bootstrap(global.logLevel)
        let project = Project(options: global)
        let entries = try Self.entries(project)
        if json {
            try JSONDocument.print(Document(workflows: entries))
            return
        }
        guard !entries.isEmpty else {
            Console.out("no workflows in \(project.display(global.workflowsDirectory))")
            return
        }
        let anyScheduled = entries.contains { $0.schedule != nil }
        var table = Table(header: ["WORKFLOW", "TASKS", "LAST RUN", "STATUS", "WHEN"] + (anyScheduled ? ["NEXT TICK", "LAST TICK"] : []))
        for e in entries {
            let tasks: String = e.tasks.map(String.init) ?? "-"
            let lastID: String = e.lastRun.map { String($0.id) } ?? "-"
            let status: String = e.valid ? (e.lastRun?.status ?? "never run") : "invalid (flow validate \(ShellQuote.word(e.path)))"
            let when: String = e.lastRun.map { ISOTime.format($0.createdAt) } ?? "-"
            var row: [String] = [e.name, tasks, lastID, status, when]
            if anyScheduled {
                row.append(e.schedule?.nextTick ?? "-")
                row.append(e.schedule.map(Self.lastTickText) ?? "-")
            }
            table.rows.append(row)
        }
        Console.out(table.render())
    }
}

struct LogsCommand: Subcommand {
    static let spec = CommandSpec(
        name: "logs", abstract: "Print the output of each attempt of a run, or of one task; with -f, follow a live run until it ends.",
        arguments: [.init(name: "run-id", help: "The run id."), .init(name: "task", help: "Only this task.", optional: true)],
        options: [.init(name: "follow", short: "f", help: "Follow the run: print what its attempts write as they write it, until the run ends.")]
            + GlobalOptions.options)

    var global: GlobalOptions
    var runID: String
    var task: String?
    var follow: Bool

    init(_ arguments: ParsedArguments) {
        global = GlobalOptions(arguments)
        runID = arguments.required("run-id")
        task = arguments.argument("task")
        follow = arguments.flag("follow")
    }

    /// `==> load attempt 2 (failed, exit 3: …) at 2026-12-02T20:30:05+10:00, 4.2s <==`
    static func header(_ a: AttemptRecord) -> String {
        var detail = a.status.rawValue
        if let code = a.exitCode { detail += ", exit \(code)" }
        if let error = a.error { detail += ": \(Console.escaped(error))" }
        var when = " at \(Console.timestamp(Int(a.startedAt.timeIntervalSince1970)))"
        if let end = a.finishedAt { when += ", " + DurationFormat.format(.milliseconds(Int64((end.timeIntervalSince(a.startedAt) * 1000).rounded()))) }
        return "==> \(a.task) attempt \(a.attempt) (\(detail))\(when) <=="
    }

    func run() async throws {
        try LogSetup.bootstrap(global.logLevel)
        let id = try RunIDArgument.parse(runID)
        let project = Project(options: global)
        if let task, !TaskID.isValidReference(task) {
            throw CommandFailure(.usage, "flow: '\(task.prefix(64))' is not a task id")
        }
        guard let store = try project.existingStore() else { throw CommandFailure(.notFound, "flow: no run \(id)") }
        let attempts: [AttemptRecord]
        do {
            guard try store.run(id) != nil else { throw CommandFailure(.notFound, "flow: no run \(id)") }
            // A matrix task's id shows every instance's logs.
            let exact = try store.attempts(of: id, task: task.map(TaskID.init))
            if let task, exact.isEmpty {
                attempts = try store.attempts(of: id, task: nil).filter { $0.task.isInstance(of: TaskID(task)) }
            } else {
                attempts = exact
            }
        } catch let error as CommandFailure {
            throw error
        } catch {
            throw CommandFailure(.internalError, "flow: \(error)")
        }
        if follow {
            let logRoot = FilePath.absolute(global.stateDirectory + "/logs") + "/"
            return try await LogFollower(store: store, run: id, task: task.map(TaskID.init), logRoot: logRoot).follow()
        }
        if attempts.isEmpty {
            if let task { throw CommandFailure(.notFound, "flow: task '\(task)' made no attempt in run \(id)") }
            Console.out("run \(id) made no attempts")
            return
        }
        let logRoot = FilePath.absolute(global.stateDirectory + "/logs") + "/"
        for a in attempts {
            Console.out(LogsCommand.header(a))
            // An attempt that printed nothing keeps no log file.
            guard let path = a.logPath else {
                Console.out(a.status == .running ? "(no log file)" : "(no output)")
                continue
            }
            // Only files under the state folder's logs are read, whatever the database says.
            guard FilePath.absolute(path).hasPrefix(logRoot) else {
                Console.out("(no log file)")
                continue
            }
            switch LogsCommand.stream(path) {
            case .missing: Console.out("(no log file)")
            case .copied: break
            case .readerGone: return
            }
        }
    }

    enum Streamed { case copied, missing, readerGone }

    /// Copies a log file to stdout in 64 KiB pieces — a 200 MB log is never held in memory — ending it with a
    /// newline if it lacks one; stops when the reader is gone (`flow logs 7 | head`).
    static func stream(_ path: String) -> Streamed {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return .missing }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        var last: UInt8?
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0, errno == EINTR { continue }
            if n <= 0 { break }
            last = buffer[n - 1]
            if buffer.withUnsafeBufferPointer({ FileOutput.writeAll(UnsafeBufferPointer(rebasing: $0[0..<n]), to: STDOUT_FILENO) }) == EPIPE {
                return .readerGone
            }
        }
        if let last, last != UInt8(ascii: "\n"), FileOutput.writeAll("\n", to: STDOUT_FILENO) == EPIPE { return .readerGone }
        return .copied
    }
}
