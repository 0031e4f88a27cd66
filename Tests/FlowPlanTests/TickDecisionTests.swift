import FlowCore
import FlowPlan
import Testing

@Suite("tick decisions")
struct TickDecisionTests {
    /// Five days of a daily 20:00 UTC schedule, flow down since before the first; the pass at `now`.
    static let day: Int64 = 86_400
    static let first: Int64 = 1_767_297_600  // 2026-01-01T20:00:00Z
    static let due = (0..<5).map { first + $0 * day }

    func schedule(_ catchup: Schedule.Catchup, max: Int? = nil, window: Duration? = nil, overlap: Schedule.Overlap = .skip) -> Schedule {
        Schedule(expressions: [], catchup: catchup, maxCatchup: max, catchupWindow: window, overlap: overlap,
                 location: SourceLocation(file: "t.yaml", line: 1, column: 1))
    }

    func outcomes(_ s: Schedule, due: [Int64] = due, now: Int64, active: Bool = false) -> [TickDecision.Outcome] {
        TickDecision.decide(s, due: due, now: now, runActive: active).map(\.outcome)
    }

    @Test("on time within grace runs; later ticks by the policy: none misses all, latest runs the newest, all runs each")
    func policies() {
        let onTime = Self.due[4] + 60          // a minute after the fifth tick
        let late = Self.due[4] + 3_600         // an hour after it: every tick is late
        #expect(outcomes(schedule(.none), now: onTime) == [.missedDowntime, .missedDowntime, .missedDowntime, .missedDowntime, .ran])
        #expect(outcomes(schedule(.none), now: late) == Array(repeating: .missedDowntime, count: 5))
        #expect(outcomes(schedule(.latest), now: onTime) == [.missedDowntime, .missedDowntime, .missedDowntime, .missedDowntime, .ran])
        #expect(outcomes(schedule(.latest), now: late) == [.missedDowntime, .missedDowntime, .missedDowntime, .missedDowntime, .caughtUp])
        #expect(outcomes(schedule(.all), now: late) == Array(repeating: .caughtUp, count: 5))
        #expect(outcomes(schedule(.all), now: onTime) == [.caughtUp, .caughtUp, .caughtUp, .caughtUp, .ran])
    }

    @Test("max_catchup keeps the newest; catchup_window drops what is older than it, before any policy")
    func capAndWindow() {
        let late = Self.due[4] + 3_600
        #expect(outcomes(schedule(.all, max: 2), now: late) == [.droppedOverCap, .droppedOverCap, .droppedOverCap, .caughtUp, .caughtUp])
        // A 3-day window an hour after the fifth tick: the first two are older than 3 days.
        #expect(outcomes(schedule(.all, window: .seconds(3 * 86_400)), now: late)
                == [.outsideWindow, .outsideWindow, .caughtUp, .caughtUp, .caughtUp])
        #expect(outcomes(schedule(.latest, window: .seconds(3 * 86_400)), now: late)
                == [.outsideWindow, .outsideWindow, .missedDowntime, .missedDowntime, .caughtUp])
    }

    @Test("while a run is going: skip records the ticks that would run as skipped, queue as queued; misses stay misses")
    func overlap() {
        let onTime = Self.due[4] + 60
        #expect(outcomes(schedule(.latest), now: onTime, active: true)
                == [.missedDowntime, .missedDowntime, .missedDowntime, .missedDowntime, .skippedOverlap])
        #expect(outcomes(schedule(.all, overlap: .queue), now: onTime, active: true) == Array(repeating: .queued, count: 5))
    }

    @Test("grace is inclusive, and nothing due decides nothing")
    func edges() {
        let s = schedule(.none)
        #expect(outcomes(s, due: [Self.first], now: Self.first + 15 * 60) == [.ran])
        #expect(outcomes(s, due: [Self.first], now: Self.first + 15 * 60 + 1) == [.missedDowntime])
        #expect(TickDecision.decide(s, due: [], now: Self.first, runActive: false).isEmpty)
        #expect(TickDecision.Outcome.allCases.filter(\.startsRun) == [.ran, .caughtUp])
        #expect(TickDecision.Outcome.allCases.filter(\.isMiss) == [.missedDowntime, .droppedOverCap, .outsideWindow])
    }
}
