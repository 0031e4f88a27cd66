import FlowCore
import Foundation
import GRDB

/// `market.backfill`: fetches [start, end) one trading day per request per symbol; each chunk is
/// validated whole, written in one transaction with its sync position, then checkpointed.
package struct BackfillAction: InProcessAction {
    package init() {}

    package var signature: ActionSignature {
        ActionSignature(name: "market.backfill", summary: "loads missing 1-minute bars, one trading day per request",
                        inputs: MarketInputs.database + [
                            ActionInput("start", required: true, "ISO 8601 UTC, inclusive"),
                            ActionInput("end", required: true, "ISO 8601 UTC, exclusive"),
                        ] + MarketInputs.calendar + SourceInputs.all,
                        outputs: ["bars_added", "bars_written", "chunks", "first_day", "last_day", "source", "added_by_symbol"])
    }

    package var version: String { "2" }

    /// Checkpoint keys. A symbol's position is `at.SYMBOL` and totals are `total.*`: no symbol can collide with a
    /// total (`-p symbols=total.added` once made a dictionary literal with a duplicate key and trapped).
    static func positionKey(_ symbol: String) -> String { "at." + symbol }

    package func run(_ context: TaskContext) async throws -> [String: String] {
        let symbols = try context.symbols
        let calendar = try context.tradingCalendar
        guard let start = try context.time("start"), let end = try context.time("end") else {
            return ["bars_added": "0", "bars_written": "0", "chunks": "0", "first_day": "", "last_day": "", "added_by_symbol": "{}"]
        }
        let choice = try context.chooseSource()
        let path = try context.databasePath
        // One writer of this market database at a time, whichever state database or folder flow runs from; the
        // lock is the one detect-gap took for this run when it did.
        let lock = try await MarketLock.acquire(path, holder: "backfill")
        defer { lock.release() }
        let queue = try MarketDatabase.open(path)
        defer { try? queue.close() }

        // Totals carry over from earlier attempts of this task, so a resumed backfill reports (and
        // hands build-features) everything the whole backfill touched, not only its last attempt.
        let saved = context.checkpoint
        var added = saved["total.added"].flatMap { Int($0) } ?? 0
        var written = saved["total.written"].flatMap { Int($0) } ?? 0
        var chunksDone = saved["total.chunks"].flatMap { Int($0) } ?? 0
        var firstDay = saved["total.first_day"].flatMap(TradingCalendar.day(of:))
        var lastDay = saved["total.last_day"].flatMap(TradingCalendar.day(of:))
        var addedBySymbol = (saved["total.added_by_symbol"]).map(BackfillAction.counts) ?? [:]
        for symbol in symbols {
            // Each symbol starts where its own data ends: a symbol added later, or a resumed or widened backfill,
            // never asks the vendor again for days this database already holds (each request costs money).
            let storedEnd = try await queue.read { db in try MarketDatabase.storedEnd(db, symbol: symbol, otherwise: start) }
            // A checkpoint from before version 2 kept the position under the bare symbol.
            let checkpointed = (saved[BackfillAction.positionKey(symbol)] ?? saved[symbol]).flatMap(UTCTime.parse) ?? start
            let from = max(start, storedEnd, checkpointed)
            if choice.source.name == "demo" { try DemoSource.checkWindow(symbol: symbol, start: from, end: end) }
            if from > start { context.log.write("\(symbol): starting at \(UTCTime.iso(from)), where its stored data ends") }
            for chunk in calendar.chunks(from: from, to: end) {
                try Task.checkCancellation()
                let result = try await choice.source.fetch(symbol: symbol, start: chunk.start, end: chunk.end)
                let syncedUntil = result.clampedEnd ?? chunk.end
                let new: Int
                do {
                    new = try BarWriter.write(result.bars, symbol: symbol, source: choice.source.name, range: (chunk.start, chunk.end),
                                              syncedUntil: syncedUntil, to: queue, now: context.nowSeconds)
                } catch let error as BarWriter.SourceMix {
                    throw TaskFailure(error.message(path: path), retryable: false)
                } catch let error as DatabaseError {
                    throw TaskFailure(MarketDatabase.describe(error, path: path), retryable: error.resultCode == .SQLITE_BUSY)
                }
                CrashPoint.hit("after-chunk-commit")
                added += new
                addedBySymbol[symbol, default: 0] += new
                written += result.bars.count
                chunksDone += 1
                if !result.bars.isEmpty {
                    firstDay = min(firstDay ?? chunk.day, chunk.day)
                    lastDay = max(lastDay ?? chunk.day, chunk.day)
                }
                // Only the keys this chunk changed: the rest of the checkpoint is already committed.
                try context.saveCheckpoint([
                    BackfillAction.positionKey(symbol): UTCTime.iso(syncedUntil), "total.added": String(added),
                    "total.written": String(written), "total.chunks": String(chunksDone),
                    "total.first_day": firstDay.map(TradingCalendar.dateString) ?? "",
                    "total.last_day": lastDay.map(TradingCalendar.dateString) ?? "",
                    "total.added_by_symbol": BackfillAction.json(addedBySymbol),
                ])
                context.log.write("\(symbol) \(TradingCalendar.dateString(chunk.day)): \(result.bars.count) bars (\(new) new)"
                                  + (choice.source.name == "demo" ? " [demo data]" : ""))
                if result.clampedEnd != nil, syncedUntil < chunk.end {
                    context.log.write("\(symbol): the source has data only until \(UTCTime.iso(syncedUntil)); the rest comes in a later run")
                    break
                }
            }
        }
        for symbol in symbols where addedBySymbol[symbol] == nil { addedBySymbol[symbol] = 0 }
        return [
            "bars_added": String(added), "bars_written": String(written), "chunks": String(chunksDone),
            "first_day": firstDay.map(TradingCalendar.dateString) ?? "", "last_day": lastDay.map(TradingCalendar.dateString) ?? "",
            "source": choice.source.name, "added_by_symbol": BackfillAction.json(addedBySymbol),
        ]
    }

    /// `{"GC":12,"MGC":0}`: sorted keys, so the output is stable.
    static func json(_ counts: [String: Int]) -> String {
        let body = counts.keys.sorted().map { "\"\($0)\":\(counts[$0] ?? 0)" }.joined(separator: ",")
        return "{" + body + "}"
    }

    /// The counts of `json`; anything that is not such an object reads as none.
    static func counts(_ text: String) -> [String: Int] {
        guard let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else { return [:] }
        var out: [String: Int] = [:]
        for (k, v) in object { if let n = v as? Int { out[k] = n } }
        return out
    }
}
