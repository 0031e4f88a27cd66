import FlowCore
import GRDB

/// Rebuilds `daily_features` for a symbol from a trading day onwards, in one transaction.
package struct FeatureBuilder: Sendable {
    let calendar: TradingCalendar

    package init(calendar: TradingCalendar) {
        self.calendar = calendar
    }

    /// Bumped whenever what a feature means changes; stored with the zone and day start in `feature_definition`.
    package static let definitionVersion = 1

    /// What the stored features were computed with.
    package struct Definition: Sendable, Equatable, CustomStringConvertible {
        package var timezone: String
        package var dayStart: String
        package var version: Int

        package var description: String { "timezone \(timezone), day start \(dayStart), definition v\(version)" }
    }

    package var definition: Definition {
        Definition(timezone: calendar.timeZone.identifier, dayStart: calendar.dayStartText, version: FeatureBuilder.definitionVersion)
    }

    /// Recomputes days ≥ `fromDay` (all days when nil) and returns how many rows were written.
    /// Earlier days are read back from `daily_features` for prev_close and atr_14.
    package func rebuild(symbol: String, fromDay: Int64?, in queue: DatabaseQueue) throws -> (days: Int, first: Int64?, last: Int64?) {
        try queue.writeWithoutTransaction { db in
            var result: (Int, Int64?, Int64?) = (0, nil, nil)
            try db.inTransaction(.immediate) {
                result = try rebuild(symbol: symbol, fromDay: fromDay, in: db)
                return .commit
            }
            return result
        }
    }

    /// Every instrument's features recomputed under this definition, in one transaction with the definition
    /// itself: a database never holds features of two definitions side by side.
    package func rebuildAll(in queue: DatabaseQueue) throws -> [(symbol: String, days: Int, first: Int64?, last: Int64?)] {
        try queue.writeWithoutTransaction { db in
            var results: [(String, Int, Int64?, Int64?)] = []
            try db.inTransaction(.immediate) {
                try db.execute(sql: "DELETE FROM daily_features")
                for symbol in try String.fetchAll(db, sql: "SELECT DISTINCT symbol FROM bars_1m ORDER BY symbol") {
                    let r = try rebuild(symbol: symbol, fromDay: nil, in: db)
                    results.append((symbol, r.days, r.first, r.last))
                }
                try FeatureBuilder.store(definition, in: db)
                return .commit
            }
            return results
        }
    }

    /// The stored definition, if any.
    package static func storedDefinition(_ db: Database) throws -> Definition? {
        guard let row = try Row.fetchOne(db, sql: "SELECT timezone, day_start, version FROM feature_definition WHERE id = 1") else { return nil }
        return Definition(timezone: try row.decode(String.self, atIndex: 0), dayStart: try row.decode(String.self, atIndex: 1),
                          version: try row.decode(Int.self, atIndex: 2))
    }

    static func store(_ definition: Definition, in db: Database) throws {
        try db.execute(sql: """
            INSERT INTO feature_definition(id, timezone, day_start, version) VALUES (1, ?, ?, ?)
            ON CONFLICT(id) DO UPDATE SET timezone = excluded.timezone, day_start = excluded.day_start, version = excluded.version
            """, arguments: [definition.timezone, definition.dayStart, definition.version])
    }

    /// The work of `rebuild` inside the caller's transaction.
    func rebuild(symbol: String, fromDay: Int64?, in db: Database) throws -> (days: Int, first: Int64?, last: Int64?) {
        var previousClose: Double?
        var previousRanges: [Double] = []
        var startTs: Int64 = .min
        if let fromDay {
            startTs = calendar.start(ofDay: fromDay)
            let rows = try Row.fetchAll(db, sql: """
                SELECT close, true_range FROM daily_features WHERE instrument = ? AND date_local < ?
                ORDER BY date_local DESC LIMIT 13
                """, arguments: [symbol, TradingCalendar.dateString(fromDay)])
            previousClose = try rows.first?.decode(Double?.self, atIndex: 0)
            previousRanges = try rows.reversed().compactMap { try $0.decode(Double?.self, atIndex: 1) }
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
            bars.append(Bar(symbol: symbol, ts: try row.decode(Int64.self, atIndex: 0), open: try row.decode(Double.self, atIndex: 1),
                            high: try row.decode(Double.self, atIndex: 2), low: try row.decode(Double.self, atIndex: 3),
                            close: try row.decode(Double.self, atIndex: 4), volume: try row.decode(Int64.self, atIndex: 5),
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
        return (days.count, days.first?.day, days.last?.day)
    }
}
