import FlowCore
import Foundation

/// When a schedule's ticks fall: one or more cron expressions read in a time zone, with Vixie cron's DST rules
/// (as cronsim implements them). A pure function of the expressions, the zone and the instant asked about.
///
/// - A fixed-time job (neither minute nor hour starts with `*`) whose wall-clock time falls in the spring-forward
///   gap runs once, at the first instant after the gap; in the repeated fall-back hour it runs once, at the
///   first occurrence.
/// - A job whose minute or hour starts with `*` follows real time: nothing is made up for the skipped hour, and
///   both copies of the repeated hour run.
package struct CronSchedule: Sendable {
    /// One due time: a UTC instant, and the zone's offset there (for showing local time beside it).
    package struct Tick: Sendable, Hashable {
        /// Seconds since the epoch, UTC.
        package var utc: Int64
        /// Seconds east of UTC in the schedule's zone at that instant.
        package var offset: Int

        package var utcText: String { ISOTime.format(utc) }
        package var localText: String { ISOTime.format(utc, offset: offset) }
    }

    package let expressions: [CronExpression]
    package let timeZone: TimeZone

    package init(_ expressions: [CronExpression], timeZone: TimeZone) {
        self.expressions = expressions
        self.timeZone = timeZone
    }

    /// The next `count` ticks strictly after `instant` (seconds since the epoch), in order, each once even
    /// when several expressions name it. Fewer when the schedule ends (50 years without a tick).
    package func ticks(after instant: Int64, count: Int) -> [Tick] {
        guard count > 0 else { return [] }
        var all: [Int64] = []
        for expression in expressions { all += ticks(of: expression, after: instant, count: count) }
        var seen = Set<Int64>()
        return all.sorted().filter { seen.insert($0).inserted }.prefix(count).map { Tick(utc: $0, offset: offset(at: $0)) }
    }

    /// Every tick in (`instant`, `end`], oldest first: the newest `limit` when there are more. Only the ticks
    /// up to `end` are worked out, so a scheduler pass with nothing due looks at one wall-clock match or so.
    package func ticks(after instant: Int64, through end: Int64, limit: Int) -> [Tick] {
        guard end > instant, limit > 0 else { return [] }
        var all: [Int64] = []
        for expression in expressions { all += ticks(of: expression, after: instant, count: nil, until: end).filter { $0 <= end } }
        var seen = Set<Int64>()
        return all.sorted().filter { seen.insert($0).inserted }.suffix(limit).map { Tick(utc: $0, offset: offset(at: $0)) }
    }

    /// `utc` as a tick of this schedule's zone, for showing its local time.
    package func tick(at utc: Int64) -> Tick { Tick(utc: utc, offset: offset(at: utc)) }

    /// The last tick strictly before `instant`, if one falls in the 50 years before it: the start of the
    /// interval a tick closes.
    package func tick(before instant: Int64) -> Tick? {
        // Ticks are found forwards; look back over growing windows until one holds a tick.
        var window: Int64 = 3_600
        while window <= 51 * 366 * 86_400 {
            var latest: Int64?
            for expression in expressions {
                let found = ticks(of: expression, after: instant - window - 1, count: nil, until: instant).filter { $0 < instant }
                if let last = found.max(), last > (latest ?? .min) { latest = last }
            }
            if let latest { return Tick(utc: latest, offset: offset(at: latest)) }
            window *= 8
        }
        return nil
    }

    // MARK: one expression

    /// Ticks after `instant`, unordered: at least `count` (all there are when nil), or every one up to `until`.
    private func ticks(of expression: CronExpression, after instant: Int64, count: Int?, until: Int64? = nil) -> [Int64] {
        // A tick after `instant` can have a wall-clock time a little before the wall clock at `instant` (the
        // repeated hour): start three hours earlier and keep only instants after `instant`.
        var minute = floorDiv(instant + Int64(offset(at: instant)), 60) - 180
        var found: [Int64] = []
        var seen = Set<Int64>()
        // Once `count` are found, the count-th earliest of them: later wall-clock times can only add ticks
        // after it once their earliest possible instant has passed it.
        var bound: Int64?
        // Like cronsim, a schedule ends where 50 years pass without a tick.
        while let match = Self.nextMatch(of: expression, atOrAfter: minute, before: minute + 50 * 366 * 1_440) {
            minute = match + 1
            let wall = match * 60
            // No zone is more than 14 hours ahead of UTC: a wall-clock time is no earlier an instant than this.
            let earliestPossible = wall - 14 * 3_600
            if let bound, earliestPossible > bound { break }
            if let until, earliestPossible > until { break }
            // Several times in one gap map to the same instant: once.
            for utc in instants(ofWallClock: wall, followsRealTime: expression.followsRealTime) where utc > instant && seen.insert(utc).inserted {
                found.append(utc)
            }
            if bound == nil, let count, found.count >= count { bound = found.sorted()[count - 1] }
        }
        return found
    }

    /// The instants a wall-clock time (seconds, as if UTC) stands for in the zone, by the DST rules above.
    private func instants(ofWallClock wall: Int64, followsRealTime: Bool) -> [Int64] {
        let before = offset(at: wall - 86_400)
        let after = offset(at: wall + 86_400)
        var valid: [Int64] = []
        for candidate in Set([before, after]) {
            let utc = wall - Int64(candidate)
            if offset(at: utc) == candidate { valid.append(utc) }
        }
        valid.sort()
        if valid.isEmpty {
            // In the gap: a fixed-time job runs at the first instant after it, a real-time one not at all.
            guard !followsRealTime else { return [] }
            return [firstInstant(afterGapAt: wall, offsets: (min(before, after), max(before, after)))]
        }
        // In the repeated hour: both for a real-time job, the first for a fixed-time one.
        return followsRealTime ? valid : [valid[0]]
    }

    /// The transition that opens the gap holding `wall`: the least instant whose wall clock is past `wall`.
    private func firstInstant(afterGapAt wall: Int64, offsets: (low: Int, high: Int)) -> Int64 {
        var low = wall - Int64(offsets.high)
        var high = wall - Int64(offsets.low) + 1
        while low < high {
            let middle = low + (high - low) / 2
            if middle + Int64(offset(at: middle)) > wall { high = middle } else { low = middle + 1 }
        }
        return low
    }

    private func offset(at utc: Int64) -> Int {
        timeZone.secondsFromGMT(for: Date(timeIntervalSince1970: TimeInterval(utc)))
    }

    /// The first wall-clock minute (minutes since 1970-01-01 00:00, as if UTC) at or after `start` that the
    /// expression matches, before `limit`.
    static func nextMatch(of expression: CronExpression, atOrAfter start: Int64, before limit: Int64) -> Int64? {
        var days = floorDiv(start, 1_440)
        var inDay = start - days * 1_440
        var (year, month, day) = ISOTime.civil(fromDays: days)
        var hour = inDay / 60
        var minute = inDay % 60
        func nextDay() {
            days += 1
            (year, month, day) = ISOTime.civil(fromDays: days)
            hour = 0
            minute = 0
        }
        while days * 1_440 < limit {
            if !expression.matches(month: Int(month)) {
                // The first day of the next month.
                days += ISOTime.daysIn(month: month, year: year) - day + 1
                (year, month, day) = ISOTime.civil(fromDays: days)
                hour = 0
                minute = 0
                continue
            }
            // 1970-01-01 was a Thursday (4).
            let weekday = Int((days % 7 + 7 + 4) % 7)
            if !expression.matches(day: Int(day), weekday: weekday) {
                nextDay()
                continue
            }
            if !expression.matches(hour: Int(hour)) {
                guard let next = (Int(hour) + 1..<24).first(where: expression.matches(hour:)) else {
                    nextDay()
                    continue
                }
                hour = Int64(next)
                minute = 0
            }
            guard let next = (Int(minute)..<60).first(where: expression.matches(minute:)) else {
                guard let laterHour = (Int(hour) + 1..<24).first(where: expression.matches(hour:)) else {
                    nextDay()
                    continue
                }
                hour = Int64(laterHour)
                minute = 0
                continue
            }
            minute = Int64(next)
            inDay = hour * 60 + minute
            let found = days * 1_440 + inDay
            return found < limit ? found : nil
        }
        return nil
    }
}
