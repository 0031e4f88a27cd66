import FlowCore
import FlowTestSupport
import Foundation
import Testing

/// `success()`, `failure()`, `always()`, `cancelled()`, `tasks.ID.status`/`error` and the run summary, through
/// the builder loop and the fake runner.
extension BuilderTests {
    func environment(of task: String) -> [[String: String]] {
        runner.started.filter { $0.command.environment["FLOW_TASK"] == task }.map(\.command.environment)
    }

    func summary(of task: String) throws -> [String: Any] {
        let text = try #require(environment(of: task).first?["FLOW_RUN_SUMMARY"])
        return try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }

    @Test("a failure() task runs once, after the last retry, with the failure in its summary; the run stays failed")
    func failureTaskRunsOnceAfterRetries() async throws {
        let outcome = try await run("""
            tasks:
              fetch:
                uses: proc
                retries: 2
                retry_delay: 1s
                with: { exit: "3" }
              load: { needs: [fetch], uses: proc }
              notify:
                needs: [load]
                if: ${{ failure() }}
                uses: proc
                with: { note: "${{ tasks.fetch.status }}|${{ tasks.load.status }}|${{ tasks.fetch.error }}" }
              after_notify: { needs: [notify], uses: proc }
            """)
        #expect(outcome.status == .failed)
        #expect(outcome.statuses[TaskID("fetch")] == .failed)
        #expect(outcome.statuses[TaskID("load")] == .skipped)
        #expect(outcome.statuses[TaskID("notify")] == .succeeded)
        #expect(outcome.statuses[TaskID("after_notify")] == .skipped, "its implicit success() is false: fetch failed upstream")
        #expect(starts(of: "fetch") == [.zero, .seconds(1), .seconds(3)])
        #expect(starts(of: "notify") == [.seconds(3)], "once, after the third attempt, never between retries")
        #expect(environment(of: "notify").first?["note"] == "failed|skipped|exited with status 3 (after 3 attempts)")
        let summary = try summary(of: "notify")
        #expect(summary["status"] as? String == "failed")
        #expect(summary["workflow"] as? String == "t")
        let failures = try #require(summary["failed_tasks"] as? [[String: Any]])
        #expect(failures.map { $0["task"] as? String } == ["fetch"])
        #expect(failures.first?["error"] as? String == "exited with status 3 (after 3 attempts)")
        #expect((failures.first?["log_tail"] as? [String])?.last == "flow: attempt 3 of 'fetch': exited with status 3 (after 3 attempts)")
    }

    @Test("on success a failure() task is skipped, always() and success() tasks run")
    func statusFunctionsOnSuccess() async throws {
        let outcome = try await run("""
            tasks:
              build: { uses: proc }
              on_fail: { needs: [build], if: "${{ failure() }}", uses: proc }
              finally: { needs: [build], if: always(), uses: proc }
              ok: { needs: [build], if: "${{ success() && true }}", uses: proc }
              gone: { needs: [build], if: cancelled(), uses: proc }
            """)
        #expect(outcome.status == .succeeded)
        #expect(outcome.statuses[TaskID("on_fail")] == .skipped)
        #expect(outcome.statuses[TaskID("finally")] == .succeeded)
        #expect(outcome.statuses[TaskID("ok")] == .succeeded)
        #expect(outcome.statuses[TaskID("gone")] == .skipped)
        #expect(store.settled(TaskID("on_fail"))?.1 == "condition is false: ${{ failure() }}")
        #expect(try summary(of: "finally")["status"] as? String == "running")
    }

    @Test("without --keep-going, a task needing everything runs after the failure once the running tasks end")
    func failureTaskAfterStop() async throws {
        let outcome = try await run("""
            tasks:
              broken: { uses: proc, with: { after: "100", exit: "1" } }
              slow: { uses: proc, with: { after: "2000" } }
              after_slow: { needs: [slow], uses: proc }
              alert:
                needs: [broken, slow, after_slow]
                if: ${{ failure() }}
                uses: proc
                with: { note: "${{ tasks.after_slow.status }}" }
            """)
        #expect(outcome.status == .failed)
        #expect(outcome.statuses[TaskID("slow")] == .succeeded)
        #expect(outcome.statuses[TaskID("after_slow")] == .pending, "nothing else new starts after the failure")
        #expect(outcome.statuses[TaskID("alert")] == .succeeded)
        #expect(starts(of: "alert") == [.seconds(2)], "it waits for the running task, then runs")
        #expect(environment(of: "alert").first?["note"] == "pending")
    }

    @Test("a continue_on_error failure is no failure(): success() stays true")
    func continueOnErrorIsNotAFailure() async throws {
        let outcome = try await run("""
            tasks:
              optional: { uses: proc, continue_on_error: true, with: { exit: "1" } }
              alert: { needs: [optional], if: failure(), uses: proc }
              next: { needs: [optional], uses: proc, with: { note: "${{ tasks.optional.status }}" } }
            """)
        #expect(outcome.status == .succeeded)
        #expect(outcome.statuses[TaskID("alert")] == .skipped)
        #expect(environment(of: "next").first?["note"] == "failed")
    }

    @Test("after a signal, cancelled() and always() tasks run to their end; the others do not start; the run is interrupted")
    mutating func cancelledTaskRuns() async throws {
        runner = FakeCommandRunner(clock: .real, script: FakeProcessAction.behaviour)
        let runner = runner
        let outcome = try await run("""
            tasks:
              long: { uses: proc, with: { after: "never" } }
              next: { needs: [long], uses: proc }
              bye: { needs: [next], if: "${{ cancelled() }}", uses: proc, with: { after: "200" } }
              fail_only: { needs: [next], if: "${{ failure() }}", uses: proc }
            """, whileRunning: {
                _ = await FlowBinary.eventually(timeout: 10) { runner.started.count >= 1 }
                try? await Task.sleep(for: .milliseconds(50))
            })
        #expect(outcome.status == .interrupted)
        #expect(outcome.statuses[TaskID("long")] == .interrupted)
        #expect(outcome.statuses[TaskID("next")] == .pending)
        #expect(outcome.statuses[TaskID("bye")] == .succeeded, "started after the cancel and not stopped by it")
        #expect(outcome.statuses[TaskID("fail_only")] == .skipped)
        #expect(runner.signals.count == 1, "only the task running at the signal was stopped")
        #expect(try summary(of: "bye")["status"] as? String == "interrupted")
    }
}
