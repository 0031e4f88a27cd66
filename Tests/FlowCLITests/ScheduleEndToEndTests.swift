import Foundation
import FlowTestSupport
import Testing

extension EndToEnd {
    @Suite("flow schedule next, end to end")
    struct ScheduleEndToEndTests {
        static let scheduled = """
            schedule:
              cron:
                - "30 20 * * 1-5"
                - "0 9 * * SAT"
              timezone: Australia/Brisbane
              catchup: latest
            tasks:
              a:
                run: "true"
            """

        struct Document: Decodable {
            struct Tick: Decodable, Equatable { var utc: String; var local: String }
            var ticks: [Tick]
            var timezone: String
            var cron: [String]
            var workflow: String?
        }

        @Test("--cron in New York across the spring-forward gap: the tick in the gap is at 03:00 local, as JSON")
        func cronJSON() async throws {
            let p = Project()
            let result = try await p.flow("schedule", "next", "--cron", "30 2 * * *", "--timezone", "America/New_York",
                                          "--from", "2026-03-07T12:00:00Z", "--count", "2", "--json")
            #expect(result.status == 0, "\(result.stderr)")
            let document = try JSONDecoder().decode(Document.self, from: Data(result.stdout.utf8))
            #expect(document.ticks == [.init(utc: "2026-03-08T07:00:00Z", local: "2026-03-08T03:00:00-04:00"),
                                       .init(utc: "2026-03-09T06:30:00Z", local: "2026-03-09T02:30:00-04:00")])
            #expect(document.timezone == "America/New_York" && document.workflow == nil)
        }

        @Test("a workflow's schedule: its expressions together, in its zone, after FLOW_NOW by default")
        func workflowSchedule() async throws {
            let p = Project()
            try p.workflow("nightly", Self.scheduled)
            #expect(try await p.flow("validate", "nightly").status == 0)
            // Friday 2026-01-30 12:00 Brisbane: that evening, Saturday morning, then Monday evening.
            let result = try await p.flow("schedule", "next", "nightly", "--count", "3", env: ["FLOW_NOW": "2026-01-30T02:00:00Z"])
            #expect(result.status == 0, "\(result.stderr)")
            #expect(result.stdout.contains("next 3 ticks of 'nightly' (30 20 * * 1-5 | 0 9 * * SAT, Australia/Brisbane):"), "\(result.stdout)")
            let lines = result.stdout.split(separator: "\n").dropFirst().map { $0.trimmingCharacters(in: .whitespaces) }
            #expect(lines == ["2026-01-30T10:30:00Z  2026-01-30T20:30:00+10:00", "2026-01-30T23:00:00Z  2026-01-31T09:00:00+10:00",
                              "2026-02-02T10:30:00Z  2026-02-02T20:30:00+10:00"])
        }

        @Test("usage errors exit 2 and name the field: expression (with a caret), zone, count, time, action; no schedule")
        func usageErrors() async throws {
            let p = Project()
            try p.workflow("plain", "tasks:\n  a:\n    run: \"true\"\n")
            let cases: [([String], String)] = [
                (["next", "--cron", "0 25 * * *"], "--cron: bad hour '25': values are 0–23\n  0 25 * * *\n    ^"),
                (["next", "--cron", "@daily", "--timezone", "Brisbane"], "--timezone: unknown time zone 'Brisbane'; did you mean 'Australia/Brisbane'?"),
                (["next", "--cron", "@daily", "--timezone", "EST"], "--timezone: unknown time zone 'EST'"),
                (["next", "--cron", "@daily", "--count", "0"], "--count must be between 1 and 10000, not 0"),
                (["next", "--cron", "@daily", "--count", "many"], "--count takes a whole number"),
                (["next", "--cron", "@daily", "--from", "yesterday"], "--from takes an ISO 8601 time"),
                (["nxt", "--cron", "@daily"], "unknown action 'nxt'; actions: next, tick, ledger, install, uninstall (did you mean 'next'?)"),
                (["next"], "name a workflow, or give --cron"),
                (["next", "plain", "--cron", "@daily"], "give a workflow or --cron/--timezone, not both"),
                (["next", "plain"], "workflow 'plain' has no schedule"),
            ]
            for (arguments, message) in cases {
                let result = try await p.flow(arguments: ["schedule"] + arguments)
                #expect(result.status == 2, "\(arguments): \(result.stderr)")
                #expect(result.stderr.contains(message), "\(arguments): \(result.stderr)")
                #expect(result.stdout.isEmpty, "\(arguments)")
            }
            // An invalid schedule in the file is the file's error: 65, positioned.
            try p.workflow("broken", "schedule:\n  cron: \"0 0 31 2 *\"\ntasks:\n  a:\n    run: \"true\"\n")
            let broken = try await p.flow("schedule", "next", "broken")
            #expect(broken.status == 65)
            #expect(broken.stderr.contains("broken.yaml:2:14: error: invalid cron expression: '31 2' never happens"), "\(broken.stderr)")
        }
    }
}
