import FlowCore
import Foundation
import GRDB

/// `market.detect-gap`: per symbol, the newest stored bar against what the source can deliver now.
package struct DetectGapAction: InProcessAction {
    package init() {}

    package var signature: ActionSignature {
        ActionSignature(name: "market.detect-gap", summary: "finds the range of 1-minute bars missing since the newest stored one",
                        inputs: MarketInputs.database + [
                            ActionInput("start", "first time to load into an empty database (default: 30 days before now)"),
                        ] + SourceInputs.all,
                        outputs: ["has_gap", "start", "end", "minutes", "source", "detail", "notice"])
    }

    package var version: String { "1" }

    package func run(_ context: TaskContext) async throws -> [String: String] {
        let symbols = try context.symbols
        let now = context.nowSeconds
        let firstStart = try context.time("start") ?? UTCTime.floorToMinute(now - 30 * 86_400)
        let choice = try context.chooseSource()
        let path = try context.databasePath
        // Held until this run's backfill ends (or the run does): two flows, whatever their state databases, never
        // detect and fill the same market database at once.
        _ = try await MarketLock.acquire(path, holder: "detect-gap")
        let queue = try MarketDatabase.open(path)
        defer { try? queue.close() }

        var detail: [[String: String]] = []
        var overallStart: Int64?
        var overallEnd: Int64?
        for symbol in symbols {
            let (newest, storedEnd, foreign) = try await queue.read { db in
                (try MarketDatabase.newestBar(db, symbol: symbol), try MarketDatabase.storedEnd(db, symbol: symbol, otherwise: firstStart),
                 try MarketDatabase.foreignSource(db, symbol: symbol, source: choice.source.name))
            }
            if let stored = foreign {
                throw TaskFailure(BarWriter.SourceMix(stored: stored, incoming: choice.source.name).message(path: path), retryable: false)
            }
            let start = storedEnd
            let available = try await choice.source.availableEnd(symbol: symbol, now: now) ?? start
            let end = min(available, UTCTime.floorToMinute(now))
            if choice.source.name == "demo" { try DemoSource.checkWindow(symbol: symbol, start: start, end: end) }
            var entry = ["symbol": symbol, "start": UTCTime.iso(start), "end": UTCTime.iso(max(start, end))]
            entry["newest_bar"] = newest.map { UTCTime.iso($0.ts) } ?? ""
            detail.append(entry)
            context.log.write("\(symbol): newest bar \(newest.map { UTCTime.iso($0.ts) } ?? "none"), source has until \(UTCTime.iso(available))")
            if start < end {
                overallStart = min(overallStart ?? start, start)
                overallEnd = max(overallEnd ?? end, end)
            }
        }
        var outputs = ["source": choice.source.name, "notice": choice.notice ?? ""]
        if let s = overallStart, let e = overallEnd {
            outputs["has_gap"] = "true"
            outputs["start"] = UTCTime.iso(s)
            outputs["end"] = UTCTime.iso(e)
            outputs["minutes"] = String((e - s) / 60)
        } else {
            outputs["has_gap"] = "false"
            outputs["minutes"] = "0"
            outputs["start"] = ""
            outputs["end"] = ""
        }
        let data = try JSONSerialization.data(withJSONObject: detail, options: [.sortedKeys])
        outputs["detail"] = String(decoding: data, as: UTF8.self)
        return outputs
    }
}
