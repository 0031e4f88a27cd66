import Foundation
import MarketData
import Testing

@Suite("trading calendar")
struct CalendarTests {
    @Test("remembered offsets agree with TimeZone minute by minute across DST changes, walking forward and back",
          arguments: ["America/Chicago", "Australia/Sydney", "Europe/London", "Australia/Brisbane", "UTC"])
    func offsetsMatchTimeZone(_ name: String) throws {
        let zone = try #require(TimeZone(identifier: name))
        let calendar = TradingCalendar(zone: zone, dayStartMinutes: 0)
        func expected(_ ts: Int64) -> Int64 { Int64(zone.secondsFromGMT(for: Date(timeIntervalSince1970: TimeInterval(ts)))) }
        // 2025-01-01 to 2027-01-01 in 7-minute steps, so steps land on both sides of each transition.
        var ts: Int64 = 1_735_689_600
        while ts < 1_798_761_600 {
            #expect(calendar.offset(at: ts) == expected(ts), "\(name) at \(ts)")
            ts += 420
        }
        // Going back in time after the walk must not reuse a later window.
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<2000 {
            let t = Int64.random(in: 1_735_689_600..<1_798_761_600, using: &generator)
            #expect(calendar.offset(at: t) == expected(t), "\(name) at \(t)")
        }
    }
}
