import FlowCore
import Foundation
import GRDB

/// `market.report`: what the database holds now, per symbol, in one line and as JSON.
package struct ReportAction: InProcessAction {
    package init() {}

    package var signature: ActionSignature {
        ActionSignature(name: "market.report", summary: "summarises freshness and completeness per symbol",
                        inputs: MarketInputs.database + [
                            ActionInput("source", "the source used (labels demo data)"),
                            ActionInput("bars_added", "bars the backfill added in this run, all symbols"),
                            ActionInput("added_by_symbol", "the backfill's per-symbol counts ({\"MGC\":12}); each symbol's line shows its own"),
                            ActionInput("notice", "a line to show with the report, such as the demo-source notice"),
                            ActionInput("available_end", "what the source could deliver (ISO 8601), to measure how far behind"),
                        ] + MarketInputs.calendar,
                        outputs: ["summary", "json"])
    }

    package var version: String { "2" }

    package func run(_ context: TaskContext) async throws -> [String: String] {
        let symbols = try context.symbols
        let calendar = try context.tradingCalendar
        let queue = try MarketDatabase.open(try context.databasePath)
        defer { try? queue.close() }
        let hours = GlobexHours()
        // Each symbol's own count; a lone total (an older workflow without added_by_symbol) belongs to a lone symbol.
        let bySymbol = BackfillAction.counts(context.inputs["added_by_symbol"] ?? "")
        let total = Int(context.inputs["bars_added"] ?? "") ?? 0
        func addedCount(_ symbol: String) -> Int {
            if let n = bySymbol[symbol] { return n }
            return bySymbol.isEmpty && symbols.count == 1 ? total : 0
        }
        let availableEnd = try context.time("available_end") ?? UTCTime.floorToMinute(context.nowSeconds)
        var lines: [String] = []
        var entries: [[String: Any]] = []
        for symbol in symbols {
            let facts = try await queue.read { db -> (Int64?, String?, String?, Int) in
                let newest = try MarketDatabase.newestBar(db, symbol: symbol)
                let feature = try String.fetchOne(db, sql: "SELECT max(date_local) FROM daily_features WHERE instrument = ?", arguments: [symbol])
                let count = try Int.fetchOne(db, sql: "SELECT count(*) FROM bars_1m WHERE symbol = ?", arguments: [symbol]) ?? 0
                return (newest?.ts, newest?.source, feature, count)
            }
            let (newest, storedSource, featureDay, stored) = facts
            let added = addedCount(symbol)
            let source = storedSource ?? context.inputs["source"] ?? "?"
            let demo = source == "demo" ? " [demo data]" : ""
            guard let newest else {
                lines.append("\(symbol): no bars yet\(demo)")
                entries.append(["symbol": symbol, "bars": 0, "source": source])
                continue
            }
            // Open-market minutes only: a weekend or the daily break is not "behind".
            var behind = 0
            var minute = newest + 60
            let stop = min(availableEnd, newest + 60 + 366 * 86_400)
            while minute < stop {
                if hours.isOpen(minute) { behind += 1 }
                minute += 60
            }
            // Completeness over the last 7 trading days, counting only minutes the market was open.
            let lastDay = calendar.tradingDay(of: newest)
            // Only since the first stored bar: days before the database began are not "missing".
            let firstBar = try await queue.read { db in
                try Int64.fetchOne(db, sql: "SELECT min(ts_utc) FROM bars_1m WHERE symbol = ?", arguments: [symbol])
            }
            let windowStart = max(calendar.start(ofDay: lastDay - 6), firstBar ?? newest)
            var expected = 0
            var ts = windowStart
            while ts <= newest {
                if hours.isOpen(ts) { expected += 1 }
                ts += 60
            }
            let present = try await queue.read { db in
                try Int.fetchOne(db, sql: "SELECT count(*) FROM bars_1m WHERE symbol = ? AND ts_utc >= ? AND ts_utc <= ?",
                                 arguments: [symbol, windowStart, newest]) ?? 0
            }
            let missing = max(0, expected - present)
            let local = ReportAction.localTime(newest, calendar: calendar)
            lines.append("\(symbol): newest bar \(UTCTime.iso(newest)) (\(local)), +\(added) bars this run, \(stored) in all, "
                         + "features to \(featureDay ?? "none"), \(behind) open-market min behind the source, "
                         + "\(missing) missing open-market minutes in the last 7 trading days, source \(source)\(demo)")
            entries.append([
                "symbol": symbol, "newest_bar_utc": UTCTime.iso(newest), "newest_bar_local": local, "bars_added": added, "bars": stored,
                "newest_feature_day": featureDay ?? NSNull(), "minutes_behind": behind, "missing_minutes_7d": missing, "source": source,
                "demo": source == "demo",
            ])
        }
        if let notice = context.inputs["notice"], !notice.isEmpty { lines.append(notice) }
        for line in lines { context.log.write(line) }
        let json = try JSONSerialization.data(withJSONObject: ["symbols": entries], options: [.sortedKeys])
        return ["summary": lines.joined(separator: "\n"), "json": String(decoding: json, as: UTF8.self)]
    }

    static func localTime(_ ts: Int64, calendar: TradingCalendar) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = calendar.timeZone
        formatter.dateFormat = "yyyy-MM-dd HH:mm zzz"
        return formatter.string(from: Date(timeIntervalSince1970: TimeInterval(ts)))
    }
}
