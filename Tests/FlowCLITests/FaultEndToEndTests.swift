import Foundation
import FlowTestSupport
import GRDB
import Testing
#if canImport(Glibc)
import Glibc
#endif

extension EndToEnd {
    /// Short forms of the fault suite (docs/RELIABILITY.md); `scripts/faults.sh` runs the long forms.
    @Suite("faults, end to end")
    struct FaultEndToEndTests {
        static var killRounds: Int { Int(ProcessInfo.processInfo.environment["FLOW_FAULT_KILLS"] ?? "") ?? 5 }

        @Test("ten concurrent runs: exactly one runs, the others exit 69 within a second naming it, none sees a lock error")
        func tenAtOnce() async throws {
            let p = Project()
            try p.workflow("w", "tasks:\n  hold:\n    run: touch started; while [ ! -f stop ]; do sleep 0.05; done\n")
            let first = try p.start("run", "w")
            #expect(await FlowBinary.eventually { p.dir.exists("started") })
            let started = Date()
            let others = try await withThrowingTaskGroup(of: FlowBinary.Result.self) { group in
                for _ in 0..<9 { group.addTask { try await p.flow("run", "w") } }
                var results: [FlowBinary.Result] = []
                for try await r in group { results.append(r) }
                return results
            }
            #expect(Date().timeIntervalSince(started) < 5, "nine refusals in parallel on two cores")
            for r in others {
                #expect(r.status == 69)
                #expect(r.stderr.contains("already running (run 1, pid \(first.pid)"))
                #expect(!r.stderr.contains("locked"))
            }
            let list = try await p.flow("list")
            #expect(list.status == 0 && list.stdout.contains("running"))
            try p.dir.write("stop", "")
            #expect(await first.wait().status == 0)
            #expect(try await p.flow("history", "w").stdout.split(separator: "\n").count == 2, "one run recorded, plus the header")
        }

        @Test("kill -9 at random moments until daily-update finishes: the data equals an uninterrupted run's")
        func randomKills() async throws {
            let env = ["FLOW_NOW": "2026-01-28T21:00:00Z"]
            // A 60-day gap, as the fault suite asks.
            let args = ["run", "daily-update", "-p", "start=2025-11-29T21:00:00Z"]
            let clean = Project()
            try clean.workflow("daily-update", try String(contentsOfFile: Repository.root + "/workflows/daily-update.yaml", encoding: .utf8))
            #expect(try await clean.flow(arguments: args, env: env).status == 0)
            let expected = try await MarketSnapshot.take(clean.root + "/data/market.db")

            var generator = SystemRandomNumberGenerator()
            var kills = 0
            var cycles = 0
            // Each cycle: a fresh database, killed at random moments until a run finishes, then compared.
            while kills < Self.killRounds {
                cycles += 1
                let p = Project()
                try p.workflow("daily-update", try String(contentsOfFile: Repository.root + "/workflows/daily-update.yaml", encoding: .utf8))
                var finished = false
                for _ in 0..<50 where !finished {
                    let running = try p.start(arguments: args, env: env)
                    try await Task.sleep(for: .milliseconds(Int.random(in: 20...600, using: &generator)))
                    kill(running.pid, SIGKILL)
                    let result = await running.wait()
                    if result.status == 0 { finished = true } else if result.status == 128 + SIGKILL { kills += 1 } else {
                        Issue.record("unexpected exit \(result.status): \(result.stdout)\(result.stderr)")
                        return
                    }
                }
                if !finished {
                    let last = try await p.flow(arguments: args, env: env)
                    #expect(last.status == 0, "\(last.stdout)\(last.stderr)")
                }
                #expect(try await MarketSnapshot.take(p.root + "/data/market.db") == expected, "cycle \(cycles)")
                // A chunk logged as committed is never fetched again, across every attempt of the cycle.
                var committed: [String] = []
                let logs = p.root + "/.flow/logs"
                for run in (try? FileManager.default.contentsOfDirectory(atPath: logs)) ?? [] {
                    for file in (try? FileManager.default.contentsOfDirectory(atPath: "\(logs)/\(run)")) ?? [] where file.hasPrefix("backfill.") {
                        committed += p.lines(".flow/logs/\(run)/\(file)").filter { $0.hasPrefix("MGC 20") }.map { String($0.prefix(14)) }
                    }
                }
                #expect(Set(committed).count == committed.count, "a committed chunk was fetched again: \(committed)")
                #expect(!committed.isEmpty)
                #expect(try await MarketSnapshot.integrity(p.root + "/.flow/state.db") == "ok")
            }
            FileHandle.standardError.write(Data("random kills: \(kills) kill -9s survived in \(cycles) cycles\n".utf8))
        }
    }
}

/// A small tmpfs for disk-full tests; needs root (CI and the development machines run as root).
final class SmallDisk: @unchecked Sendable {
    let path: String
    private(set) var mounted = false

    init(megabytes: Int) {
        path = FileManager.default.temporaryDirectory.path + "/flow-full-\(UUID().uuidString.prefix(8))"
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        mounted = SmallDisk.sh("mount -t tmpfs -o size=\(megabytes)m tmpfs '\(path)'")
    }

    func grow(megabytes: Int) -> Bool { SmallDisk.sh("mount -o remount,size=\(megabytes)m '\(path)'") }

    deinit {
        if mounted { _ = SmallDisk.sh("umount '\(path)'") }
        try? FileManager.default.removeItem(atPath: path)
    }

    static var available: Bool { getuid() == 0 && FileManager.default.isExecutableFile(atPath: "/bin/mount") }

    @discardableResult
    static func sh(_ command: String) -> Bool {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        p.arguments = ["-c", command + " 2>/dev/null"]
        do { try p.run() } catch { return false }
        p.waitUntilExit()
        return p.terminationStatus == 0
    }
}

extension EndToEnd.FaultEndToEndTests {
    @Test("disk full mid-backfill: a clear error, both databases intact, and after space is freed the run completes",
          .enabled(if: SmallDisk.available))
    func diskFull() async throws {
        let env = ["FLOW_NOW": "2026-01-28T21:00:00Z"]
        let workflow = try String(contentsOfFile: Repository.root + "/workflows/daily-update.yaml", encoding: .utf8)
            .replacingOccurrences(of: "      backup: \"false\"", with: "      backup: \"false\"\n      min_free_mb: \"0\"")
        let clean = Project()
        try clean.workflow("daily-update", workflow)
        #expect(try await clean.flow("run", "daily-update", env: env).status == 0)
        let expected = try await MarketSnapshot.take(clean.root + "/data/market.db")

        let disk = SmallDisk(megabytes: 3)
        try #require(disk.mounted, "tmpfs mount failed")
        try FileManager.default.createDirectory(atPath: disk.path + "/workflows", withIntermediateDirectories: true)
        try workflow.write(toFile: disk.path + "/workflows/daily-update.yaml", atomically: true, encoding: .utf8)
        let full = try await FlowBinary.run(["run", "daily-update"], in: disk.path, environment: env)
        #expect(full.status != 0)
        #expect(full.stdout.contains("no space left") || full.stderr.contains("no space left"), "\(full.stdout)\(full.stderr)")
        for db in ["data/market.db", ".flow/state.db"] {
            #expect(try await MarketSnapshot.integrity(disk.path + "/" + db) == "ok", "\(db)")
        }
        #expect(disk.grow(megabytes: 64))
        let resumed = try await FlowBinary.run(["run", "daily-update"], in: disk.path, environment: env)
        #expect(resumed.status == 0, "\(resumed.stdout)\(resumed.stderr)")
        #expect(try await MarketSnapshot.take(disk.path + "/data/market.db") == expected)
    }
}

extension EndToEnd.FaultEndToEndTests {
    @Test("a crash at each named point inside flow, then flow run: the data equals an uninterrupted run's",
          arguments: ["during-state-migration", "during-state-migration-v2", "during-market-migration", "after-attempt-row",
                      "after-chunk-commit"])
    func namedCrashPoints(_ point: String) async throws {
        let env = ["FLOW_NOW": "2026-01-28T21:00:00Z"]
        let args = ["run", "daily-update", "-p", "start=2026-01-20T21:00:00Z"]
        let workflow = try String(contentsOfFile: Repository.root + "/workflows/daily-update.yaml", encoding: .utf8)
        let clean = Project()
        try clean.workflow("daily-update", workflow)
        #expect(try await clean.flow(arguments: args, env: env).status == 0)
        let expected = try await MarketSnapshot.take(clean.root + "/data/market.db")

        let p = Project()
        try p.workflow("daily-update", workflow)
        let crashed = try await p.flow(arguments: args, env: env.merging(["FLOW_CRASH_AT": point]) { $1 })
        #expect(crashed.status == 128 + SIGKILL, "\(point): \(crashed.stdout)\(crashed.stderr)")
        let resumed = try await p.flow(arguments: args, env: env)
        #expect(resumed.status == 0, "\(point): \(resumed.stdout)\(resumed.stderr)")
        #expect(try await MarketSnapshot.take(p.root + "/data/market.db") == expected, "\(point)")
        if point == "after-chunk-commit" {
            // The committed chunk is not fetched again: the resumed backfill starts after it.
            let log = p.dir.read(".flow/logs/1/backfill.2.log") ?? ""
            #expect(!log.contains("MGC 2026-01-20:"), "\(log)")
        }
    }
}

extension EndToEnd.FaultEndToEndTests {
    @Test("a crash between spawning a task and recording its pid leaves no orphan: the next run finds it by its tag")
    func crashAfterSpawn() async throws {
        let p = Project()
        try p.workflow("w", """
            tasks:
              long:
                run: |
                  echo "start $$" >> ran.txt
                  sleep 30
                  echo end >> ran.txt
            """)
        let crashed = try await p.flow("run", "w", env: ["FLOW_CRASH_AT": "after-spawn"])
        #expect(crashed.status == 128 + SIGKILL)
        #expect(await FlowBinary.eventually { p.lines("ran.txt").count == 1 }, "the task started before flow died")
        #expect(ProcessScan.anyProcess(matching: "sleep 30", under: p.root), "its process outlived the runner")
        try p.workflow("w", "tasks:\n  long:\n    run: echo end >> ran.txt\n")
        let resumed = try await p.flow("run", "w")
        #expect(resumed.status == 0)
        #expect(resumed.stderr.contains("orphaned task process group"), "\(resumed.stderr)")
        #expect(!ProcessScan.anyProcess(matching: "sleep 30", under: p.root), "the orphan was stopped")
        #expect(p.lines("ran.txt").filter { $0 == "end" }.count == 1)
    }
}
