import FlowCore
import FlowPlan
import FlowTestSupport
import Foundation
import Testing

@Suite("schedule ticks")
struct CronScheduleTests {
    func schedule(_ expressions: String..., zone: String) throws -> CronSchedule {
        let parsed = try expressions.map { try CronExpression.parse($0).get() }
        return CronSchedule(parsed, timeZone: try #require(TimeZone(identifier: zone)))
    }

    func at(_ text: String) throws -> Int64 { Int64(try #require(ISOTime.parse(text))) }

    func next(_ s: CronSchedule, after text: String, _ count: Int) throws -> [String] {
        s.ticks(after: try at(text), count: count).map(\.utcText)
    }

    @Test("the ticks up to an instant are the ticks after the watermark that are not later, across DST, the newest when limited",
          arguments: [("30 2 * * *", "America/New_York"), ("30 * * * *", "Europe/London"), ("*/7 1-3 * * 0,6", "Australia/Lord_Howe"),
                      ("0 9 * * 1-5", "Australia/Brisbane"), ("15 1 * * *", "America/Santiago")])
    func ticksThrough(_ expression: String, _ zone: String) throws {
        let s = try schedule(expression, zone: zone)
        let from = try at("2026-03-01T00:00:00Z")
        for days in [0, 1, 3, 40] {
            let end = from + Int64(days) * 86_400 + 3_601
            let expected = s.ticks(after: from, count: 5_000).map(\.utc).filter { $0 <= end }
            #expect(s.ticks(after: from, through: end, limit: 100_000).map(\.utc) == expected, "\(expression) \(zone) \(days)d")
            #expect(s.ticks(after: from, through: end, limit: 3).map(\.utc) == Array(expected.suffix(3)))
        }
        #expect(s.ticks(after: from, through: from, limit: 10).isEmpty)
    }

    @Test("a fixed-time job in the spring-forward gap runs once, at the first instant after it (New York)")
    func gapFixedTime() throws {
        // 2026-03-08 02:00 EST → 03:00 EDT at 07:00Z: 02:30 does not exist that night.
        let s = try schedule("30 2 * * *", zone: "America/New_York")
        #expect(try next(s, after: "2026-03-07T12:00:00Z", 3) == ["2026-03-08T07:00:00Z", "2026-03-09T06:30:00Z", "2026-03-10T06:30:00Z"])
        #expect(s.ticks(after: try at("2026-03-07T12:00:00Z"), count: 1).first?.localText == "2026-03-08T03:00:00-04:00")
        // Two times in the gap and one just after it still run once at the transition.
        let three = try schedule("0,30 2 * * *", "0 3 * * *", zone: "America/New_York")
        #expect(try next(three, after: "2026-03-08T06:00:00Z", 2) == ["2026-03-08T07:00:00Z", "2026-03-09T06:00:00Z"])
    }

    @Test("a fixed-time job in the repeated fall-back hour runs once, at the first occurrence")
    func foldFixedTime() throws {
        // 2026-11-01 02:00 EDT → 01:00 EST at 06:00Z: 01:30 happens at 05:30Z and again at 06:30Z.
        let s = try schedule("30 1 * * *", zone: "America/New_York")
        #expect(try next(s, after: "2026-10-31T12:00:00Z", 2) == ["2026-11-01T05:30:00Z", "2026-11-02T06:30:00Z"])
        let london = try schedule("30 1 * * *", zone: "Europe/London")  // 2026-10-25 02:00 BST → 01:00 GMT
        #expect(try next(london, after: "2026-10-24T12:00:00Z", 2) == ["2026-10-25T00:30:00Z", "2026-10-26T01:30:00Z"])
    }

    @Test("a job whose minute or hour starts with '*' follows real time: nothing for the gap, both copies of the fold")
    func realTime() throws {
        let hourly = try schedule("30 * * * *", zone: "America/New_York")
        #expect(try next(hourly, after: "2026-11-01T03:00:00Z", 5)
                == ["2026-11-01T03:30:00Z", "2026-11-01T04:30:00Z", "2026-11-01T05:30:00Z", "2026-11-01T06:30:00Z", "2026-11-01T07:30:00Z"])
        #expect(try next(hourly, after: "2026-03-08T05:00:00Z", 3) == ["2026-03-08T05:30:00Z", "2026-03-08T06:30:00Z", "2026-03-08T07:30:00Z"])
        let london = try schedule("*/30 1 * * *", zone: "Europe/London")
        // 2026-03-29: 01:00-02:00 GMT does not exist; 2026-10-25: 01:00-02:00 happens twice.
        #expect(try next(london, after: "2026-03-28T12:00:00Z", 2) == ["2026-03-30T00:00:00Z", "2026-03-30T00:30:00Z"])
        #expect(try next(london, after: "2026-10-24T12:00:00Z", 4)
                == ["2026-10-25T00:00:00Z", "2026-10-25T00:30:00Z", "2026-10-25T01:00:00Z", "2026-10-25T01:30:00Z"])
    }

    @Test("Brisbane has no DST: weekday evenings are 10:30 UTC all year; weekends are skipped")
    func brisbane() throws {
        let s = try schedule("30 20 * * 1-5", zone: "Australia/Brisbane")
        // Friday 2026-01-30 20:30 AEST, then Monday.
        #expect(try next(s, after: "2026-01-30T00:00:00Z", 2) == ["2026-01-30T10:30:00Z", "2026-02-02T10:30:00Z"])
        #expect(try next(s, after: "2026-07-03T00:00:00Z", 1) == ["2026-07-03T10:30:00Z"])
        #expect(s.ticks(after: try at("2026-07-03T00:00:00Z"), count: 1).first?.localText == "2026-07-03T20:30:00+10:00")
    }

    @Test("a daily job's interval is 23 hours on the spring-forward day and 25 on the fall-back day")
    func intervals() throws {
        let s = try schedule("0 3 * * *", zone: "America/New_York")
        let spring = try #require(s.ticks(after: try at("2026-03-08T00:00:00Z"), count: 1).first)
        let springStart = try #require(s.tick(before: spring.utc))
        #expect(spring.utcText == "2026-03-08T07:00:00Z" && springStart.utcText == "2026-03-07T08:00:00Z")
        #expect(spring.utc - springStart.utc == 23 * 3_600)
        let fall = try #require(s.ticks(after: try at("2026-11-01T00:00:00Z"), count: 1).first)
        let fallStart = try #require(s.tick(before: fall.utc))
        #expect(fall.utc - fallStart.utc == 25 * 3_600)
    }

    @Test("ticks are strictly after the instant asked about, once each across a list of expressions, in order")
    func orderAndUnion() throws {
        let s = try schedule("0 12 * * *", "0 12 * * 1", "0 0 * * *", zone: "UTC")
        #expect(try next(s, after: "2026-01-05T12:00:00Z", 3) == ["2026-01-06T00:00:00Z", "2026-01-06T12:00:00Z", "2026-01-07T00:00:00Z"])
        #expect(s.tick(before: try at("2026-01-06T00:00:00Z"))?.utcText == "2026-01-05T12:00:00Z")
        // February 29th comes every four years; the schedule finds it.
        let leap = try schedule("0 0 29 2 *", zone: "UTC")
        #expect(try next(leap, after: "2026-03-01T00:00:00Z", 2) == ["2028-02-29T00:00:00Z", "2032-02-29T00:00:00Z"])
    }

    @Test("Lord Howe's half-hour DST: a real-time job runs both copies of a minute in the repeated half hour")
    func lordHowe() throws {
        // 2026-04-05 02:00 LHDT (+11) → 01:30 LHST (+10:30) at 15:00Z: 01:41 happens at 14:41Z and at 15:11Z.
        let s = try schedule("41 * * * *", zone: "Australia/Lord_Howe")
        #expect(try next(s, after: "2026-04-04T14:00:00Z", 3) == ["2026-04-04T14:41:00Z", "2026-04-04T15:11:00Z", "2026-04-04T16:11:00Z"])
    }

    @Test("a day that starts in the gap (Santiago springs forward at midnight): a real-time job makes nothing up, a fixed-time one runs at 01:00")
    func midnightGap() throws {
        // 2026-09-06 00:00 -04 → 01:00 -03 at 04:00Z.
        let realTime = try schedule("*/30 */9 * * *", zone: "America/Santiago")
        #expect(try next(realTime, after: "2026-09-05T23:25:00Z", 2) == ["2026-09-06T12:00:00Z", "2026-09-06T12:30:00Z"])
        let fixed = try schedule("15 0 * * *", zone: "America/Santiago")
        #expect(try next(fixed, after: "2026-09-05T23:25:00Z", 2) == ["2026-09-06T04:00:00Z", "2026-09-07T03:15:00Z"])
    }

    @Test("a gap that starts at 02:45 (Chatham): the minutes of hour 3 after it still run that day")
    func quarterHourGap() throws {
        // 2026-09-27 02:45 +12:45 → 03:45 +13:45 at 14:00Z on the 26th: of 03:00, :13, :26, :39, :52 only :52 exists.
        let s = try schedule("*/13 3 * * *", zone: "Pacific/Chatham")
        #expect(try next(s, after: "2026-09-25T21:59:00Z", 2) == ["2026-09-26T14:07:00Z", "2026-09-27T13:15:00Z"])
    }

    @Test("agrees with cronsim on random expressions, zones and start times near 2026's DST transitions")
    func agreesWithCronsim() async throws {
        let script = Repository.root + "/Tests/Fixtures/cronsim_cases.py"
        let dir = TemporaryDirectory()
        // A fixed seed, so a failure reproduces; FLOW_CRONSIM_SEED explores others.
        let seed = ProcessInfo.processInfo.environment["FLOW_CRONSIM_SEED"] ?? "14"
        let result = try await FlowBinary.runProgram("/usr/bin/env", ["python3", script, seed, "400"], in: dir.path)
        try #require(result.status == 0, "cronsim_cases.py failed (CI installs cronsim with pip; locally: pip install cronsim): \(result.stderr)")
        var compared = 0
        for line in result.stdout.split(separator: "\n") {
            struct Case: Decodable { var expr: String; var zone: String; var from: String; var ticks: [String] }
            let c = try JSONDecoder().decode(Case.self, from: Data(line.utf8))
            let s = try schedule(c.expr, zone: c.zone)
            let mine = try next(s, after: c.from, c.ticks.count)
            #expect(mine == c.ticks, "\(c.expr) in \(c.zone) after \(c.from)")
            compared += 1
        }
        #expect(compared == 400)
    }
}
