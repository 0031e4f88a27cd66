import FlowCore
import GRDB

/// Rebuilds `daily_features` for a symbol from a trading day onwards, in one transaction.
package struct FeatureBuilder: Sendable {
    let calendar: TradingCalendar

    package init(calendar: TradingCalendar) {
        self.calendar = calendar
    }

    /// Recomputes days ≥ `fromDay` (all days when nil) and returns how many rows were written.
    /// Earlier days are read back from `daily_features` for prev_close and atr_14.
    package func rebuild(symbol: String, fromDay: Int64?, in queue: DatabaseQueue) throws -> (days: Int, first: Int64?, last: Int64?) {
        try queue.writeWithoutTransaction { db in
            var result: (Int, Int64?, Int64?) = (0, nil, nil)
            try db.inTransaction(.immediate) {
                var previousClose: Double?
                var previousRanges: [Double] = []
                var startTs: Int64 = .min
                if let fromDay {
                    startTs = calendar.start(ofDay: fromDay)
                    let rows = try Row.fetchAll(db, sql: """
                        SELECT close, true_range FROM daily_features WHERE instrument = ? AND date_local < ?
                        ORDER BY date_local DESC LIMIT 13
                        """, arguments: [symbol, TradingCalendar.dateString(fromDay)])
                    previousClose = rows.first?["close"]
                    previousRanges = rows.reversed().compactMap { $0["true_range"] }
                    try db.execute(sql: "DELETE FROM daily_features WHERE instrument = ? AND date_local >= ?",
                                   arguments: [symbol, TradingCalendar.dateString(fromDay)])
                } else {
                    try db.execute(sql: "DELETE FROM daily_features WHERE instrument = ?", arguments: [symbol])
                }
                var bars: [Bar] = []
                let cursor = try Row.fetchCursor(db, sql: """
                    SELECT ts_utc, open, high, low, close, volume FROM bars_1m WHERE symbol = ? AND ts_utc >= ? ORDER BY ts_utc
                    """, arguments: [symbol, startTs])
                while let row = try cursor.next() {
                    bars.append(Bar(symbol: symbol, ts: row[0], open: row[1], high: row[2], low: row[3], close: row[4], volume: row[5],
                                    instrumentID: 0, source: ""))
                }
                let calculator = FeatureCalculator(calendar: calendar)
                var days: [DailyFeatures] = []
                var i = bars.startIndex
                while i < bars.endIndex {
                    let day = calendar.tradingDay(of: bars[i].ts)
                    let dayEnd = calendar.start(ofDay: day + 1)
                    var j = i
                    while j < bars.endIndex, bars[j].ts < dayEnd { j += 1 }
                    if let f = calculator.day(day, bars: bars[i..<j]) { days.append(f) }
                    i = j
                }
                FeatureCalculator.roll(&days, previousClose: previousClose, previousTrueRanges: previousRanges)
                let insert = try db.cachedStatement(sql: """
                    INSERT INTO daily_features(date_local, instrument, open, high, low, close, volume, bar_count, vwap,
                        asia_high, asia_low, london_high, london_low, ny_high, ny_low,
                        orb_0900_high, orb_0900_low, orb_0900_break, orb_1800_high, orb_1800_low, orb_1800_break,
                        orb_0030_high, orb_0030_low, orb_0030_break, prev_close, true_range, atr_14)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """)
                for f in days {
                    let values: [(any DatabaseValueConvertible)?] = [
                        TradingCalendar.dateString(f.day), symbol, f.open, f.high, f.low, f.close, f.volume, f.barCount, f.vwap,
                        f.asia.high, f.asia.low, f.london.high, f.london.low, f.ny.high, f.ny.low,
                        f.orb0900.high, f.orb0900.low, f.orb0900.breakDirection, f.orb1800.high, f.orb1800.low, f.orb1800.breakDirection,
                        f.orb0030.high, f.orb0030.low, f.orb0030.breakDirection, f.prevClose, f.trueRange, f.atr14,
                    ]
                    insert.setUncheckedArguments(StatementArguments(values))
                    try insert.execute()
                }
                result = (days.count, days.first?.day, days.last?.day)
                return .commit
            }
            return result
        }
    }
}
