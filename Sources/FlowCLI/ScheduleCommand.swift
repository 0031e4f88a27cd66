import FlowCore
import FlowPlan
import FlowProcess
import FlowSpec
import FlowStore
import Foundation

/// `flow schedule next|tick|ledger|install|uninstall`: when a schedule fires next, one scheduler pass, what passes
/// decided, and the OS timer that runs the passes.
struct ScheduleCommand: Subcommand {
    static let actions = ["next", "tick", "ledger", "install", "uninstall"]

    static let spec = CommandSpec(
        name: "schedule", abstract: "Show when schedules fire, run the ticks that are due, show the ledger, or install the timer that runs them.",
        arguments: [
            .init(name: "action", help: "next: the next ticks strictly after --from (default now). tick: one scheduler pass "
                  + "(the named workflows, or every scheduled one). ledger: a workflow's decided ticks. install/uninstall: a "
                  + "systemd user timer (--systemd) or crontab line (--cron) that runs tick every 5 minutes for this project "
                  + "(or one workflow of it)."),
            .init(name: "workflow", help: "Workflow names or paths (for next: one, or --cron and --timezone instead).", variadic: true),
        ],
        options: [
            .init(name: "cron", value: "expression", repeatable: true,
                  help: "next: a cron expression instead of a workflow's schedule. install/uninstall: --cron alone, for a crontab line."),
            .init(name: "timezone", value: "zone", help: "The IANA time zone of --cron (default UTC)."),
            .init(name: "from", value: "time", help: "Ticks strictly after this ISO 8601 time (default now, or FLOW_NOW)."),
            .init(name: "count", value: "N", help: "How many ticks (1-10000, default 5)."),
            .init(name: "now", value: "time", help: "tick: decide as of this ISO 8601 time (default now, or FLOW_NOW)."),
            .init(name: "systemd", help: "install/uninstall: a systemd user service and timer in ~/.config/systemd/user."),
            .init(name: "dry-run", help: "install/uninstall: print what would be written and run; change nothing."),
            .init(name: "no-enable", help: "install/uninstall --systemd: write or remove the files only, without systemctl."),
            ExecutionOptions.grace,
            ExecutionOptions.plain,
            CommandSpec.json,
        ] + GlobalOptions.options)

    /// `install` and `uninstall` read `--cron` as a flag (a crontab line), not as an expression.
    static func spec(for words: ArraySlice<String>) -> CommandSpec {
        guard let first = words.first, first == "install" || first == "uninstall" else { return spec }
        var install = spec
        install.options = install.options.map { option in
            option.name == "cron" ? .init(name: "cron", help: "A line in the user's crontab.") : option
        }
        return install
    }

    var global: GlobalOptions
    var action: String
    var workflows: [String]
    var workflow: String? { workflows.first }
    var now: String?
    var grace: String
    var cron: [String]
    var timezone: String?
    var from: String?
    var count: Int?
    var json: Bool
    var systemd: Bool
    var cronTable: Bool
    var dryRun: Bool
    var noEnable: Bool
    var plain: Bool

    init(_ arguments: ParsedArguments) throws(CommandFailure) {
        global = GlobalOptions(arguments)
        action = arguments.required("action")
        workflows = arguments.arguments("workflow")
        if let workflow = workflows.first { global = global.anchored(at: workflow) }
        now = arguments.value("now")
        grace = arguments.value("grace") ?? "5s"
        cron = arguments.values("cron")
        timezone = arguments.value("timezone")
        from = arguments.value("from")
        count = try arguments.integer("count")
        json = arguments.flag("json")
        systemd = arguments.flag("systemd")
        cronTable = arguments.flag("cron")
        dryRun = arguments.flag("dry-run")
        noEnable = arguments.flag("no-enable")
        plain = arguments.flag("plain")
    }

    struct Document: Encodable {
        var version = JSONDocument.version
        var workflow: String?
        var cron: [String]
        var timezone: String
        var ticks: [TickEntry]
    }

    struct TickEntry: Encodable {
        var utc: String
        var local: String
    }

    func run() async throws {
        try LogSetup.bootstrap(global.logLevel)
        guard Self.actions.contains(action) else {
            var message = "unknown action '\(Console.shown(String(action.prefix(40))))'; actions: \(Self.actions.joined(separator: ", "))"
            if let close = Suggestion.closest(to: action, in: Self.actions) { message += " (did you mean '\(close)'?)" }
            throw ParsedArguments.usage(Self.spec, message)
        }
        switch action {
        case "tick": return try await tick()
        case "ledger": return try ledger()
        case "install", "uninstall": return try installer()
        default: break
        }
        guard workflows.count <= 1 else { throw ParsedArguments.usage(Self.spec, "next takes one workflow") }
        let (name, schedule) = try resolveSchedule()
        let count = try self.count.map { n throws(CommandFailure) -> Int in
            guard (1...10_000).contains(n) else { throw ParsedArguments.usage(Self.spec, "--count must be between 1 and 10000, not \(n)") }
            return n
        } ?? 5
        let after = try Self.instant(from, option: "from", spec: Self.spec) ?? RunSetup.clockSeconds()
        let ticks = schedule.ticks(after: after, count: count)
        let zone = schedule.timeZone.identifier
        if json {
            try JSONDocument.print(Document(workflow: name, cron: schedule.expressions.map(\.source), timezone: zone,
                                            ticks: ticks.map { TickEntry(utc: $0.utcText, local: $0.localText) }))
            return
        }
        let what = name.map { "'\($0)'" } ?? "the schedule"
        Console.out("next \(ticks.count) tick\(ticks.count == 1 ? "" : "s") of \(what) (\(schedule.expressions.map(\.source).joined(separator: " | ")), \(zone)):")
        for tick in ticks { Console.out("  \(tick.utcText)  \(tick.localText)") }
        if ticks.count < count { Console.out("  (no further tick: 50 years pass without one)") }
    }

    /// `install` / `uninstall`: the OS entry that wakes flow for this project's passes.
    private func installer() throws {
        guard systemd != cronTable else {
            throw ParsedArguments.usage(Self.spec, "\(action) takes one of --systemd or --cron")
        }
        guard workflows.count <= 1 else { throw ParsedArguments.usage(Self.spec, "\(action) takes at most one workflow") }
        let project = Project(options: global)
        var name: String?
        if let workflow {
            let loaded = try project.load(try project.locate(workflow))
            guard loaded.schedule != nil else {
                throw CommandFailure(.usage, "flow: '\(loaded.name)' has no schedule: add a 'schedule:' block first (docs/scheduling.md)")
            }
            name = loaded.name
        } else if action == "install", Self.scheduledWorkflows(project).isEmpty {
            Console.err("flow: note: no workflow in \(project.display(global.workflowsDirectory)) has a schedule yet; the timer will find nothing to do")
        }
        let explicitState = global.state != nil || !(HostEnvironment.value("FLOW_STATE") ?? "").isEmpty
        let installer = ScheduleInstaller(
            target: systemd ? .systemd : .cron, projectDirectory: global.projectDirectory,
            workflowsDirectory: global.workflowsDirectory, statePath: explicitState ? global.statePath : nil,
            flowPath: ProcessTable.executablePath(), workflow: name, environment: HostEnvironment.all)
        if action == "install" {
            try installer.install(dryRun: dryRun, enable: !noEnable)
        } else {
            try installer.uninstall(dryRun: dryRun, enable: !noEnable)
        }
    }

    /// One scheduler pass over the named workflows, or every workflow with a schedule.
    private func tick() async throws {
        Console.configureForRun(plain: plain)
        let project = Project(options: global)
        let graceDuration = try ExecutionOptions.gracePeriod(grace)
        let at = try Self.instant(now, option: "now", spec: Self.spec) ?? RunSetup.clockSeconds()
        var scheduled: [(Workflow, String)] = []
        if workflows.isEmpty {
            scheduled = Self.scheduledWorkflows(project)
        } else {
            for name in workflows {
                let path = try project.locate(name)
                scheduled.append((try project.load(path), path))
            }
        }
        guard !scheduled.isEmpty else { return }
        let pass = SchedulePass(project: project, store: try project.openStore(), now: at, gracePeriod: graceDuration)
        var failed = 0
        for (workflow, path) in scheduled { failed += try await pass.run(workflow, path: path).failed }
        if failed > 0 { throw FlowExit.taskFailed }
    }

    /// Every workflow file with a schedule, loaded; a file that does not validate is reported and left out.
    static func scheduledWorkflows(_ project: Project) -> [(Workflow, String)] {
        project.workflowFiles().compactMap { path in
            guard let workflow = try? project.load(path) else {
                Console.err("flow: \(project.display(path)): not ticked: the file is invalid (see flow validate)")
                return nil
            }
            return workflow.schedule == nil ? nil : (workflow, path)
        }
    }

    struct LedgerDocument: Encodable {
        var version = JSONDocument.version
        var workflow: String
        var ticks: [LedgerRow]
    }

    struct LedgerRow: Encodable {
        var tickUtc: String
        var local: String
        var status: String
        var runId: Int64?
        var runStatus: String?
    }

    /// `schedule ledger --json`'s rows: every decided tick, newest first, local time in the schedule's zone.
    static func ledgerRows(_ wf: Workflow, store: StateStore?) throws(CommandFailure) -> [LedgerRow] {
        let zone = CronSchedule([], timeZone: wf.schedule.flatMap { ZoneNames.zone(named: $0.timeZone) } ?? .gmt)
        let entries: [LedgerEntry]
        do {
            entries = try store?.ledger(of: wf.name) ?? []
        } catch {
            throw CommandFailure(.internalError, "flow: \(error)")
        }
        return entries.map { entry in
            LedgerRow(tickUtc: ISOTime.format(entry.tick), local: zone.tick(at: entry.tick).localText,
                      status: entry.status, runId: entry.runID, runStatus: entry.runStatus?.rawValue)
        }
    }

    /// A workflow's decided ticks, newest first.
    private func ledger() throws {
        guard workflows.count == 1, let name = workflow else { throw ParsedArguments.usage(Self.spec, "ledger takes one workflow") }
        let project = Project(options: global)
        let wf = try project.load(try project.locate(name))
        let rows = try Self.ledgerRows(wf, store: project.existingStore())
        if json { return try JSONDocument.print(LedgerDocument(workflow: wf.name, ticks: rows)) }
        guard !rows.isEmpty else {
            return Console.out("no ticks decided yet for '\(wf.name)'" + (wf.schedule == nil ? " (it has no schedule)" : "; run: flow schedule tick \(name)"))
        }
        Console.out("tick (UTC)            local                      status            run")
        for row in rows {
            let run = row.runId.map { "\($0) \(row.runStatus ?? "")" } ?? "-"
            Console.out(row.tickUtc.padding(toLength: 22, withPad: " ", startingAt: 0) + row.local.padding(toLength: 27, withPad: " ", startingAt: 0)
                        + row.status.padding(toLength: 18, withPad: " ", startingAt: 0) + run)
        }
    }

    /// An ISO 8601 option's value in whole seconds since the epoch; nil when the option was not given.
    static func instant(_ text: String?, option: String, spec: CommandSpec) throws(CommandFailure) -> Int64? {
        guard let text else { return nil }
        guard let seconds = ISOTime.parse(text) else {
            throw ParsedArguments.usage(spec, "--\(option) takes an ISO 8601 time such as 2026-03-08T06:00:00Z, not '\(Console.shown(String(text.prefix(40))))'")
        }
        return Int64(seconds.rounded(.down))
    }

    /// The schedule asked about: the workflow's, or `--cron` in `--timezone`.
    private func resolveSchedule() throws(CommandFailure) -> (String?, CronSchedule) {
        if let workflow {
            guard cron.isEmpty, timezone == nil else {
                throw ParsedArguments.usage(Self.spec, "give a workflow or --cron/--timezone, not both")
            }
            let project = Project(options: global)
            let wf = try project.load(try project.locate(workflow))
            guard let schedule = wf.schedule else {
                throw CommandFailure(.usage, "flow: workflow '\(wf.name)' has no schedule\nnote: add one, for example:\n"
                                     + "schedule:\n  cron: \"30 20 * * 1-5\"\n  timezone: Australia/Brisbane")
            }
            // The loader checked the zone.
            return (wf.name, CronSchedule(schedule.expressions, timeZone: TimeZone(identifier: schedule.timeZone) ?? .gmt))
        }
        guard !cron.isEmpty else {
            throw ParsedArguments.usage(Self.spec, "name a workflow, or give --cron EXPRESSION (and --timezone ZONE)")
        }
        var expressions: [CronExpression] = []
        for text in cron {
            switch CronExpression.parse(text) {
            case .success(let expression): expressions.append(expression)
            case .failure(let error):
                let shown = Console.shown(text)
                let caret = String(repeating: " ", count: min(error.offset, shown.count)) + "^"
                throw ParsedArguments.usage(Self.spec, "--cron: \(error.message)\n  \(shown)\n  \(caret)")
            }
        }
        let zoneName = timezone ?? "UTC"
        guard let zone = ZoneNames.zone(named: zoneName) else {
            throw ParsedArguments.usage(Self.spec, "--timezone: unknown time zone '\(Console.shown(String(zoneName.prefix(60))))'; "
                                        + ZoneNames.hint(zoneName))
        }
        return (nil, CronSchedule(expressions, timeZone: zone))
    }
}
