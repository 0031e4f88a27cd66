import FlowCore
import Foundation
import GRDB

/// `market.build-features`: recomputes `daily_features` for the days a backfill touched and every
/// later day whose rolling values depend on them; `rebuild: true` recomputes all days.
package struct BuildFeaturesAction: InProcessAction {
    package init() {}

    package var signature: ActionSignature {
        ActionSignature(name: "market.build-features", summary: "recomputes daily features per trading day",
                        inputs: MarketInputs.database + [
                            ActionInput("since", "first trading day (YYYY-MM-DD) whose bars changed; empty: only what is missing"),
                            ActionInput("rebuild", "true to recompute every day of every instrument (also done when the zone, day start or definition changed)"),
                        ] + MarketInputs.calendar,
                        outputs: ["days_written", "first_day", "last_day", "rebuilt"])
    }

    package var version: String { "2" }

    package func run(_ context: TaskContext) async throws -> [String: String] {
        let symbols = try context.symbols
        let calendar = try context.tradingCalendar
        let rebuild = ["true", "1", "yes"].contains((context.inputs["rebuild"] ?? "").lowercased())
        var since: Int64?
        if let text = context.inputs["since"], !text.isEmpty {
            guard let day = TradingCalendar.day(of: text) else {
                throw TaskFailure("'since' = '\(text.prefix(20))' is not a date such as 2026-01-16", retryable: false)
            }
            since = day
        }
        let path = try context.databasePath
        let queue = try MarketDatabase.open(path)
        defer { try? queue.close() }
        let builder = FeatureBuilder(calendar: calendar)
        var totals = Totals()
        func mapped<T>(_ work: () throws -> T) throws -> T {
            do {
                return try work()
            } catch let error as DatabaseError {
                throw TaskFailure(MarketDatabase.describe(error, path: path), retryable: error.resultCode == .SQLITE_BUSY)
            }
        }
        // Features of one definition only: a changed zone, day start or definition (or `rebuild: true`) recomputes
        // every instrument's features in one transaction, so Brisbane days never sit beside Chicago ones.
        let (stored, hasFeatures) = try await queue.read { db in
            (try FeatureBuilder.storedDefinition(db), try Int.fetchOne(db, sql: "SELECT count(*) FROM daily_features LIMIT 1") ?? 0 > 0)
        }
        if rebuild || (stored != builder.definition && (stored != nil || hasFeatures)) {
            if !rebuild {
                context.log.write("features were computed with \(stored.map(String.init(describing:)) ?? "an unrecorded definition"); "
                                  + "rebuilding every day with \(builder.definition)")
            }
            for r in try mapped({ try builder.rebuildAll(in: queue) }) {
                totals.add((r.days, r.first, r.last))
                context.log.write("\(r.symbol): \(r.days) trading day(s) of features written (all days)")
            }
            return totals.outputs(rebuilt: true)
        }
        if stored == nil {
            try await queue.write { db in try FeatureBuilder.store(builder.definition, in: db) }
        }
        for symbol in symbols {
            // Also catch up on days that have bars but no features (a first run, or an interrupted one).
            let (newestFeature, newestBar) = try await queue.read { db -> (String?, Int64?) in
                (try String.fetchOne(db, sql: "SELECT max(date_local) FROM daily_features WHERE instrument = ?", arguments: [symbol]),
                 try Int64.fetchOne(db, sql: "SELECT max(ts_utc) FROM bars_1m WHERE symbol = ?", arguments: [symbol]))
            }
            guard let newestBar else { continue }
            let missingFrom: Int64? = {
                guard let text = newestFeature, let day = TradingCalendar.day(of: text) else { return Int64.min }
                return calendar.tradingDay(of: newestBar) > day ? day : nil
            }()
            let from: Int64?
            switch (since, missingFrom) {
            case (nil, nil): continue
            case (let s?, nil): from = s
            case (nil, let m?): from = m == .min ? nil : m
            case (let s?, let m?): from = m == .min ? nil : min(s, m)
            }
            let result = try mapped { try builder.rebuild(symbol: symbol, fromDay: from, in: queue) }
            totals.add(result)
            context.log.write("\(symbol): \(result.days) trading day(s) of features written"
                              + (from.map { " from \(TradingCalendar.dateString($0))" } ?? " (all days)"))
        }
        return totals.outputs(rebuilt: false)
    }

    /// Days written and the span they cover, over every instrument rebuilt.
    private struct Totals {
        var days = 0
        var first: Int64?
        var last: Int64?

        mutating func add(_ result: (days: Int, first: Int64?, last: Int64?)) {
            days += result.days
            if let f = result.first { first = min(first ?? f, f) }
            if let l = result.last { last = max(last ?? l, l) }
        }

        func outputs(rebuilt: Bool) -> [String: String] {
            ["days_written": String(days), "first_day": first.map(TradingCalendar.dateString) ?? "",
             "last_day": last.map(TradingCalendar.dateString) ?? "", "rebuilt": rebuilt ? "true" : "false"]
        }
    }
}
