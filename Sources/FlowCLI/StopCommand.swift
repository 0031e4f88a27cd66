import FlowCore
import FlowProcess
import FlowStore
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// `flow stop NAME|RUN [--kill]`: asks the runner that holds a run to stop, as Ctrl-C would, and waits for the run
/// to be recorded interrupted. The runner is the pid of the run's row, signalled only while its start time (from
/// /proc) is before the run's last write — a reused pid is never signalled. A run whose runner is gone is recovered
/// here instead: marked interrupted, its orphaned task processes stopped.
struct StopCommand: Subcommand {
    static let spec = CommandSpec(
        name: "stop", abstract: "Stop a running run as Ctrl-C would, and wait until it is recorded interrupted.",
        arguments: [.init(name: "target", help: "A workflow (its running run) or a run id.")],
        options: [
            .init(name: "kill", help: "If the run has not ended after the grace period, stop every task at once (a second Ctrl-C)."),
            ExecutionOptions.grace,
            .init(name: "wait", value: "duration", help: "How long to wait for the run to end (default: 30s)."),
        ] + GlobalOptions.options)

    var global: GlobalOptions
    var target: String
    var kill: Bool
    var grace: String
    var wait: String

    init(_ arguments: ParsedArguments) {
        global = GlobalOptions(arguments)
        target = arguments.required("target")
        if RunID(target) == nil { global = global.anchored(at: target) }
        kill = arguments.flag("kill")
        grace = arguments.value("grace") ?? "5s"
        wait = arguments.value("wait") ?? "30s"
    }

    func run() async throws {
        try LogSetup.bootstrap(global.logLevel)
        let graceDuration = try ExecutionOptions.gracePeriod(grace)
        guard let waitDuration = DurationFormat.parse(wait), waitDuration > .zero else {
            throw ParsedArguments.usage(Self.spec, "--wait takes a duration such as 30s, not '\(Console.shown(wait))'")
        }
        let project = Project(options: global)
        guard let store = try project.existingStore() else { throw CommandFailure(.notFound, "flow: no runs yet") }
        let record = try find(project, store: store)
        guard record.status == .running else {
            throw CommandFailure(.taskFailed, "flow: run \(record.id) of '\(record.workflow)' is not running (it \(record.status.rawValue))")
        }
        guard let pid = record.pid, store.runnerIsAlive(record, processStart: ProcessTable.startTime) else {
            return try await recover(record, store: store, grace: graceDuration)
        }
        Glibc.kill(pid, SIGINT)
        Console.out("flow: asked run \(record.id) of '\(record.workflow)' to stop (SIGINT to its runner, pid \(pid))")
        let started = ContinuousClock.now
        var escalated = false
        while ContinuousClock.now - started < waitDuration {
            guard let now = try? store.run(record.id) else { break }
            if now.status != .running {
                return Console.out("run \(record.id) \(now.status.rawValue)")
            }
            if !store.runnerIsAlive(now, processStart: ProcessTable.startTime) {
                return try await recover(now, store: store, grace: graceDuration)
            }
            if kill, !escalated, ContinuousClock.now - started >= graceDuration {
                // The runner's second signal: every task's group is killed at once and the run recorded interrupted.
                Glibc.kill(pid, SIGINT)
                escalated = true
                Console.out("flow: run \(record.id) still going after \(DurationFormat.format(graceDuration)); killing its tasks")
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw CommandFailure(.taskFailed, "flow: run \(record.id) did not end within \(DurationFormat.format(waitDuration))"
                             + (kill ? "" : "; try again with --kill"))
    }

    private func find(_ project: Project, store: StateStore) throws(CommandFailure) -> RunRecord {
        do {
            if let id = RunID(target) {
                guard id > 0, let record = try store.run(id) else { throw CommandFailure(.notFound, "flow: no run \(id)") }
                return record
            }
            let workflow = try project.load(try project.locate(target))
            guard let record = try store.latestRun(of: workflow.name) else {
                throw CommandFailure(.notFound, "flow: '\(workflow.name)' has not run yet")
            }
            return record
        } catch let failure as CommandFailure {
            throw failure
        } catch {
            throw CommandFailure(.internalError, "flow: \(error)")
        }
    }

    /// The runner is gone: with the workflow's lease held (so no new runner races this), the run is recovered.
    private func recover(_ record: RunRecord, store: StateStore, grace: Duration) async throws {
        let lease: RunLease
        do {
            lease = try RunLease.acquire(workflow: record.workflow, store: store)
        } catch {
            throw CommandFailure(.alreadyRunning, "flow: '\(record.workflow)' is being run by another process; run \(record.id) is left to it")
        }
        defer { lease.release() }
        guard let now = try? store.run(record.id), now.status == .running else {
            return Console.out("run \(record.id) \((try? store.run(record.id))?.status.rawValue ?? "ended")")
        }
        do {
            Console.out(try await RunCoordinator.recover(record.id, pid: record.pid, store: store, grace: grace))
        } catch {
            throw CommandFailure(.internalError, "flow: \(error)")
        }
        Console.out("run \(record.id) interrupted")
    }
}
