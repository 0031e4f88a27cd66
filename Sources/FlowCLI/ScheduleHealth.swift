import FlowCore
import FlowPlan
import FlowSpec
import FlowStore
import Foundation

/// How a scheduled workflow is doing, for monitoring from outside (`flow status NAME --check`) and `flow list`:
/// did its last due tick run and succeed, and when is the next one.
struct ScheduleHealth {
    enum Verdict: Equatable {
        /// The last due tick's run succeeded, or no tick is due yet.
        case ok
        /// The last due tick's run failed.
        case failed
        /// A due tick has had no successful run for longer than one interval.
        case stale
    }

    var verdict: Verdict
    /// One line that says which.
    var message: String
    var next: CronSchedule.Tick?
    /// The last decided tick, and how.
    var lastTick: LedgerEntry?

    init?(_ workflow: Workflow, store: StateStore?, now: Int64) throws {
        guard let schedule = workflow.schedule, let zone = ZoneNames.zone(named: schedule.timeZone) else { return nil }
        let ticks = CronSchedule(schedule.expressions, timeZone: zone)
        next = ticks.ticks(after: now, count: 1).first
        let ledger = try store?.ledger(of: workflow.name, limit: 200) ?? []
        lastTick = ledger.first { $0.tick <= now }
        let started = try store?.watermark(of: workflow.name)
        // The last tick due by now, and its interval (from the tick before it).
        guard let due = ticks.tick(before: now + 1), let started, due.utc > firstWatermark(started.watermark, ledger) else {
            verdict = .ok
            message = started == nil ? "\(workflow.name): not scheduled yet (no scheduler pass has run: flow schedule tick)"
                : "\(workflow.name): no tick due since its schedule started"
            return
        }
        let interval = ticks.tick(before: due.utc).map { due.utc - $0.utc } ?? 86_400
        let entry = ledger.first { $0.tick == due.utc }
        let dueText = "\(due.utcText) (\(due.localText))"
        switch entry?.runStatus {
        case .succeeded?:
            verdict = .ok
            message = "\(workflow.name): ok: the tick of \(dueText) ran and succeeded (run \(entry?.runID ?? 0))"
        case .failed?:
            verdict = .failed
            message = "\(workflow.name): failed: the tick of \(dueText) ran and failed (run \(entry?.runID ?? 0)); see flow status --run \(entry?.runID ?? 0)"
        default:
            // Stale when the first due tick after the last success (or the schedule's start) is more than one
            // interval old: a run that is merely due, or a pass that is late by minutes, is not yet.
            let lastGood = ledger.first { $0.runStatus == .succeeded }
            let since = lastGood.map { ISOTime.format($0.tick) } ?? "the schedule started"
            let from = max(lastGood?.tick ?? .min, firstWatermark(started.watermark, ledger))
            let unmet = ticks.ticks(after: from, count: 1).first.flatMap { $0.utc <= now ? $0 : nil }
            var unmetInterval = interval
            if let unmet, let previous = ticks.tick(before: unmet.utc) { unmetInterval = unmet.utc - previous.utc }
            if let unmet, now - unmet.utc > unmetInterval {
                verdict = .stale
                let unmetEntry = ledger.first { $0.tick == unmet.utc }
                let how = unmetEntry.map { "it was \($0.status)\($0.runStatus.map { ", run \($0.rawValue)" } ?? "")" }
                    ?? "no scheduler pass decided it"
                message = "\(workflow.name): stale: the tick of \(unmet.utcText) (\(unmet.localText)) has no successful run (\(how)); "
                    + "last success: \(since)"
            } else {
                verdict = .ok
                message = "\(workflow.name): the tick of \(dueText) is due: "
                    + (entry.map { "\($0.status)\($0.runStatus.map { ", run \($0.rawValue)" } ?? "")" } ?? "not decided yet")
            }
        }
    }
}

/// Where a schedule started: its first decided tick if any, else its watermark (a schedule that has decided
/// ticks started before them).
private func firstWatermark(_ watermark: Int64, _ ledger: [LedgerEntry]) -> Int64 {
    min(watermark, (ledger.last?.tick ?? watermark) - 1)
}
