import FlowCore
import FlowPlan
import FlowSpec
import Foundation

/// `flow schedule next`: when a workflow's schedule (or a cron expression given here) fires next.
struct ScheduleCommand: Subcommand {
    static let actions = ["next"]

    static let spec = CommandSpec(
        name: "schedule", abstract: "Show when a workflow's schedule, or a cron expression, fires next.",
        arguments: [
            .init(name: "action", help: "next: the next ticks strictly after --from (default now)."),
            .init(name: "workflow", help: "Workflow name or path (or give --cron and --timezone instead).", optional: true),
        ],
        options: [
            .init(name: "cron", value: "expression", repeatable: true, help: "A cron expression instead of a workflow's schedule."),
            .init(name: "timezone", value: "zone", help: "The IANA time zone of --cron (default UTC)."),
            .init(name: "from", value: "time", help: "Ticks strictly after this ISO 8601 time (default now, or FLOW_NOW)."),
            .init(name: "count", value: "N", help: "How many ticks (1-10000, default 5)."),
            CommandSpec.json,
        ] + GlobalOptions.options)

    var global: GlobalOptions
    var action: String
    var workflow: String?
    var cron: [String]
    var timezone: String?
    var from: String?
    var count: Int?
    var json: Bool

    init(_ arguments: ParsedArguments) throws(CommandFailure) {
        global = GlobalOptions(arguments)
        action = arguments.required("action")
        workflow = arguments.argument("workflow")
        if let workflow { global = global.anchored(at: workflow) }
        cron = arguments.values("cron")
        timezone = arguments.value("timezone")
        from = arguments.value("from")
        count = try arguments.integer("count")
        json = arguments.flag("json")
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
        let (name, schedule) = try resolveSchedule()
        let count = try self.count.map { n throws(CommandFailure) -> Int in
            guard (1...10_000).contains(n) else { throw ParsedArguments.usage(Self.spec, "--count must be between 1 and 10000, not \(n)") }
            return n
        } ?? 5
        let after: Int64
        if let from {
            guard let seconds = ISOTime.parse(from) else {
                throw ParsedArguments.usage(Self.spec, "--from takes an ISO 8601 time such as 2026-03-08T06:00:00Z, not '\(Console.shown(String(from.prefix(40))))'")
            }
            after = Int64(seconds.rounded(.down))
        } else {
            after = Int64(try RunSetup.clock().timeIntervalSince1970.rounded(.down))
        }
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
