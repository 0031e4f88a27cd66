import FlowCore
import FlowTasks
import FlowTestSupport
import Foundation
import Synchronization
import Testing

final class Saved: Sendable {
    let values = Mutex<[[String: String]]>([])
}

@Suite("shell tasks run as real processes")
struct ShellActionTests {
    let dir = TemporaryDirectory()
    let groups = ProcessGroups()

    func context(_ script: String, shell: String = "sh", env: [String: String] = [:], checkpoint: [String: String] = [:],
                 saved: Saved = Saved(), grace: Duration = .milliseconds(300)) throws -> (TaskContext, TaskLog) {
        let log = try TaskLog(path: dir.path + "/logs/t.1.log")
        let ctx = TaskContext(
            runID: 7, task: TaskID("t"), attempt: 1, inputs: ["run": script, "shell": shell], env: env, workingDirectory: dir.path,
            scratchDirectory: dir.path + "/scratch", log: log, checkpoint: checkpoint,
            saveCheckpoint: { values in saved.values.withLock { $0.append(values) } }, gracePeriod: grace)
        return (ctx, log)
    }

    @Test("outputs, environment and the working directory reach the script")
    func outputsAndEnvironment() async throws {
        let (ctx, log) = try context("""
            echo "run=$FLOW_RUN_ID task=$FLOW_TASK attempt=$FLOW_ATTEMPT" >> "$FLOW_OUTPUT"
            echo "greeting=$GREETING" >> "$FLOW_OUTPUT"
            echo "pwd=$(pwd)" >> "$FLOW_OUTPUT"
            printf 'multi<<END\\nline 1\\nline 2\\nEND\\n' >> "$FLOW_OUTPUT"
            echo "to the log"
            echo "to stderr" >&2
            """, env: ["GREETING": "hi there; $(touch pwned)"])
        let outputs = try await ShellAction(groups: groups).run(ctx)
        log.close()
        #expect(outputs["run"] == "7 task=t attempt=1")
        #expect(outputs["greeting"] == "hi there; $(touch pwned)")
        #expect(outputs["pwd"].map { URL(fileURLWithPath: $0).resolvingSymlinksInPath().path }
                == URL(fileURLWithPath: dir.path).resolvingSymlinksInPath().path)
        #expect(outputs["multi"] == "line 1\nline 2")
        #expect(!dir.exists("pwned"))
        let text = dir.read("logs/t.1.log") ?? ""
        #expect(text.contains("to the log") && text.contains("to stderr"))
    }

    @Test("a non-zero exit fails with the status; 127 says the command was not found")
    func exitStatus() async throws {
        let (ctx, _) = try context("exit 3")
        await #expect {
            _ = try await ShellAction(groups: groups).run(ctx)
        } throws: { error in
            (error as? TaskFailure)?.exitCode == 3
        }
        let (ctx2, _) = try context("definitely-not-a-command-xyz")
        await #expect {
            _ = try await ShellAction(groups: groups).run(ctx2)
        } throws: { error in
            (error as? TaskFailure)?.message.contains("command not found") == true
        }
    }

    @Test("sh -e stops a script at its first failing command; bash adds pipefail")
    func strictShells() async throws {
        let (ctx, _) = try context("false\necho reached > reached.txt")
        await #expect(throws: TaskFailure.self) { _ = try await ShellAction(groups: groups).run(ctx) }
        #expect(!dir.exists("reached.txt"))
        let (ctx2, _) = try context("false | cat", shell: "bash")
        await #expect(throws: TaskFailure.self) { _ = try await ShellAction(groups: groups).run(ctx2) }
    }

    @Test("a background process holding stdout does not hang the task, and does not outlive it")
    func backgroundHolder() async throws {
        let (ctx, _) = try context("sleep 30 &\necho $! > bg.pid\necho done")
        let started = ContinuousClock.now
        _ = try await ShellAction(groups: groups).run(ctx)
        // A hang would last the background sleep's 30 s; the bound leaves room for a loaded machine.
        #expect(ContinuousClock.now - started < .seconds(10))
        let pid = try #require(Int32(dir.read("bg.pid")?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""))
        let gone = await FlowBinary.eventually(timeout: 3) { !ProcessScan.isRunning(pid) }
        #expect(gone, "the leftover background process was stopped")
    }

    @Test("cancelling kills the whole process group, even a grandchild that ignores SIGTERM")
    func cancellationKillsGroup() async throws {
        let (ctx, _) = try context("""
            sh -c 'trap "" TERM; echo $$ > stubborn.pid; sleep 60' &
            sleep 60 &
            echo $! > child.pid
            wait
            """, grace: .milliseconds(300))
        let task = Task { try await ShellAction(groups: groups).run(ctx) }
        #expect(await FlowBinary.eventually { dir.exists("stubborn.pid") && dir.exists("child.pid") })
        try await Task.sleep(for: .milliseconds(100))
        let started = ContinuousClock.now
        task.cancel()
        _ = try? await task.value
        // Grace is 300 ms; a missed SIGKILL would hang for the 60 s sleep. Sanitizer builds are slow, hence the margin.
        #expect(ContinuousClock.now - started < .seconds(10))
        for file in ["stubborn.pid", "child.pid"] {
            let pid = try #require(Int32(dir.read(file)?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""))
            #expect(await FlowBinary.eventually(timeout: 3) { !ProcessScan.isRunning(pid) }, "\(file) process survived")
        }
        #expect(groups.count == 0)
    }

    @Test("checkpoint lines are committed while the task still runs and restored as variables")
    func checkpointsWhileRunning() async throws {
        let saved = Saved()
        let (ctx, _) = try context("""
            echo "restored=$FLOW_CHECKPOINT_LAST_DAY" >> "$FLOW_OUTPUT"
            echo "last_day=2026-01-05" >> "$FLOW_CHECKPOINT"
            sleep 6
            echo "last_day=2026-01-06" >> "$FLOW_CHECKPOINT"
            """, checkpoint: ["last_day": "2026-01-04"], saved: saved)
        let finished = Saved()
        let task = Task {
            let outputs = try await ShellAction(groups: groups, checkpointInterval: .milliseconds(100)).run(ctx)
            finished.values.withLock { $0.append([:]) }
            return outputs
        }
        let committed = await FlowBinary.eventually(timeout: 5) { saved.values.withLock { !$0.isEmpty } }
        #expect(committed)
        #expect(finished.values.withLock { $0.isEmpty }, "the first checkpoint was committed while the task still ran")
        let outputs = try await task.value
        #expect(outputs["restored"] == "2026-01-04")
        #expect(saved.values.withLock { $0 }.last == ["last_day": "2026-01-06"])
    }

    @Test("a malformed $FLOW_OUTPUT line fails the task with its line number")
    func malformedOutput() async throws {
        let (ctx, _) = try context("echo 'not a pair' >> \"$FLOW_OUTPUT\"")
        await #expect {
            _ = try await ShellAction(groups: groups).run(ctx)
        } throws: { error in
            (error as? TaskFailure)?.message.contains("malformed line 1") == true
        }
    }
}
