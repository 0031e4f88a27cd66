import Foundation
import FlowTestSupport
import GRDB
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// `workflows/daily-update.yaml` run by the built binary on real SQLite files.
extension EndToEnd {
    @Suite("daily-update, end to end")
    struct DailyUpdateEndToEndTests {
        func project() throws -> Project { try Project.dailyUpdate() }

        func snapshot(_ p: Project, db: String = "data/market.db") async throws -> [String: [String]] {
            try await MarketSnapshot.take(p.root + "/" + db)
        }

        @Test("empty database → run → run again changes nothing → a day later only the new day is fetched")
        func incremental() async throws {
            let p = try project()
            let day1 = ["FLOW_NOW": "2026-01-28T21:00:00Z"]
            let first = try await p.flow("run", "daily-update", env: day1)
            #expect(first.status == 0, "\(first.stdout)\(first.stderr)")
            #expect(first.stdout.contains("[demo data]"))
            #expect(first.stdout.contains("DATABENTO_API_KEY"), "the demo notice says how to switch")
            let afterFirst = try await snapshot(p)
            #expect((afterFirst["bars"]?.count ?? 0) > 20_000)
            #expect((afterFirst["features"]?.count ?? 0) >= 20)

            let second = try await p.flow("run", "daily-update", env: day1)
            #expect(second.status == 0)
            #expect(second.stdout.contains("skipped  backfill"))
            #expect(second.stdout.contains("+0 bars this run"))
            #expect(try await snapshot(p) == afterFirst, "running twice changes nothing")

            let third = try await p.flow("run", "daily-update", env: ["FLOW_NOW": "2026-01-29T21:00:00Z"])
            #expect(third.status == 0)
            let log = p.dir.read(".flow/logs/3/backfill.1.log") ?? ""
            let chunks = log.split(separator: "\n").filter { $0.hasPrefix("MGC 2026-") }
            #expect(chunks.map { String($0.prefix(14)) } == ["MGC 2026-01-28", "MGC 2026-01-29"], "\(log)")
            let afterThird = try await snapshot(p)
            #expect((afterThird["bars"]?.count ?? 0) == (afterFirst["bars"]?.count ?? 0) + 1380)
            #expect(third.stdout.contains("+1380 bars this run"))
        }

        @Test("kill -9 during the backfill, then flow run: the database ends identical to an uninterrupted run's")
        func killDuringBackfill() async throws {
            let env = ["FLOW_NOW": "2026-01-28T21:00:00Z"]
            let clean = try project()
            #expect(try await clean.flow("run", "daily-update", "-p", "start=2025-10-01T00:00:00Z", env: env).status == 0)
            let expected = try await snapshot(clean)

            let p = try project()
            let running = try p.start("run", "daily-update", "-p", "start=2025-10-01T00:00:00Z", env: env)
            let started = await FlowBinary.eventually(timeout: 30) {
                (p.dir.read(".flow/logs/1/backfill.1.log") ?? "").split(separator: "\n").count >= 20
            }
            #expect(started)
            kill(running.pid, SIGKILL)
            _ = await running.wait()
            let partial = try await snapshot(p)
            #expect((partial["bars"]?.count ?? 0) < (expected["bars"]?.count ?? 0), "killed before the backfill finished")

            let resumed = try await p.flow("run", "daily-update", env: env)
            #expect(resumed.status == 0, "\(resumed.stdout)\(resumed.stderr)")
            #expect(resumed.stdout.contains("resuming run 1"))
            #expect(try await snapshot(p) == expected)
        }

        @Test("Databento through a local fake: a server error is retried, the key never shows, the result matches the vendor rows")
        func databento() async throws {
            let fake = try await blocking { try FakeDatabento(availableEnd: "2026-01-16T23:00:00.000000000Z") }
            try fake.inject("500", "truncate")
            let p = try project()
            let env = ["FLOW_NOW": "2026-01-17T00:00:00Z", "DATABENTO_API_KEY": fake.key, "DATABENTO_BASE_URL": fake.baseURL,
                       "FLOW_VENDOR_RETRY_BASE": "20ms"]
            let result = try await p.flow("run", "daily-update", "-p", "start=2026-01-14T23:00:00Z", env: env)
            #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
            #expect(result.stdout.contains("source databento"))
            #expect(!result.stdout.contains("demo data"))
            let bars = try await snapshot(p)["bars"] ?? []
            #expect(bars.count == 2366, "every fixture row, once")
            #expect(fake.requests.contains { $0.path == "/v0/metadata.get_dataset_range" })
            // The key appears nowhere: not in output, logs, or either database.
            var haystack = result.stdout + result.stderr
            for file in (FileManager.default.enumerator(atPath: p.root)?.allObjects as? [String]) ?? [] where !file.contains("workflows") {
                if let data = FileManager.default.contents(atPath: p.root + "/" + file) { haystack += String(decoding: data, as: UTF8.self) }
            }
            let base64 = Data("\(fake.key):".utf8).base64EncodedString()
            #expect(!haystack.contains(fake.key))
            #expect(!haystack.contains(base64))

            let again = try await p.flow("run", "daily-update", env: env)
            #expect(again.status == 0)
            #expect(try await snapshot(p)["bars"]?.count == 2366)
        }

        @Test("under every vendor failure mode the key never appears in output, logs or databases, plainly, URL-encoded or base64",
              arguments: ["401", "429", "500", "502html", "drop", "truncate", "badheader", "malformed", "length"])
        func secretsUnderFaults(_ fault: String) async throws {
            let fake = try await blocking { try FakeDatabento(key: "db-Sec+ret/Key=42&x", availableEnd: "2026-01-16T23:00:00.000000000Z") }
            try fake.inject(fault, fault, fault, fault)
            let p = try project()
            let env = ["FLOW_NOW": "2026-01-17T00:00:00Z", "DATABENTO_API_KEY": fake.key, "DATABENTO_BASE_URL": fake.baseURL,
                       "FLOW_VENDOR_RETRY_BASE": "20ms"]
            let result = try await p.flow("run", "daily-update", "-p", "start=2026-01-15T23:00:00Z", env: env)
            var haystack = result.stdout + result.stderr
            for file in (FileManager.default.enumerator(atPath: p.root)?.allObjects as? [String]) ?? [] where !file.contains("workflows") {
                if let data = FileManager.default.contents(atPath: p.root + "/" + file) { haystack += String(decoding: data, as: UTF8.self) }
            }
            let encoded = fake.key.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? fake.key
            for form in [fake.key, encoded, Data("\(fake.key):".utf8).base64EncodedString(), Data(fake.key.utf8).base64EncodedString()] {
                #expect(!haystack.contains(form), "\(fault): the key leaked as \(form)")
            }
            // Retryable faults clear after the injected ones are used up; the data then matches the vendor's.
            if fault != "401" {
                let bars = try await snapshot(p)["bars"]?.count ?? 0
                let again = bars == 0 ? try await p.flow("run", "daily-update", env: env) : result
                #expect(again.status == 0 || result.status == 0, "\(fault): \(again.stdout)")
            } else {
                #expect(result.status == 1)
            }
        }

        @Test("a wrong Databento key fails at once with a clear message and exit 1")
        func wrongKey() async throws {
            let fake = try await blocking { try FakeDatabento(availableEnd: "2026-01-16T23:00:00Z") }
            let p = try project()
            let env = ["FLOW_NOW": "2026-01-17T00:00:00Z", "DATABENTO_API_KEY": "db-NOT-THE-KEY", "DATABENTO_BASE_URL": fake.baseURL]
            let started = Date()
            let result = try await p.flow("run", "daily-update", env: env)
            #expect(Date().timeIntervalSince(started) < 10)
            #expect(result.status == 1)
            #expect(result.stdout.contains("refused the API key"))
            #expect(!result.stdout.contains("NOT-THE-KEY") && !result.stderr.contains("NOT-THE-KEY"))
        }

        @Test("health-check reports a corrupted market database, names the backup, and deletes nothing")
        func corrupted() async throws {
            let p = try project()
            let env = ["FLOW_NOW": "2026-01-28T21:00:00Z"]
            #expect(try await p.flow("run", "daily-update", env: env).status == 0)
            try FileManager.default.createDirectory(atPath: p.root + "/data/backups", withIntermediateDirectories: true)
            try FileManager.default.copyItem(atPath: p.root + "/data/market.db", toPath: p.root + "/data/backups/market-20260101T000000Z.db")
            // Damage the header page's schema area.
            let handle = try FileHandle(forUpdating: p.dir.url("data/market.db"))
            try handle.seek(toOffset: 100)
            handle.write(Data(repeating: 0xFF, count: 3000))
            try handle.close()
            let before = try Data(contentsOf: p.dir.url("data/market.db"))
            let result = try await p.flow("run", "daily-update", "--fresh", env: env)
            #expect(result.status == 1)
            #expect(result.stdout.contains("health-check"))
            let log = p.dir.read(".flow/logs/2/health-check.1.log") ?? ""
            #expect(log.contains("market-20260101T000000Z.db"), "\(log)")
            #expect(try Data(contentsOf: p.dir.url("data/market.db")) == before)
        }
    }
}
