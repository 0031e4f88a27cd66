import FlowCore
import Foundation
import Synchronization

/// Trading days in a local time zone: day `D` holds the bars whose start lies in [D day_start, D+1 day_start).
package struct TradingCalendar: Sendable {
    package let timeZone: TimeZone
    /// Minutes after local midnight at which a trading day starts.
    package let dayStartMinutes: Int

    /// The day start as `HH:MM`.
    package var dayStartText: String {
        let h = dayStartMinutes / 60, m = dayStartMinutes % 60
        return (h < 10 ? "0" : "") + String(h) + ":" + (m < 10 ? "0" : "") + String(m)
    }

    package enum Failure: Error, CustomStringConvertible {
        case unknownTimeZone(String)
        case badDayStart(String)

        package var description: String {
            switch self {
            case .unknownTimeZone(let name): return "unknown time zone '\(name)'; use an IANA name such as Australia/Brisbane"
            case .badDayStart(let text): return "day_start '\(text)' is not a time of day such as 09:00"
            }
        }
    }

    package init(timeZone name: String, dayStart: String) throws(Failure) {
        guard let zone = TimeZone(identifier: name) else { throw .unknownTimeZone(name) }
        let parts = dayStart.split(separator: ":")
        guard parts.count == 2, let h = Int(parts[0]), let m = Int(parts[1]), (0..<24).contains(h), (0..<60).contains(m) else {
            throw .badDayStart(dayStart)
        }
        self.init(zone: zone, dayStartMinutes: h * 60 + m)
    }

    package init(zone: TimeZone, dayStartMinutes: Int) {
        timeZone = zone
        self.dayStartMinutes = dayStartMinutes
        offsets = OffsetWindow(zone: zone)
    }

    /// Remembers the last offset and until when it holds: callers walk time minute by minute.
    private let offsets: OffsetWindow

    /// Seconds to add to UTC to get local wall time at `ts`.
    package func offset(at ts: Int64) -> Int64 {
        offsets.offset(at: ts)
    }

    /// The trading day of a bar starting at `ts`, as days since 1970-01-01 (local calendar).
    package func tradingDay(of ts: Int64) -> Int64 {
        let local = ts + offset(at: ts)
        let day = floorDiv(local, 86_400)
        let minute = (local - day * 86_400) / 60
        return minute < Int64(dayStartMinutes) ? day - 1 : day
    }

    /// UTC seconds at which trading day `day` starts (local `day` at `day_start`).
    package func start(ofDay day: Int64) -> Int64 {
        let local = day * 86_400 + Int64(dayStartMinutes) * 60
        // The offset depends on the instant; two rounds settle it even across a DST change.
        var utc = local - offset(at: local)
        utc = local - offset(at: utc)
        return utc
    }

    /// [start, end) cut at trading-day boundaries: one chunk per trading day.
    package func chunks(from start: Int64, to end: Int64) -> [(day: Int64, start: Int64, end: Int64)] {
        guard start < end else { return [] }
        var out: [(Int64, Int64, Int64)] = []
        var day = tradingDay(of: start)
        while true {
            let s = max(start, self.start(ofDay: day))
            let e = min(end, self.start(ofDay: day + 1))
            if s < e { out.append((day, s, e)) }
            if self.start(ofDay: day + 1) >= end { break }
            day += 1
        }
        return out
    }

    /// `YYYY-MM-DD` of a day number.
    package static func dateString(_ day: Int64) -> String {
        String(ISOTime.format(day * 86_400).prefix(10))
    }

    /// The day number of `YYYY-MM-DD`.
    package static func day(of date: String) -> Int64? {
        guard let ts = UTCTime.parse(date) else { return nil }
        return floorDiv(ts, 86_400)
    }

    /// Local minutes after midnight and local day number of `ts`.
    package func localClock(_ ts: Int64) -> (day: Int64, minute: Int) {
        let local = ts + offset(at: ts)
        let day = floorDiv(local, 86_400)
        return (day, Int((local - day * 86_400) / 60))
    }
}

/// A zone's UTC offset and the span it holds for: from the instant it was asked for up to the zone's next
/// daylight-saving transition. Asking TimeZone for every minute of a year-long backfill cost a fifth of it.
private final class OffsetWindow: Sendable {
    private struct Window {
        var start: Int64 = 1
        var end: Int64 = 0
        var offset: Int64 = 0
    }
    private let zone: TimeZone
    private let window = Mutex(Window())

    init(zone: TimeZone) {
        self.zone = zone
    }

    func offset(at ts: Int64) -> Int64 {
        if let known = window.withLock({ w in ts >= w.start && ts < w.end ? w.offset : nil }) { return known }
        let date = Date(timeIntervalSince1970: TimeInterval(ts))
        let offset = Int64(zone.secondsFromGMT(for: date))
        let end = zone.nextDaylightSavingTimeTransition(after: date).map { Int64($0.timeIntervalSince1970.rounded(.down)) }
            ?? Int64.max
        window.withLock { $0 = Window(start: ts, end: max(end, ts + 1), offset: offset) }
        return offset
    }
}

/// CME Globex hours for metals: Sunday 17:00 to Friday 16:00 America/Chicago, with a daily break
/// 16:00–17:00. Exchange holidays are not modelled.
package struct GlobexHours: Sendable {
    let chicago: TradingCalendar

    package init() {
        // America/Chicago ships with every tz database; fall back to a fixed UTC-6 rather than trap.
        let zone = TimeZone(identifier: "America/Chicago") ?? TimeZone(secondsFromGMT: -21_600) ?? TimeZone.current
        chicago = TradingCalendar(zone: zone, dayStartMinutes: 0)
    }

    /// Whether the market is open during the minute starting at `ts`.
    package func isOpen(_ ts: Int64) -> Bool {
        let (day, minute) = chicago.localClock(ts)
        // 1970-01-01 was a Thursday: weekday 0 = Sunday.
        let weekday = Int(((day + 4) % 7 + 7) % 7)
        switch weekday {
        case 6: return false                       // Saturday
        case 0: return minute >= 17 * 60           // Sunday from 17:00
        case 5: return minute < 16 * 60           // Friday until 16:00
        default: return minute < 16 * 60 || minute >= 17 * 60
        }
    }
}
