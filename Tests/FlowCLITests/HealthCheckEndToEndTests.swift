import Foundation
import FlowTestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

extension EndToEnd {
    @Suite("health-check backups, end to end")
    struct HealthCheckEndToEndTests {
        static let workflow = """
            params:
              db: data/market.db
            tasks:
              check:
                uses: sqlite.health-check
                with:
                  db: ${{ params.db }}
                  backup: true
                  keep_backups: 2
            """

        func backups(_ p: Project) throws -> [String] {
            try FileManager.default.contentsOfDirectory(atPath: p.root + "/data/backups").sorted()
        }

        @Test("each database prunes only its own backups, however alike the names; 'backup: true' unquoted is valid")
        func exactMatch() async throws {
            let p = Project()
            try p.workflow("h", Self.workflow)
            for (hour, db) in [(10, "data/market-demo.db"), (11, "data/market-demo.db"), (12, "data/market.db"), (13, "data/market.db"),
                               (14, "data/market.db"), (15, "data/market-demo.db")] {
                let r = try await p.flow("run", "h", "--fresh", "-p", "db=\(db)", env: ["FLOW_NOW": "2026-01-17T\(hour):00:00Z"])
                #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
            }
            #expect(try backups(p) == ["market-20260117T130000Z.db", "market-20260117T140000Z.db",
                                       "market-demo-20260117T110000Z.db", "market-demo-20260117T150000Z.db"])
        }

        @Test("the restore advice of a damaged database names its own latest backup")
        func adviceNamesOwnBackup() async throws {
            let p = Project()
            try p.workflow("h", Self.workflow)
            #expect(try await p.flow("run", "h", "-p", "db=data/market.db", env: ["FLOW_NOW": "2026-01-17T10:00:00Z"]).status == 0)
            #expect(try await p.flow("run", "h", "--fresh", "-p", "db=data/market-demo.db", env: ["FLOW_NOW": "2026-01-17T11:00:00Z"]).status == 0)
            let handle = try FileHandle(forUpdating: p.dir.url("data/market.db"))
            try handle.seek(toOffset: 100)
            handle.write(Data(repeating: 0xFF, count: 3000))
            try handle.close()
            let r = try await p.flow("run", "h", "--fresh", "-p", "db=data/market.db", env: ["FLOW_NOW": "2026-01-17T12:00:00Z"])
            #expect(r.status == 1)
            let log = try await p.flow("logs", "3")
            #expect(log.stdout.contains("market-20260117T100000Z.db"), "\(log.stdout)")
            #expect(!log.stdout.contains("market-demo-2026"), "\(log.stdout)")
        }

        @Test("a backup killed midway leaves a .partial that the next run removes; one still being written is left alone")
        func partials() async throws {
            let p = Project()
            try p.workflow("h", Self.workflow)
            #expect(try await p.flow("run", "h", env: ["FLOW_NOW": "2026-01-17T10:00:00Z"]).status == 0)
            let abandoned = p.root + "/data/backups/market-20260117T103000Z.db.partial"
            let writing = p.root + "/data/backups/market-20260117T104000Z.db.partial"
            let other = p.root + "/data/backups/market-demo-20260117T103000Z.db.partial"
            for path in [abandoned, writing, other] { _ = FileManager.default.createFile(atPath: path, contents: Data("half".utf8)) }
            let fd = open(writing, O_RDWR)
            #expect(flock(fd, LOCK_EX | LOCK_NB) == 0)
            defer { close(fd) }
            #expect(try await p.flow("run", "h", "--fresh", env: ["FLOW_NOW": "2026-01-17T11:00:00Z"]).status == 0)
            #expect(!FileManager.default.fileExists(atPath: abandoned))
            #expect(FileManager.default.fileExists(atPath: writing), "a partial in progress was deleted")
            #expect(FileManager.default.fileExists(atPath: other), "another database's partial was deleted")
        }
    }
}
