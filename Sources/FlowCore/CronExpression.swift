/// A cron expression in Vixie cron's (and cronie's) five-field grammar — minute, hour, day of month, month, day
/// of week — with `*`, lists, ranges, steps, month and day names, 0 or 7 for Sunday, and the macros `@hourly`,
/// `@daily` (`@midnight`), `@weekly`, `@monthly`, `@yearly` (`@annually`). A value: which minutes, hours, days
/// and months match, and the two rules that depend on how the fields were written.
package struct CronExpression: Sendable, Hashable, CustomStringConvertible {
    /// A field that does not parse, and where: a character offset into the expression as written.
    package struct ParseError: Error, Sendable, Hashable, CustomStringConvertible {
        package var message: String
        package var offset: Int
        package var description: String { message }
    }

    package let source: String
    /// Bit `n` set: value `n` matches.
    package let minutes: UInt64
    package let hours: UInt64
    package let daysOfMonth: UInt64
    package let months: UInt64
    /// 0–6, Sunday 0 (a written 7 is folded into 0).
    package let daysOfWeek: UInt64
    /// Vixie's rule: when either day field starts with `*`, a day must match both; otherwise either.
    package let daysMatchBoth: Bool
    /// The minute or hour field starts with `*`: the job follows real time across DST changes (no make-up run
    /// for a skipped hour, both runs in a repeated one). Otherwise it is a fixed-time job.
    package let followsRealTime: Bool

    package var description: String { source }

    private static let macros: [String: String] = [
        "@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *", "@weekly": "0 0 * * 0",
        "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@hourly": "0 * * * *",
    ]
    private static let monthNames = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
    private static let dayNames = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"]
    /// The most days each month can have (February in a leap year).
    private static let longestMonth = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]

    private enum Field: Int, CaseIterable {
        case minute, hour, dayOfMonth, month, dayOfWeek

        var name: String {
            switch self {
            case .minute: return "minute"
            case .hour: return "hour"
            case .dayOfMonth: return "day of month"
            case .month: return "month"
            case .dayOfWeek: return "day of week"
            }
        }

        var range: ClosedRange<Int> {
            switch self {
            case .minute: return 0...59
            case .hour: return 0...23
            case .dayOfMonth: return 1...31
            case .month: return 1...12
            case .dayOfWeek: return 0...7
            }
        }

        var names: [String] {
            switch self {
            case .month: return CronExpression.monthNames
            case .dayOfWeek: return CronExpression.dayNames
            default: return []
            }
        }

        /// What a name stands for: months count from 1, days from 0.
        var nameBase: Int { self == .month ? 1 : 0 }
    }

    private init(source: String, fields: [UInt64], daysMatchBoth: Bool, followsRealTime: Bool) {
        self.source = source
        minutes = fields[0]
        hours = fields[1]
        daysOfMonth = fields[2]
        months = fields[3]
        // Sunday written as 7 is Sunday.
        daysOfWeek = (fields[4] | (fields[4] >> 7)) & 0x7f
        self.daysMatchBoth = daysMatchBoth
        self.followsRealTime = followsRealTime
    }

    /// Parses `text`; the error names the field, what is wrong, and where.
    package static func parse(_ text: String) -> Result<CronExpression, ParseError> {
        let trimmed = text.trimmingBlanks
        let leading = text.prefix { $0 == " " || $0 == "\t" }.count
        if trimmed.hasPrefix("@") {
            guard let expanded = macros[trimmed.lowercased()] else {
                let known = macros.keys.sorted().joined(separator: ", ")
                return .failure(ParseError(message: "unknown cron macro '\(trimmed.prefix(20))'; use one of \(known) or five fields",
                                           offset: leading))
            }
            guard case .success(let parsed) = parse(expanded) else {
                return .failure(ParseError(message: "cron macro '\(trimmed)' does not expand", offset: leading))
            }
            return .success(CronExpression(source: trimmed, fields: [parsed.minutes, parsed.hours, parsed.daysOfMonth, parsed.months,
                                                                     parsed.daysOfWeek],
                                           daysMatchBoth: parsed.daysMatchBoth, followsRealTime: parsed.followsRealTime))
        }
        // Fields and where each starts.
        var words: [(text: Substring, offset: Int)] = []
        var index = text.startIndex
        var offset = 0
        while index < text.endIndex {
            while index < text.endIndex, text[index] == " " || text[index] == "\t" {
                index = text.index(after: index)
                offset += 1
            }
            guard index < text.endIndex else { break }
            let start = index
            let startOffset = offset
            while index < text.endIndex, text[index] != " ", text[index] != "\t" {
                index = text.index(after: index)
                offset += 1
            }
            words.append((text[start..<index], startOffset))
        }
        guard words.count == 5 else {
            let hint = words.count == 6 ? " (flow's cron has no seconds field)" : ""
            return .failure(ParseError(message: "a cron expression has 5 fields (minute hour day-of-month month day-of-week), "
                                       + "not \(words.count)\(hint)", offset: words.count > 5 ? words[5].offset : leading))
        }
        var sets: [UInt64] = []
        for (field, word) in zip(Field.allCases, words) {
            switch parseField(word.text, field) {
            case .success(let set): sets.append(set)
            case .failure(let error):
                return .failure(ParseError(message: error.message, offset: word.offset + error.offset))
            }
        }
        let daysMatchBoth = words[2].text.hasPrefix("*") || words[4].text.hasPrefix("*")
        let expression = CronExpression(source: trimmed, fields: sets, daysMatchBoth: daysMatchBoth,
                                        followsRealTime: words[0].text.hasPrefix("*") || words[1].text.hasPrefix("*"))
        // With the days ANDed (or the day-of-week field `*`), a day of month no chosen month has never comes.
        if daysMatchBoth, !expression.hasPossibleDay {
            return .failure(ParseError(message: "'\(words[2].text) \(words[3].text)' never happens: no chosen month has that day",
                                       offset: words[2].offset))
        }
        return .success(expression)
    }

    private static func parseField(_ text: Substring, _ field: Field) -> Result<UInt64, ParseError> {
        var set: UInt64 = 0
        var offset = 0
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            switch parsePart(part, field) {
            case .success(let bits): set |= bits
            case .failure(let error): return .failure(ParseError(message: error.message, offset: offset + error.offset))
            }
            offset += part.count + 1
        }
        return .success(set)
    }

    /// One list element: `*`, `N`, `N-M`, each optionally `/STEP` (`N/STEP` runs from N to the field's end).
    private static func parsePart(_ part: Substring, _ field: Field) -> Result<UInt64, ParseError> {
        func bad(_ what: String, at offset: Int = 0) -> Result<UInt64, ParseError> {
            .failure(ParseError(message: "bad \(field.name) '\(part.prefix(20))': \(what)", offset: offset))
        }
        guard !part.isEmpty else { return bad("an empty list element") }
        var body = part
        var step = 1
        if let slash = part.firstIndex(of: "/") {
            body = part[..<slash]
            let stepText = part[part.index(after: slash)...]
            guard let n = Int(stepText), n > 0, stepText.allSatisfy(\.isASCII) else {
                return bad("the step after '/' must be a positive number", at: part.distance(from: part.startIndex, to: slash) + 1)
            }
            step = n
        }
        let range: ClosedRange<Int>
        if body == "*" {
            range = field.range
        } else if let dash = body.firstIndex(of: "-") {
            guard case .success(let low) = value(body[..<dash], field), case .success(let high) = value(body[body.index(after: dash)...], field)
            else { return bad(valueHint(field)) }
            guard low <= high else { return bad("a range runs from low to high") }
            range = low...high
        } else {
            guard case .success(let single) = value(body, field) else { return bad(valueHint(field)) }
            // `N/STEP` is N, N+STEP, … to the end of the field's range, as cronie and cronsim read it.
            range = part.contains("/") ? single...field.range.upperBound : single...single
        }
        var bits: UInt64 = 0
        for v in stride(from: range.lowerBound, through: range.upperBound, by: step) { bits |= 1 << UInt64(v) }
        return .success(bits)
    }

    private static func value(_ text: Substring, _ field: Field) -> Result<Int, ParseError> {
        if let index = field.names.firstIndex(of: text.uppercased()) { return .success(index + field.nameBase) }
        guard !text.isEmpty, text.allSatisfy({ $0.isASCII && $0.isNumber }), let n = Int(text), field.range.contains(n) else {
            return .failure(ParseError(message: "", offset: 0))
        }
        return .success(n)
    }

    private static func valueHint(_ field: Field) -> String {
        let names = field.names.isEmpty ? "" : " or \(field.names.first ?? "")–\(field.names.last ?? "")"
        return "values are \(field.range.lowerBound)–\(field.range.upperBound)\(names)"
    }

    /// Some chosen month has some chosen day of month.
    private var hasPossibleDay: Bool {
        for month in 1...12 where matches(month: month) {
            let longest = CronExpression.longestMonth[month - 1]
            for day in 1...longest where daysOfMonth & (1 << UInt64(day)) != 0 { return true }
        }
        return false
    }

    // MARK: matching

    package func matches(minute: Int) -> Bool { minutes & (1 << UInt64(minute)) != 0 }
    package func matches(hour: Int) -> Bool { hours & (1 << UInt64(hour)) != 0 }
    package func matches(month: Int) -> Bool { months & (1 << UInt64(month)) != 0 }

    /// Whether a calendar day matches, by Vixie's OR/AND rule for the two day fields. `weekday`: 0 for Sunday.
    package func matches(day: Int, weekday: Int) -> Bool {
        let dom = daysOfMonth & (1 << UInt64(day)) != 0
        let dow = daysOfWeek & (1 << UInt64(weekday)) != 0
        return daysMatchBoth ? dom && dow : dom || dow
    }
}
