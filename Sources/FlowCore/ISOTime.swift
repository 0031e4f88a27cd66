import Foundation

/// ISO 8601 / RFC 3339 timestamps, computed by hand. Foundation's `ISO8601DateFormatter` goes through ICU:
/// creating one cost ~1 ms of every `flow run`'s start-up, and the market actions parse and print thousands.
package enum ISOTime {
    /// `2026-01-16T09:30:00Z` for `seconds` since the epoch.
    package static func format(_ seconds: Int64) -> String {
        let days = floorDiv(seconds, 86_400)
        let inDay = seconds - days * 86_400
        let (y, m, d) = civil(fromDays: days)
        return pad(y, 4) + "-" + pad(m, 2) + "-" + pad(d, 2) + "T" + pad(inDay / 3600, 2) + ":" + pad(inDay / 60 % 60, 2)
            + ":" + pad(inDay % 60, 2) + "Z"
    }

    /// `2026-03-08T03:00:00-04:00`: the wall-clock time at `offset` seconds east of UTC, with that offset.
    package static func format(_ seconds: Int64, offset: Int) -> String {
        let utc = format(seconds + Int64(offset))
        let sign = offset < 0 ? "-" : "+"
        let magnitude = Int64(abs(offset))
        return String(utc.dropLast()) + sign + pad(magnitude / 3600, 2) + ":" + pad(magnitude / 60 % 60, 2)
    }

    /// `format` of a date, its fraction of a second dropped.
    package static func format(_ date: Date) -> String {
        format(Int64(date.timeIntervalSince1970.rounded(.down)))
    }

    /// Seconds since the epoch of `2026-01-16T09:30:00Z` (also `t`/`z`, a fraction of a second, or an offset
    /// `+10:00`, `-0500`), or of a bare date `2026-01-16` (midnight UTC). Surrounding spaces are ignored.
    /// nil for anything else, including impossible dates such as February 30th.
    package static func parse(_ text: String) -> Double? {
        let b = Array(text.utf8.drop { $0 == 32 }.reversed().drop { $0 == 32 }.reversed())
        var i = 0
        func number(_ width: Int) -> Int64? {
            guard i + width <= b.count else { return nil }
            var value: Int64 = 0
            for k in i..<(i + width) {
                guard (48...57).contains(b[k]) else { return nil }
                value = value * 10 + Int64(b[k] - 48)
            }
            i += width
            return value
        }
        func expect(_ chars: UInt8...) -> Bool {
            guard i < b.count, chars.contains(b[i]) else { return false }
            i += 1
            return true
        }
        guard let year = number(4), expect(45), let month = number(2), expect(45), let day = number(2),
              (1...12).contains(month), day >= 1, day <= daysIn(month: month, year: year) else { return nil }
        let date = Double(days(fromCivil: year, month, day) * 86_400)
        if i == b.count { return date }
        guard expect(84, 116), let hour = number(2), expect(58), let minute = number(2), expect(58), let second = number(2),
              hour < 24, minute < 60, second < 60 else { return nil }
        var fraction = 0.0
        if i < b.count, b[i] == 46 {
            i += 1
            var scale = 0.1
            let start = i
            while i < b.count, (48...57).contains(b[i]) {
                fraction += Double(b[i] - 48) * scale
                scale /= 10
                i += 1
            }
            guard i > start else { return nil }
        }
        var offset: Int64 = 0
        if expect(90, 122) {
            offset = 0
        } else if i < b.count, b[i] == 43 || b[i] == 45 {
            let sign: Int64 = b[i] == 45 ? -1 : 1
            i += 1
            guard let oh = number(2) else { return nil }
            _ = expect(58)
            guard let om = number(2), oh < 24, om < 60 else { return nil }
            offset = sign * (oh * 3600 + om * 60)
        } else {
            return nil
        }
        guard i == b.count else { return nil }
        return date + Double(hour * 3600 + minute * 60 + second - offset) + fraction
    }

    // Howard Hinnant's days-from-civil and its inverse: proleptic Gregorian, day 0 = 1970-01-01.
    package static func days(fromCivil year: Int64, _ month: Int64, _ day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = floorDiv(y, 400)
        let yoe = y - era * 400
        let doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    package static func civil(fromDays days: Int64) -> (Int64, Int64, Int64) {
        let z = days + 719_468
        let era = floorDiv(z, 146_097)
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
    }

    package static func daysIn(month: Int64, year: Int64) -> Int64 {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    private static func pad(_ value: Int64, _ width: Int) -> String {
        let digits = String(value)
        return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
    }
}

/// Division rounding toward negative infinity: the day of an instant before 1970 is the earlier day.
package func floorDiv(_ a: Int64, _ b: Int64) -> Int64 {
    let q = a / b
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q
}
