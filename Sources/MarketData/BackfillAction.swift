import FlowCore
import Foundation
import GRDB

/// `market.backfill`: fetches [start, end) one trading day per request per symbol; each chunk is
/// validated whole, written in one transaction with its sync position, then checkpointed.
package struct BackfillAction: Action {
    package init() {}

    package var signature: ActionSignature {
        ActionSignature(name: "market.backfill", summary: "loads missing 1-minute bars, one trading day per request",
                        inputs: MarketInputs.database + [
                            ActionInput("start", required: true, "ISO 8601 UTC, inclusive"),
                            ActionInput("end", required: true, "ISO 8601 UTC, exclusive"),
                        ] + MarketInputs.calendar + SourceInputs.all,
                        outputs: ["bars_added", "bars_written", "chunks", "first_day", "last_day", "source"])
    }

    package var version: String { "1" }

    package func run(_ context: TaskContext) async throws -> [String: String] {
        let symbols = try context.symbols
        let calendar = try context.tradingCalendar
        guard let start = try context.time("start"), let end = try context.time("end") else {
            return ["bars_added": "0", "bars_written": "0", "chunks": "0", "first_day": "", "last_day": ""]
        }
        let choice = try context.chooseSource()
        let queue = try MarketDatabase.open(try context.databasePath)
        defer { try? queue.close() }

        // Totals carry over from earlier attempts of this task, so a resumed backfill reports (and
        // hands build-features) everything the whole backfill touched, not only its last attempt.
        let saved = context.checkpoint
        var added = saved["total.added"].flatMap { Int($0) } ?? 0
        var written = saved["total.written"].flatMap { Int($0) } ?? 0
        var chunksDone = saved["total.chunks"].flatMap { Int($0) } ?? 0
        var firstDay = saved["total.first_day"].flatMap(TradingCalendar.day(of:))
        var lastDay = saved["total.last_day"].flatMap(TradingCalendar.day(of:))
        for symbol in symbols {
            // A retried or resumed attempt starts at the first unfinished chunk.
            let resumeAt = context.checkpoint[symbol].flatMap(UTCTime.parse).map { max(start, $0) } ?? start
            if resumeAt > start { context.log.write("\(symbol): resuming at \(UTCTime.iso(resumeAt)) from the checkpoint") }
            for chunk in calendar.chunks(from: resumeAt, to: end) {
                try Task.checkCancellation()
                let result = try await choice.source.fetch(symbol: symbol, start: chunk.start, end: chunk.end)
                let syncedUntil = result.clampedEnd ?? chunk.end
                let new: Int
                do {
                    new = try BarWriter.write(result.bars, symbol: symbol, source: choice.source.name, range: (chunk.start, chunk.end),
                                              syncedUntil: syncedUntil, to: queue, now: context.nowSeconds)
                } catch let error as DatabaseError {
                    throw TaskFailure(MarketDatabase.describe(error, path: try context.databasePath),
                                      retryable: error.resultCode == .SQLITE_BUSY)
                }
                CrashPoint.hit("after-chunk-commit")
                added += new
                written += result.bars.count
                chunksDone += 1
                if !result.bars.isEmpty {
                    firstDay = min(firstDay ?? chunk.day, chunk.day)
                    lastDay = max(lastDay ?? chunk.day, chunk.day)
                }
                try context.saveCheckpoint([
                    symbol: UTCTime.iso(syncedUntil), "total.added": String(added), "total.written": String(written),
                    "total.chunks": String(chunksDone), "total.first_day": firstDay.map(TradingCalendar.dateString) ?? "",
                    "total.last_day": lastDay.map(TradingCalendar.dateString) ?? "",
                ])
                context.log.write("\(symbol) \(TradingCalendar.dateString(chunk.day)): \(result.bars.count) bars (\(new) new)"
                                  + (choice.source.name == "demo" ? " [demo data]" : ""))
                if result.clampedEnd != nil, syncedUntil < chunk.end {
                    context.log.write("\(symbol): the source has data only until \(UTCTime.iso(syncedUntil)); the rest comes in a later run")
                    break
                }
            }
        }
        return [
            "bars_added": String(added), "bars_written": String(written), "chunks": String(chunksDone),
            "first_day": firstDay.map(TradingCalendar.dateString) ?? "", "last_day": lastDay.map(TradingCalendar.dateString) ?? "",
            "source": choice.source.name,
        ]
    }
}
