import FlowCore
import Foundation

extension WorkflowBuilder {
    static let scheduleKeys = ["cron", "timezone", "catchup", "max_catchup", "catchup_window", "overlap", "grace", "notify_missed"]

    /// `schedule:` — its cron expressions parsed and positioned, its zone known, its policies spelt right.
    mutating func parseSchedule(_ node: YAMLNode) -> Schedule? {
        guard case .mapping(let pairs, let location) = node else {
            error(node.location, "'schedule' must be a mapping with 'cron:', not \(node.typeName)")
            return nil
        }
        let fields = keyed(pairs, allowed: WorkflowBuilder.scheduleKeys, context: "schedule")
        guard let cronNode = fields["cron"] else {
            error(location, "missing required key 'cron' in schedule",
                  notes: ["for example: cron: \"30 20 * * 1-5\" (20:30 on weekdays)"])
            return nil
        }
        var expressions: [CronExpression] = []
        var ok = true
        let items: [YAMLNode]
        if case .sequence(let list, let listLocation) = cronNode {
            if list.isEmpty { error(listLocation, "'cron' lists no expression") }
            items = list
        } else {
            items = [cronNode]
        }
        for item in items {
            guard case .scalar(let text, _, _, _) = item else {
                error(item.location, "a cron expression must be a string such as \"0 6 * * *\", not \(item.typeName)")
                ok = false
                continue
            }
            switch CronExpression.parse(text) {
            case .success(let expression): expressions.append(expression)
            case .failure(let failure):
                error(self.location(in: item, offset: failure.offset), "invalid cron expression: \(failure.message)",
                      notes: ["five fields: minute hour day-of-month month day-of-week, such as \"30 20 * * 1-5\"; or @hourly, @daily, @weekly, @monthly, @yearly"])
                ok = false
            }
        }
        var schedule = Schedule(expressions: expressions, location: location)
        if let zoneNode = fields["timezone"], let zone = string(zoneNode, key: "timezone") {
            if ZoneNames.zone(named: zone) != nil {
                schedule.timeZone = zone
            } else {
                error(zoneNode.location, "unknown time zone '\(zone.prefix(60))'", notes: [ZoneNames.hint(zone)])
                ok = false
            }
        }
        if let node = fields["catchup"], let text = string(node, key: "catchup") {
            if let value = Schedule.Catchup(rawValue: text) { schedule.catchup = value } else {
                error(node.location, "'catchup' must be none, latest or all, not '\(text.prefix(40))'",
                      notes: Suggestion.closest(to: text, in: Schedule.Catchup.allCases.map(\.rawValue)).map { ["did you mean '\($0)'?"] } ?? [])
                ok = false
            }
        }
        if let node = fields["max_catchup"], let n = integer(node, key: "max_catchup", range: 1...10_000) {
            schedule.maxCatchup = n
            if schedule.catchup != .all {
                error(node.location, "'max_catchup' applies only with 'catchup: all'",
                      notes: ["catchup: latest runs one missed tick at most; none runs none"])
                ok = false
            }
        }
        if let node = fields["catchup_window"] { schedule.catchupWindow = positiveDuration(node, key: "catchup_window") }
        if let node = fields["grace"], let d = duration(node, key: "grace") { schedule.grace = d }
        if let node = fields["overlap"], let text = string(node, key: "overlap") {
            if let value = Schedule.Overlap(rawValue: text) { schedule.overlap = value } else {
                error(node.location, "'overlap' must be skip or queue, not '\(text.prefix(40))'",
                      notes: Suggestion.closest(to: text, in: Schedule.Overlap.allCases.map(\.rawValue)).map { ["did you mean '\($0)'?"] } ?? [])
                ok = false
            }
        }
        if let node = fields["notify_missed"], let text = string(node, key: "notify_missed") {
            schedule.notifyMissed = TaskID(text)
            pendingNotifyMissed = (TaskID(text), node.location)
        }
        return ok ? schedule : nil
    }

    /// `notify_missed` names a task of this workflow.
    mutating func checkNotifyMissed(_ tasks: [TaskSpec]) {
        guard let (task, location) = pendingNotifyMissed, !tasks.contains(where: { $0.id == task }) else { return }
        let names = tasks.map(\.id.rawValue)
        error(location, "'notify_missed' names no task: '\(task)'",
              notes: [Suggestion.closest(to: task.rawValue, in: names).map { "did you mean '\($0)'?" } ?? "tasks: \(names.joined(separator: ", "))"])
    }
}
