import FlowCore
import FlowTasks
import FlowTestSupport
import Foundation
import GRDB
import MarketData
import Testing

@Suite("market actions")
struct ActionTests {
    let dir = TemporaryDirectory()

    func context(_ inputs: [String: String], checkpoint: [String: String] = [:], now: String = "2026-01-17T00:00:00Z") -> TaskContext {
        TaskContext(runID: 1, task: TaskID("t"), attempt: 1, inputs: inputs, env: [:], workingDirectory: dir.path,
                    scratchDirectory: dir.path + "/s", log: MemoryLog(), checkpoint: checkpoint, saveCheckpoint: { _ in },
                    now: Date(timeIntervalSince1970: TimeInterval(UTCTime.parse(now) ?? 0)))
    }

    @Test("source csv: detect-gap sees the newest row in the files; backfill imports exactly the file's rows")
    func csvSource() async throws {
        try FileManager.default.createDirectory(atPath: dir.path + "/csv", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: Repository.fixtures + "/databento/MGC.ohlcv-1m.csv", toPath: dir.path + "/csv/MGC.ohlcv-1m.csv")
        let common = ["db": "m.db", "symbols": "MGC", "source": "csv", "csv_dir": "csv"]
        let gap = try await DetectGapAction().run(context(common.merging(["start": "2026-01-14T23:00:00Z"]) { $1 }))
        #expect(gap["has_gap"] == "true")
        #expect(gap["start"] == "2026-01-14T23:00:00Z")
        #expect(gap["end"] == "2026-01-16T22:00:00Z", "newest fixture row 21:59 + 1 minute")
        let out = try await BackfillAction().run(context(common.merging(["start": gap["start"] ?? "", "end": gap["end"] ?? ""]) { $1 }))
        #expect(out["bars_added"] == "2366")
        #expect(out["first_day"] == "2026-01-15" && out["last_day"] == "2026-01-16")
        let again = try await DetectGapAction().run(context(common))
        #expect(again["has_gap"] == "false", "nothing new in the files is success with no gap")
    }

    @Test("a database holding demo bars is not mixed with another source")
    func noMixing() async throws {
        let demo = ["db": "m.db", "symbols": "MGC", "source": "demo", "start": "2026-01-15T00:00:00Z"]
        let gap = try await DetectGapAction().run(context(demo))
        _ = try await BackfillAction().run(context(demo.merging(["start": gap["start"] ?? "", "end": gap["end"] ?? ""]) { $1 }))
        try FileManager.default.createDirectory(atPath: dir.path + "/csv", withIntermediateDirectories: true)
        await #expect {
            _ = try await DetectGapAction().run(context(["db": "m.db", "symbols": "MGC", "source": "csv", "csv_dir": "csv"]))
        } throws: { error in
            (error as? TaskFailure)?.message.contains("holds data from source 'demo', not 'csv'") == true
        }
    }

    @Test("backfill resumes at its checkpoint and reports totals across attempts")
    func resumeFromCheckpoint() async throws {
        let inputs = ["db": "m.db", "symbols": "MGC", "source": "demo", "start": "2026-01-14T23:00:00Z", "end": "2026-01-16T23:00:00Z"]
        let checkpoint = ["MGC": "2026-01-15T23:00:00Z", "total.added": "5", "total.written": "5", "total.chunks": "1",
                          "total.first_day": "2026-01-15", "total.last_day": "2026-01-15"]
        let out = try await BackfillAction().run(context(inputs, checkpoint: checkpoint))
        #expect(out["chunks"] == "2", "only the second day was fetched")
        #expect(out["first_day"] == "2026-01-15" && out["last_day"] == "2026-01-16")
        let queue = try DatabaseQueue(path: dir.path + "/m.db")
        let earliest = try await queue.read { db in try Int64.fetchOne(db, sql: "SELECT min(ts_utc) FROM bars_1m") }
        #expect(earliest.map(UTCTime.iso) == "2026-01-15T23:00:00Z")
    }

    @Test("health-check creates a database in WAL mode, counts rows, and keeps the last N backups")
    func healthCheckBackups() async throws {
        let first = try await HealthCheckAction().run(context(["db": "data/h.db"]))
        #expect(first["created"] == "true" && first["integrity"] == "ok" && first["journal_mode"] == "wal")
        let queue = try DatabaseQueue(path: dir.path + "/data/h.db")
        try await queue.write { db in try db.execute(sql: "CREATE TABLE t(x); INSERT INTO t VALUES (1), (2)") }
        var backups: [String] = []
        for hour in 10...13 {
            let out = try await HealthCheckAction().run(context(["db": "data/h.db", "backup": "true", "keep_backups": "2"],
                                                                now: "2026-01-17T\(hour):00:00Z"))
            #expect(out["rows_t"] == "2" && out["created"] == "false")
            backups.append(out["backup"] ?? "")
        }
        let kept = try FileManager.default.contentsOfDirectory(atPath: dir.path + "/data/backups").sorted()
        #expect(kept == ["h-20260117T120000Z.db", "h-20260117T130000Z.db"])
        let copy = try DatabaseQueue(path: backups[3])
        #expect(try await copy.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM t") } == 2, "the backup is a whole database")
    }

    @Test("health-check fails on too little free space and on a schema newer than known")
    func healthCheckLimits() async throws {
        await #expect {
            _ = try await HealthCheckAction().run(context(["db": "h.db", "min_free_mb": "999999999999"]))
        } throws: { error in (error as? TaskFailure)?.message.contains("MB free") == true }
        let queue = try DatabaseQueue(path: dir.path + "/v.db")
        try await queue.write { db in try db.execute(sql: "PRAGMA user_version = 7") }
        try queue.close()
        await #expect {
            _ = try await HealthCheckAction().run(context(["db": "v.db", "max_schema_version": "1"]))
        } throws: { error in (error as? TaskFailure)?.message.contains("schema version 7") == true }
    }
}

@Suite("bar writer")
struct BarWriterSourceTests {
    @Test("a chunk from another source is refused inside its own transaction, and nothing of it is written")
    func refusesAnotherSource() throws {
        let dir = TemporaryDirectory("bar-writer")
        let queue = try MarketDatabase.open(dir.path + "/m.db")
        let bar = Bar(symbol: "GC", ts: 1_768_431_600, open: 1, high: 2, low: 1, close: 2, volume: 3, instrumentID: 1, source: "databento")
        _ = try BarWriter.write([bar], symbol: "GC", source: "databento", range: (1_768_431_600, 1_768_431_660),
                                syncedUntil: 1_768_431_660, to: queue, now: 0)
        var demo = bar
        demo.symbol = "MGC"
        demo.source = "demo"
        #expect(throws: BarWriter.SourceMix.self) {
            _ = try BarWriter.write([demo], symbol: "MGC", source: "demo", range: (1_768_431_600, 1_768_431_660),
                                    syncedUntil: 1_768_431_660, to: queue, now: 0)
        }
        let rows = try queue.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM bars_1m WHERE source = 'demo'") }
        #expect(rows == 0)
        let synced = try queue.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM sync_state WHERE symbol = 'MGC'") }
        #expect(synced == 0)
    }
}
