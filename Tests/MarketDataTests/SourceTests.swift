import FlowCore
import Foundation
import MarketData
import Testing

@Suite("calendar, demo source and vendor CSV")
struct SourceTests {
    @Test("trading days start at day_start in the local zone; chunks cut there")
    func chunks() throws {
        let cal = try TradingCalendar(timeZone: "Australia/Brisbane", dayStart: "09:00")
        let start = try #require(UTCTime.parse("2026-01-14T20:00:00Z"))   // 06:00 local on the 15th: still the 14th's day
        let end = try #require(UTCTime.parse("2026-01-16T12:00:00Z"))
        let chunks = cal.chunks(from: start, to: end)
        #expect(chunks.map { TradingCalendar.dateString($0.day) } == ["2026-01-14", "2026-01-15", "2026-01-16"])
        #expect(chunks.map { UTCTime.iso($0.start) } == ["2026-01-14T20:00:00Z", "2026-01-14T23:00:00Z", "2026-01-15T23:00:00Z"])
        #expect(chunks.map { UTCTime.iso($0.end) } == ["2026-01-14T23:00:00Z", "2026-01-15T23:00:00Z", "2026-01-16T12:00:00Z"])
    }

    @Test("a trading day across a DST change keeps its local start")
    func dst() throws {
        let cal = try TradingCalendar(timeZone: "America/Chicago", dayStart: "17:00")
        let before = try #require(TradingCalendar.day(of: "2026-03-07"))
        #expect(UTCTime.iso(cal.start(ofDay: before)) == "2026-03-07T23:00:00Z")     // CST, UTC-6
        #expect(UTCTime.iso(cal.start(ofDay: before + 2)) == "2026-03-09T22:00:00Z") // CDT, UTC-5
        #expect(throws: TradingCalendar.Failure.self) { try TradingCalendar(timeZone: "Mars/Olympus", dayStart: "09:00") }
        #expect(throws: TradingCalendar.Failure.self) { try TradingCalendar(timeZone: "UTC", dayStart: "25:00") }
    }

    @Test("Globex hours: Sunday 17:00 to Friday 16:00 Chicago with a daily break")
    func globex() throws {
        let hours = GlobexHours()
        func open(_ iso: String) throws -> Bool { hours.isOpen(try #require(UTCTime.parse(iso))) }
        #expect(try !open("2026-01-18T22:59:00Z"))   // Sunday 16:59 CST
        #expect(try open("2026-01-18T23:00:00Z"))    // Sunday 17:00
        #expect(try !open("2026-01-20T22:30:00Z"))   // Tuesday 16:30, the break
        #expect(try open("2026-01-20T23:00:00Z"))    // Tuesday 17:00
        #expect(try open("2026-01-23T21:59:00Z"))    // Friday 15:59
        #expect(try !open("2026-01-23T22:00:00Z"))   // Friday 16:00
        #expect(try !open("2026-01-24T15:00:00Z"))   // Saturday
    }

    @Test("demo bars are a pure function of symbol and minute, only in market hours, labelled demo")
    func demo() throws {
        let start = try #require(UTCTime.parse("2026-01-16T00:00:00Z"))
        let a = DemoSource().bars(symbol: "MGC", start: start, end: start + 4 * 86_400)
        let b = DemoSource().bars(symbol: "MGC", start: start + 3600, end: start + 2 * 86_400)
        let overlap = a.filter { $0.ts >= start + 3600 && $0.ts < start + 2 * 86_400 }
        #expect(overlap == b)
        #expect(a.allSatisfy { GlobexHours().isOpen($0.ts) && $0.source == "demo" })
        #expect(a.allSatisfy { $0.high >= max($0.open, $0.close) && $0.low <= min($0.open, $0.close) && $0.volume > 0 })
        #expect(a.count < 4 * 1440, "weekend and breaks have no bars")
        #expect(DemoSource().bars(symbol: "GC", start: start, end: start + 3600) != DemoSource().bars(symbol: "MGC", start: start, end: start + 3600))
    }

    @Test("vendor CSV: valid bodies parse; damaged ones are rejected whole")
    func vendorCSV() throws {
        let header = VendorCSV.header + "\n"
        let row = "1768521600000000000,33,1,42140878,2034500000000,2035000000000,2034100000000,2034800000000,17\n"
        let bars = try VendorCSV.parse(Array((header + row).utf8), symbol: "MGC", source: "databento", start: 0, end: .max)
        #expect(bars == [Bar(symbol: "MGC", ts: 1_768_521_600, open: 2034.5, high: 2035, low: 2034.1, close: 2034.8, volume: 17,
                             instrumentID: 42_140_878, source: "databento")])
        let cases: [(String, Int?, String)] = [
            (header + String(row.dropLast()), nil, "does not end with a newline"),
            (header + row, (header + row).utf8.count + 5, "Content-Length"),
            ("ts,open\n" + row, nil, "unexpected header"),
            (header + "1768521600000000000,33,1,42140878,abc,1,1,1,1\n", nil, "unexpected character"),
            (header + "1768521600000000000,33,1\n", nil, "expected 9 fields"),
            (header + row + row, nil, "duplicate bar"),
            (header + row.replacingOccurrences(of: "1768521600", with: "1768521660") + row, nil, "out of order"),
            (header + row.replacingOccurrences(of: "2035000000000", with: "2000000000000"), nil, "high/low"),
            (header + "1768521630000000000,33,1,1,1,1,1,1,1\n", nil, "start of a minute"),
            ("", nil, "empty body"),
        ]
        for (body, length, message) in cases {
            do {
                _ = try VendorCSV.parse(Array(body.utf8), symbol: "MGC", source: "databento", start: 0, end: .max, expectedLength: length)
                Issue.record("accepted: \(message)")
            } catch {
                #expect(error.description.contains(message), "\(error)")
            }
        }
        #expect(throws: VendorCSV.Malformed.self) {
            try VendorCSV.parse(Array((header + row).utf8), symbol: "MGC", source: "x", start: 0, end: 1_768_521_600)
        }
    }

    @Test("rendering and parsing the vendor format round-trips")
    func roundTrip() throws {
        let start = try #require(UTCTime.parse("2026-01-16T00:00:00Z"))
        let bars = DemoSource().bars(symbol: "MGC", start: start, end: start + 86_400)
        let parsed = try VendorCSV.parse(Array(VendorCSV.render(bars).utf8), symbol: "MGC", source: "demo", start: start, end: start + 86_400)
        #expect(parsed == bars)
    }
}
