import Foundation
import FlowTestSupport
import GRDB
import Testing

extension EndToEnd {
    /// The market pipeline never pays twice and never mixes sources, however flow is started.
    @Suite("market data is bought once and never mixed, end to end")
    struct MarketTrustEndToEndTests {
        func project() throws -> Project { try Project.dailyUpdate() }

        func ranges(_ fake: FakeDatabento) -> [String] {
            fake.requests.filter { $0.path == "/v0/timeseries.get_range" }
                .map { "\($0.query["symbols"] ?? "?") \($0.query["start"] ?? "?")" }
        }

        @Test("adding a second symbol fetches only that symbol; no stored day is requested again; the report counts each symbol's own bars")
        func secondSymbol() async throws {
            let fake = try await blocking { try FakeDatabento(availableEnd: "2026-01-16T23:00:00.000000000Z") }
            let p = try project()
            let env = ["FLOW_NOW": "2026-01-17T00:00:00Z", "DATABENTO_API_KEY": fake.key, "DATABENTO_BASE_URL": fake.baseURL]
            let first = try await p.flow("run", "daily-update", "-p", "start=2026-01-14T23:00:00Z", env: env)
            #expect(first.status == 0, "\(first.stdout)\(first.stderr)")
            let afterFirst = ranges(fake)
            #expect(afterFirst.count == 2 && afterFirst.allSatisfy { $0.hasPrefix("MGC.v.0 ") }, "\(afterFirst)")

            let second = try await p.flow("run", "daily-update", "-p", "start=2026-01-14T23:00:00Z", "-p", "symbols=MGC,GC", env: env)
            #expect(second.status == 0, "\(second.stdout)\(second.stderr)")
            let all = ranges(fake)
            let added = Array(all.dropFirst(afterFirst.count))
            #expect(added.count == 2 && added.allSatisfy { $0.hasPrefix("GC.v.0 ") }, "MGC was fetched again: \(added)")
            #expect(Set(all).count == all.count, "a request repeated: \(all)")
            #expect(second.stdout.contains("report: MGC: newest bar"), "\(second.stdout)")
            let mgc = Project.unstamped(second.stdout).first { $0.hasPrefix("report: MGC:") } ?? ""
            let gc = Project.unstamped(second.stdout).first { $0.hasPrefix("report: GC:") } ?? ""
            #expect(mgc.contains("+0 bars this run"), "\(mgc)")
            #expect(gc.contains("+2366 bars this run"), "\(gc)")
            let json = try await p.statusJSON("daily-update")
            let report = (json["tasks"] as? [[String: Any]])?.first { $0["id"] as? String == "report" }
            let text = ((report?["outputs"] as? [String: Any])?["json"] as? String) ?? ""
            let doc = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]
            let counts = (doc?["symbols"] as? [[String: Any]] ?? []).reduce(into: [String: Int]()) { $0[$1["symbol"] as? String ?? "?"] = $1["bars_added"] as? Int }
            #expect(counts == ["MGC": 0, "GC": 2366], "\(counts)")
        }

        @Test("a symbol named like flow's own checkpoint keys is just a symbol: no crash, on the run or its resume")
        func symbolNamedLikeAKey() async throws {
            let p = try project()
            let env = ["FLOW_NOW": "2026-01-28T21:00:00Z"]
            let result = try await p.flow("run", "daily-update", "-p", "symbols=total.added,MGC", env: env)
            #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
            #expect(result.stdout.contains("report: total.added: newest bar"), "\(result.stdout)")
            let again = try await p.flow("run", "daily-update", "-p", "symbols=total.added,MGC", env: env)
            #expect(again.status == 0)
        }

        @Test("two state databases on one market database: the second source is refused and nothing of it is written")
        func sourcesNeverMix() async throws {
            let fake = try await blocking { try FakeDatabento(availableEnd: "2026-01-16T23:00:00.000000000Z") }
            let p = try project()
            let cron = ["FLOW_NOW": "2026-01-17T00:00:00Z", "DATABENTO_API_KEY": fake.key, "DATABENTO_BASE_URL": fake.baseURL,
                        "FLOW_STATE": p.root + "/cron-state/state.db"]
            let vendor = try await p.flow("run", "daily-update", "-p", "start=2026-01-14T23:00:00Z", env: cron)
            #expect(vendor.status == 0, "\(vendor.stdout)\(vendor.stderr)")
            let before = try await MarketSnapshot.take(p.root + "/data/market.db")
            let manual = try await p.flow("run", "daily-update", "-p", "start=2026-01-14T23:00:00Z",
                                          env: ["FLOW_NOW": "2026-01-17T00:00:00Z", "FLOW_STATE": p.root + "/manual/state.db"])
            #expect(manual.status == 1)
            #expect(manual.stdout.contains("holds data from source 'databento', not 'demo'"), "\(manual.stdout)")
            #expect(try await MarketSnapshot.take(p.root + "/data/market.db") == before)
            let demoRows = try await SQLiteFile.rows(p.root + "/data/market.db", "SELECT count(*) FROM bars_1m WHERE source = 'demo'")
            #expect(demoRows == ["0"])
        }
    }
}

extension EndToEnd.MarketTrustEndToEndTests {
    @Test("passing vendor faults, each once and followed by a good answer, cost no task attempt: exit 0 and the exact vendor rows")
    func passingFaultsEndToEnd() async throws {
        let fake = try await blocking { try FakeDatabento(availableEnd: "2026-01-16T23:00:00.000000000Z") }
        try fake.inject("429", "ok", "500", "truncate", "ok", "malformed", "502html", "drop", "badheader")
        let p = try project()
        let env = ["FLOW_NOW": "2026-01-17T00:00:00Z", "DATABENTO_API_KEY": fake.key, "DATABENTO_BASE_URL": fake.baseURL,
                   "FLOW_VENDOR_RETRY_BASE": "20ms"]
        let result = try await p.flow("run", "daily-update", "-p", "start=2026-01-14T23:00:00Z", env: env)
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        #expect(try await SQLiteFile.rows(p.root + "/data/market.db", "SELECT count(*) FROM bars_1m") == ["2366"])
        let attempts = try await SQLiteFile.rows(p.root + "/.flow/state.db", "SELECT count(*) FROM attempts WHERE task = 'backfill'")
        #expect(attempts == ["1"], "the task's own retries were spent")
        let log = p.dir.read(".flow/logs/1/backfill.1.log") ?? ""
        #expect(log.contains("trying again"), "\(log)")
    }

    @Test("a permanent vendor error fails at once and says it was not retried; an error page echoing the key is scrubbed everywhere",
          arguments: ["echo400", "echo500"])
    func echoedKey(_ fault: String) async throws {
        let fake = try await blocking { try FakeDatabento(key: "db-Sec+ret/Key=42&x", availableEnd: "2026-01-16T23:00:00.000000000Z") }
        try fake.inject(Array(repeating: fault, count: 30).joined(separator: "\n"))
        let p = try project()
        let env = ["FLOW_NOW": "2026-01-17T00:00:00Z", "DATABENTO_API_KEY": fake.key, "DATABENTO_BASE_URL": fake.baseURL,
                   "FLOW_VENDOR_RETRY_BASE": "1ms"]
        let result = try await p.flow("run", "daily-update", "-p", "start=2026-01-14T23:00:00Z", env: env)
        #expect(result.status == 1)
        if fault == "echo400" {
            #expect(result.stdout.contains("not retried: permanent error"), "\(result.stdout)")
            let attempts = try await SQLiteFile.rows(p.root + "/.flow/state.db", "SELECT count(*) FROM attempts WHERE task = 'backfill'")
            #expect(attempts == ["1"])
        }
        let status = try await p.flow("status", "daily-update", "--json")
        let history = try await p.flow("history", "daily-update", "--json")
        var haystack = result.stdout + result.stderr + status.stdout + history.stdout
        for file in (FileManager.default.enumerator(atPath: p.root)?.allObjects as? [String]) ?? [] where !file.contains("workflows") {
            if let data = FileManager.default.contents(atPath: p.root + "/" + file) { haystack += String(decoding: data, as: UTF8.self) }
        }
        #expect(haystack.contains("[redacted]"), "the echo reached the output scrubbed")
        let encoded = fake.key.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? fake.key
        for form in [fake.key, encoded, Data("\(fake.key):".utf8).base64EncodedString(), Data(fake.key.utf8).base64EncodedString()] {
            #expect(!haystack.contains(form), "\(fault): the key leaked as \(form)")
        }
    }
}

extension EndToEnd.MarketTrustEndToEndTests {
    @Test("changing timezone or day_start rebuilds every feature under the new definition, as a fresh database would have them")
    func definitionChangeRebuilds() async throws {
        let env = ["FLOW_NOW": "2026-01-28T21:00:00Z"]
        let p = try project()
        #expect(try await p.flow("run", "daily-update", env: env).status == 0)
        #expect(try await SQLiteFile.rows(p.root + "/data/market.db", "SELECT timezone || ' ' || day_start FROM feature_definition")
                == ["Australia/Brisbane 09:00"])
        let chicago = try await p.flow("run", "daily-update", "-p", "timezone=America/Chicago", "-p", "day_start=17:00", env: env)
        #expect(chicago.status == 0, "\(chicago.stdout)\(chicago.stderr)")
        #expect(try await SQLiteFile.rows(p.root + "/data/market.db", "SELECT timezone || ' ' || day_start FROM feature_definition")
                == ["America/Chicago 17:00"])
        let fresh = try project()
        #expect(try await fresh.flow("run", "daily-update", "-p", "timezone=America/Chicago", "-p", "day_start=17:00", env: env).status == 0)
        let rebuilt = try await MarketSnapshot.take(p.root + "/data/market.db")["features"]
        #expect(rebuilt == (try await MarketSnapshot.take(fresh.root + "/data/market.db")["features"]), "Brisbane rows were left beside Chicago ones")
        // -p rebuild=true recomputes everything, and the result is the same.
        let forced = try await p.flow("run", "daily-update", "-p", "timezone=America/Chicago", "-p", "day_start=17:00", "-p", "rebuild=true", env: env)
        #expect(forced.status == 0)
        #expect(try await MarketSnapshot.take(p.root + "/data/market.db")["features"] == rebuilt)
    }

    @Test("a market database from a newer flow is refused with a message and not written")
    func newerMarketDatabase() async throws {
        let env = ["FLOW_NOW": "2026-01-28T21:00:00Z"]
        let p = try project()
        #expect(try await p.flow("run", "daily-update", env: env).status == 0)
        try await blocking {
            let queue = try DatabaseQueue(path: p.root + "/data/market.db")
            try queue.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA user_version = 99") }
            try queue.close()
        }
        let before = try await MarketSnapshot.take(p.root + "/data/market.db")
        let result = try await p.flow("run", "daily-update", env: ["FLOW_NOW": "2026-01-29T21:00:00Z"])
        #expect(result.status == 1)
        #expect(result.stdout.contains("was written by a newer flow (schema 99"), "\(result.stdout)")
        #expect(try await MarketSnapshot.take(p.root + "/data/market.db") == before)
    }
}
