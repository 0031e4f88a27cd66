import FlowTestSupport
import Foundation
import GRDB
import MarketData
import Testing

/// Features of a small fixture, against values worked out by hand (Australia/Brisbane is UTC+10, no DST).
@Suite("daily features")
struct FeatureTests {
    static let calendar = TradingCalendar(zone: TimeZone(identifier: "Australia/Brisbane") ?? TimeZone(secondsFromGMT: 36_000) ?? .current,
                                          dayStartMinutes: 9 * 60)

    /// A bar at a Brisbane wall time such as "2026-01-15 09:00".
    static func bar(_ local: String, _ o: Double, _ h: Double, _ l: Double, _ c: Double, _ v: Int64) -> Bar {
        let iso = local.replacingOccurrences(of: " ", with: "T") + ":00Z"
        let ts = (UTCTime.parse(iso) ?? 0) - 10 * 3600
        return Bar(symbol: "MGC", ts: ts, open: o, high: h, low: l, close: c, volume: v, instrumentID: 1, source: "test")
    }

    static let previousDay = [bar("2026-01-14 12:00", 100, 100.4, 99.6, 100.2, 3)]

    static let fixtureDay = [
        bar("2026-01-15 09:00", 100, 101, 99, 100.5, 10),
        bar("2026-01-15 09:02", 100.5, 102, 100, 101.5, 20),
        bar("2026-01-15 09:04", 101.5, 101.5, 98.5, 99, 10),
        bar("2026-01-15 09:05", 99, 100, 98.8, 99.5, 5),
        bar("2026-01-15 10:00", 99.5, 103, 99.5, 102.5, 15),
        bar("2026-01-15 16:59", 102.5, 103.5, 102, 103, 10),
        bar("2026-01-15 17:00", 103, 104, 102.9, 103.8, 5),
        bar("2026-01-15 18:00", 103.8, 104.2, 103.5, 104, 10),
        bar("2026-01-15 18:04", 104, 104.5, 103.0, 103.2, 10),
        bar("2026-01-15 18:10", 103.2, 103.3, 102.0, 102.5, 10),
        bar("2026-01-15 22:59", 102.5, 102.8, 102.1, 102.6, 0),
        bar("2026-01-15 23:00", 102.6, 103.0, 102.4, 102.9, 10),
        bar("2026-01-16 00:30", 102.9, 103.1, 102.7, 103.0, 10),
        bar("2026-01-16 01:59", 103, 103.2, 102.8, 103.1, 5),
        bar("2026-01-16 08:59", 103.1, 103.3, 103.0, 103.1, 5),
    ]

    func close(_ a: Double?, _ b: Double, tolerance: Double = 1e-9) -> Bool {
        guard let a else { return false }
        return abs(a - b) < tolerance
    }

    @Test("every column of a fixture day, including the NULL cases")
    func fixtureDayColumns() throws {
        let day = try #require(TradingCalendar.day(of: "2026-01-15"))
        #expect(Self.fixtureDay.allSatisfy { Self.calendar.tradingDay(of: $0.ts) == day })
        let calculator = FeatureCalculator(calendar: Self.calendar)
        var days = [
            try #require(calculator.day(day - 1, bars: Self.previousDay[...])),
            try #require(calculator.day(day, bars: Self.fixtureDay[...])),
        ]
        FeatureCalculator.roll(&days, previousClose: nil, previousTrueRanges: [])
        let f = days[1]
        #expect(f.open == 100 && f.close == 103.1 && f.high == 104.5 && f.low == 98.5)
        #expect(f.volume == 135 && f.barCount == 15)
        // Σ(h+l+c)·v = 41335.5 (worked out bar by bar), so vwap = 41335.5 / 3 / 135.
        #expect(close(f.vwap, 41335.5 / 405.0))
        #expect(f.asia.high == 103.5 && f.asia.low == 98.5)
        #expect(f.london.high == 104.5 && f.london.low == 102.0)
        #expect(f.ny.high == 103.2 && f.ny.low == 102.4)
        #expect(f.orb0900 == DailyFeatures.Range(high: 102, low: 98.5, breakDirection: "up"))
        #expect(f.orb1800 == DailyFeatures.Range(high: 104.5, low: 103.0, breakDirection: "down"))
        #expect(f.orb0030 == DailyFeatures.Range(high: 103.1, low: 102.7, breakDirection: nil),
                "closes after 00:35 (103.1, 103.1) never leave [102.7, 103.1]")
        #expect(f.prevClose == 100.2)
        #expect(close(f.trueRange, 6.0))
        #expect(f.atr14 == nil, "fewer than 14 days")

        let p = days[0]
        #expect(p.prevClose == nil)
        #expect(close(p.trueRange, 0.8), "high − low without a previous day")
        #expect(p.london.high == nil && p.ny.low == nil)
        #expect(p.orb0900 == DailyFeatures.Range() && p.orb1800 == DailyFeatures.Range())
        #expect(p.vwap.map { close($0, (100.4 + 99.6 + 100.2) / 3) } == true)
    }

    @Test("vwap is NULL when the day's volume is zero")
    func zeroVolume() throws {
        let day = try #require(TradingCalendar.day(of: "2026-01-15"))
        let f = try #require(FeatureCalculator(calendar: Self.calendar).day(day, bars: [Self.bar("2026-01-15 10:00", 1, 2, 0.5, 1.5, 0)][...]))
        #expect(f.vwap == nil)
    }

    @Test("prev_close, true_range and atr_14 roll over days")
    func rolling() {
        // Day k: high 100+k, low 99+k, close 99.5+k. TR: 1 on day 0, then max(100+k, 98.5+k) − min(99+k, 98.5+k) = 1.5.
        var days = (0..<16).map { k -> DailyFeatures in
            let k = Double(k)
            return DailyFeatures(day: Int64(k), open: 99.5 + k, high: 100 + k, low: 99 + k, close: 99.5 + k, volume: 1, barCount: 1,
                                 vwap: nil, asia: (nil, nil), london: (nil, nil), ny: (nil, nil))
        }
        FeatureCalculator.roll(&days, previousClose: nil, previousTrueRanges: [])
        #expect(days[0].trueRange == 1 && days[0].prevClose == nil)
        #expect(days[1].trueRange == 1.5 && days[1].prevClose == 99.5)
        #expect(days[12].atr14 == nil)
        #expect(close(days[13].atr14, 20.5 / 14))
        #expect(close(days[14].atr14, 1.5))
        #expect(close(days[15].atr14, 1.5))
    }

    @Test("an incremental rebuild from a day gives exactly what a full rebuild gives")
    func incrementalEqualsFull() async throws {
        let dir = TemporaryDirectory()
        let queue = try MarketDatabase.open(dir.path + "/m.db")
        let start = try #require(UTCTime.parse("2026-01-05T00:00:00Z"))
        let builder = FeatureBuilder(calendar: Self.calendar)
        let full = try await blocking {
            let bars = DemoSource().bars(symbol: "MGC", start: start, end: start + 25 * 86_400)
            _ = try BarWriter.write(bars, symbol: "MGC", source: "demo", range: (start, start + 25 * 86_400),
                                    syncedUntil: start + 25 * 86_400, to: queue, now: 0)
            return try builder.rebuild(symbol: "MGC", fromDay: nil, in: queue)
        }
        #expect(full.days >= 18)
        let snapshot = try await queue.read { db in try Row.fetchAll(db, sql: "SELECT * FROM daily_features ORDER BY date_local") }
        let mid = try #require(full.first) + 10
        let partial = try await blocking { try builder.rebuild(symbol: "MGC", fromDay: mid, in: queue) }
        #expect(partial.days < full.days)
        let again = try await queue.read { db in try Row.fetchAll(db, sql: "SELECT * FROM daily_features ORDER BY date_local") }
        #expect(again == snapshot)
        #expect(snapshot.compactMap { $0["atr_14"] as Double? }.count == full.days - 13)
    }
}
