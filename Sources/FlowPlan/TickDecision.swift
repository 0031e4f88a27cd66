import FlowCore

/// What one scheduler pass does with a workflow's due ticks: a pure function of the schedule's policies, the
/// ticks due since the watermark, the time of the pass and whether a run of the workflow is going.
package enum TickDecision {
    /// How a tick was decided, as the ledger stores it. Values never change meaning.
    package enum Outcome: String, Sendable, Hashable, CaseIterable {
        /// On time (within `grace`): its run started.
        case ran
        /// Late, and run by the catch-up policy.
        case caughtUp = "caught-up"
        /// A run of the workflow was going (`overlap: skip`).
        case skippedOverlap = "skipped-overlap"
        /// Waits for the active run to end (`overlap: queue`); runs at the next pass that finds none.
        case queued
        /// Late, and not run: catch-up none, or not the newest under catch-up latest.
        case missedDowntime = "missed-downtime"
        /// Late, and over `max_catchup` under catch-up all (the oldest go).
        case droppedOverCap = "dropped-over-cap"
        /// Older than `catchup_window`.
        case outsideWindow = "outside-window"

        package var startsRun: Bool { self == .ran || self == .caughtUp }
        /// A miss someone should hear about (`notify_missed`).
        package var isMiss: Bool { self == .missedDowntime || self == .droppedOverCap || self == .outsideWindow }
    }

    package struct Entry: Sendable, Hashable {
        package var tick: Int64
        package var outcome: Outcome
    }

    /// `due`: every tick after the watermark and at or before `now`, in order. Entries come back oldest first.
    package static func decide(_ schedule: Schedule, due: [Int64], now: Int64, runActive: Bool) -> [Entry] {
        let grace = seconds(schedule.grace)
        let window = schedule.catchupWindow.map(seconds)
        var outcomes: [Int64: Outcome] = [:]
        var late: [Int64] = []
        for tick in due {
            if now - tick <= grace {
                outcomes[tick] = .ran
            } else if let window, now - tick > window {
                outcomes[tick] = .outsideWindow
            } else {
                late.append(tick)
            }
        }
        switch schedule.catchup {
        case .none:
            for tick in late { outcomes[tick] = .missedDowntime }
        case .latest:
            // The newest due tick is the one that runs: an on-time one if there is one, else the newest late one.
            let newest = outcomes.values.contains(.ran) ? nil : late.last
            for tick in late { outcomes[tick] = tick == newest ? .caughtUp : .missedDowntime }
        case .all:
            let cap = schedule.maxCatchup ?? Int.max
            let dropped = max(0, late.count - cap)
            for (i, tick) in late.enumerated() { outcomes[tick] = i < dropped ? .droppedOverCap : .caughtUp }
        }
        if runActive {
            for (tick, outcome) in outcomes where outcome.startsRun {
                outcomes[tick] = schedule.overlap == .skip ? .skippedOverlap : .queued
            }
        }
        return due.compactMap { tick in outcomes[tick].map { Entry(tick: tick, outcome: $0) } }
    }

    private static func seconds(_ duration: Duration) -> Int64 { duration.components.seconds }
}
