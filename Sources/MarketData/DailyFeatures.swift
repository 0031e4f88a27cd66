/// The `daily_features` row of one trading day of one instrument.
package struct DailyFeatures: Sendable, Equatable {
    package struct Range: Sendable, Equatable {
        package var high: Double?
        package var low: Double?
        package var breakDirection: String?

        package init(high: Double? = nil, low: Double? = nil, breakDirection: String? = nil) {
            self.high = high
            self.low = low
            self.breakDirection = breakDirection
        }
    }

    package var day: Int64
    package var open: Double
    package var high: Double
    package var low: Double
    package var close: Double
    package var volume: Int64
    package var barCount: Int
    package var vwap: Double?
    package var asia: (high: Double?, low: Double?)
    package var london: (high: Double?, low: Double?)
    package var ny: (high: Double?, low: Double?)
    package var orb0900 = Range()
    package var orb1800 = Range()
    package var orb0030 = Range()
    package var prevClose: Double?
    package var trueRange: Double = 0
    package var atr14: Double?

    package init(day: Int64, open: Double, high: Double, low: Double, close: Double, volume: Int64, barCount: Int, vwap: Double?,
                 asia: (high: Double?, low: Double?), london: (high: Double?, low: Double?), ny: (high: Double?, low: Double?)) {
        self.day = day
        self.open = open
        self.high = high
        self.low = low
        self.close = close
        self.volume = volume
        self.barCount = barCount
        self.vwap = vwap
        self.asia = asia
        self.london = london
        self.ny = ny
    }

    package static func == (a: DailyFeatures, b: DailyFeatures) -> Bool {
        a.day == b.day && a.open == b.open && a.high == b.high && a.low == b.low && a.close == b.close && a.volume == b.volume
            && a.barCount == b.barCount && a.vwap == b.vwap && a.asia.high == b.asia.high && a.asia.low == b.asia.low
            && a.london.high == b.london.high && a.london.low == b.london.low && a.ny.high == b.ny.high && a.ny.low == b.ny.low
            && a.orb0900 == b.orb0900 && a.orb1800 == b.orb1800 && a.orb0030 == b.orb0030 && a.prevClose == b.prevClose
            && a.trueRange == b.trueRange && a.atr14 == b.atr14
    }
}

/// Computes daily features from one trading day's bars. Windows are local times relative to the
/// trading day's calendar date D, `[a, b)` by bar start: Asia D 09:00–17:00, London D 18:00–23:00,
/// New York D 23:00 – D+1 02:00; opening ranges D 09:00, D 18:00 and D+1 00:30, five minutes each.
package struct FeatureCalculator: Sendable {
    let calendar: TradingCalendar

    package init(calendar: TradingCalendar) {
        self.calendar = calendar
    }

    /// Minutes from local midnight of the trading day's date to the bar's start.
    func minuteInDay(_ ts: Int64, day: Int64) -> Int {
        let (localDay, minute) = calendar.localClock(ts)
        return Int(localDay - day) * 1440 + minute
    }

    /// The day's own columns; `prevClose`, `trueRange` and `atr14` are filled by `roll`.
    package func day(_ day: Int64, bars: ArraySlice<Bar>) -> DailyFeatures? {
        guard let first = bars.first, let last = bars.last else { return nil }
        var f = DailyFeatures(day: day, open: first.open, high: first.high, low: first.low, close: last.close, volume: 0,
                              barCount: bars.count, vwap: nil, asia: (nil, nil), london: (nil, nil), ny: (nil, nil))
        var pv = 0.0
        var minutes: [Int] = []
        minutes.reserveCapacity(bars.count)
        for bar in bars {
            f.high = max(f.high, bar.high)
            f.low = min(f.low, bar.low)
            f.volume += bar.volume
            pv += (bar.high + bar.low + bar.close) / 3 * Double(bar.volume)
            let m = minuteInDay(bar.ts, day: day)
            minutes.append(m)
            if (540..<1020).contains(m) { f.asia = widen(f.asia, bar) }
            if (1080..<1380).contains(m) { f.london = widen(f.london, bar) }
            if (1380..<1560).contains(m) { f.ny = widen(f.ny, bar) }
        }
        f.vwap = f.volume > 0 ? pv / Double(f.volume) : nil
        f.orb0900 = openingRange(bars, minutes: minutes, from: 540)
        f.orb1800 = openingRange(bars, minutes: minutes, from: 1080)
        f.orb0030 = openingRange(bars, minutes: minutes, from: 1440 + 30)
        return f
    }

    private func widen(_ r: (high: Double?, low: Double?), _ bar: Bar) -> (high: Double?, low: Double?) {
        (max(r.high ?? bar.high, bar.high), min(r.low ?? bar.low, bar.low))
    }

    /// The range of [from, from+5) and which side the first close outside it breaks, scanning bars from from+5.
    private func openingRange(_ bars: ArraySlice<Bar>, minutes: [Int], from: Int) -> DailyFeatures.Range {
        var range = DailyFeatures.Range()
        for (i, bar) in zip(minutes.indices, bars) where minutes[i] >= from && minutes[i] < from + 5 {
            range.high = max(range.high ?? bar.high, bar.high)
            range.low = min(range.low ?? bar.low, bar.low)
        }
        guard let high = range.high, let low = range.low else { return range }
        for (i, bar) in zip(minutes.indices, bars) where minutes[i] >= from + 5 {
            if bar.close > high { range.breakDirection = "up"; break }
            if bar.close < low { range.breakDirection = "down"; break }
        }
        return range
    }

    /// Fills prev_close, true_range and atr_14 in order, continuing from the days before (`history`:
    /// the closes and true ranges of earlier days, oldest first, at most 13 needed).
    package static func roll(_ days: inout [DailyFeatures], previousClose: Double?, previousTrueRanges: [Double]) {
        var prev = previousClose
        var ranges = previousTrueRanges
        for i in days.indices {
            days[i].prevClose = prev
            if let p = prev {
                days[i].trueRange = max(days[i].high, p) - min(days[i].low, p)
            } else {
                days[i].trueRange = days[i].high - days[i].low
            }
            ranges.append(days[i].trueRange)
            if ranges.count > 14 { ranges.removeFirst(ranges.count - 14) }
            days[i].atr14 = ranges.count == 14 ? ranges.reduce(0, +) / 14 : nil
            prev = days[i].close
        }
    }
}
