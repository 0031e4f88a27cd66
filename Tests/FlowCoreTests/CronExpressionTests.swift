import FlowCore
import Testing

@Suite("cron expressions")
struct CronExpressionTests {
    static let valid = [
        "* * * * *", "0 * * * *", "*/5 * * * *", "0 0 * * *", "30 20 * * 1-5", "0 9-17 * * MON-FRI", "15,45 * * * *",
        "0 0 1 * *", "0 0 1 1 *", "0 12 * * 0", "0 12 * * 7", "0 12 * * SUN", "0 12 * * sun", "0 0 * JAN *",
        "0 0 1 jan,jul *", "0 0 * * MON,WED,FRI", "1-59/2 * * * *", "0 */2 * * *", "0 0 */2 * *", "5/15 * * * *",
        "0 0 29 2 *", "0 0 31 * *", "0 0 30 1,3 *", "59 23 31 12 *", "0 0 1-7 * 1", "0 0 * * 1-5/2", "0 4 8-14 * *",
        "0,30 0-5,12-17 * * *", "0 0 * 1-12/3 *", "0 0 L * *".replacingOccurrences(of: "L", with: "28"),
        "@hourly", "@daily", "@midnight", "@weekly", "@monthly", "@yearly", "@annually", "  0 0 * * *  ",
        "0\t0\t*\t*\t*", "00 05 * * *",
    ]

    static let invalid: [(text: String, message: String, offset: Int)] = [
        ("", "a cron expression has 5 fields", 0),
        ("* * * *", "a cron expression has 5 fields", 0),
        ("0 * * * * *", "no seconds field", 10),
        ("60 * * * *", "bad minute '60'", 0),
        ("* 24 * * *", "bad hour '24'", 2),
        ("* * 0 * *", "bad day of month '0'", 4),
        ("* * 32 * *", "bad day of month '32'", 4),
        ("* * * 13 *", "bad month '13'", 6),
        ("* * * * 8", "bad day of week '8'", 8),
        ("*/0 * * * *", "positive number", 2),
        ("*/x * * * *", "positive number", 2),
        ("5-1 * * * *", "from low to high", 0),
        ("a * * * *", "bad minute 'a'", 0),
        ("1,,2 * * * *", "an empty list element", 2),
        ("1, * * * *", "an empty list element", 2),
        ("* * * FOO *", "bad month 'FOO'", 6),
        ("* * * * MONDAY", "bad day of week 'MONDAY'", 8),
        ("0 0 31 2 *", "never happens", 4),
        ("0 0 30 2 *", "never happens", 4),
        ("0 0 31 4,6,9,11 *", "never happens", 4),
        ("@reboot", "unknown cron macro", 0),
        ("@every 5m", "unknown cron macro", 0),
        ("0 0 L * *", "bad day of month 'L'", 4),
        ("0 0 * * 1#2", "bad day of week '1#2'", 8),
        ("-1 * * * *", "bad minute '-1'", 0),
        ("1-2-3 * * * *", "bad minute '1-2-3'", 0),
        ("０ * * * *", "bad minute", 0),
    ]

    @Test("valid expressions parse", arguments: valid)
    func parses(_ text: String) {
        guard case .failure(let error) = CronExpression.parse(text) else { return }
        Issue.record("'\(text)': \(error.message)")
    }

    @Test("invalid expressions fail, naming the field and where", arguments: invalid)
    func rejects(_ text: String, message: String, offset: Int) {
        switch CronExpression.parse(text) {
        case .success:
            Issue.record("'\(text)' parsed")
        case .failure(let error):
            #expect(error.message.contains(message), "'\(text)': \(error.message)")
            #expect(error.offset == offset, "'\(text)': \(error.message)")
        }
    }

    @Test("Sunday is 0 or 7; names, ranges and steps mean what cron means")
    func meanings() throws {
        let sunday7 = try CronExpression.parse("0 0 * * 7").get()
        let sunday0 = try CronExpression.parse("0 0 * * SUN").get()
        #expect(sunday7.daysOfWeek == sunday0.daysOfWeek && sunday0.daysOfWeek == 1)
        let steps = try CronExpression.parse("5/20 1-9/4 * * *").get()
        #expect((0..<60).filter(steps.matches(minute:)) == [5, 25, 45])
        #expect((0..<24).filter(steps.matches(hour:)) == [1, 5, 9])
        let weekdays = try CronExpression.parse("0 0 * * mon-fri").get()
        #expect((0..<7).filter { weekdays.matches(day: 1, weekday: $0) } == [1, 2, 3, 4, 5])
    }

    @Test("the two day fields: OR when both are restricted, AND when either starts with '*'")
    func dayRule() throws {
        let either = try CronExpression.parse("0 0 13 * 5").get()   // the 13th, or any Friday
        #expect(either.matches(day: 13, weekday: 2) && either.matches(day: 6, weekday: 5) && !either.matches(day: 6, weekday: 4))
        let both = try CronExpression.parse("0 0 */2 * 5").get()    // odd days that are Fridays: '*/2' counts as '*'
        #expect(both.daysMatchBoth)
        #expect(both.matches(day: 13, weekday: 5) && !both.matches(day: 13, weekday: 4) && !both.matches(day: 12, weekday: 5))
    }

    @Test("a job follows real time when its minute or hour starts with '*'")
    func realTime() throws {
        #expect(try CronExpression.parse("30 * * * *").get().followsRealTime)
        #expect(try CronExpression.parse("*/15 2 * * *").get().followsRealTime)
        #expect(try !CronExpression.parse("30 2 * * *").get().followsRealTime)
        #expect(try !CronExpression.parse("@daily").get().followsRealTime)
        #expect(try CronExpression.parse("@hourly").get().followsRealTime)
    }
}
