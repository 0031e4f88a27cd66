import FlowCore
import FlowEngine
import FlowPlan
import FlowStore
import FlowTasks
import Foundation
import Logging

/// Runs a workflow end to end: lease, stale-run recovery, plan, engine, summary, exit code.
struct RunCoordinator {
    var project: Project
    var maxParallel: Int?
    var keepGoing: Bool
    var fresh: Bool
    var resumeID: RunID?
    var gracePeriod: Duration
    let logger = Logger(label: "flow.run")

    func run(workflowName: String, parameterValues: [String]) async throws(CommandFailure) -> FlowExit {
        let path = try project.locate(workflowName)
        let workflow = try project.load(path)
        let overrides = try RunSetup.overrides(parameterValues, for: workflow)
        let now = try RunSetup.clock()
        let store = try project.openStore()

        let lease: RunLease
        do {
            lease = try RunLease.acquire(workflow: workflow.name, store: store)
        } catch {
            switch error {
            case .held(let holder):
                var message = "flow: workflow '\(workflow.name)' is already running"
                var details: [String] = []
                if let run = holder.runID { details.append("run \(run)") }
                if let pid = holder.pid { details.append("pid \(pid)") }
                if let host = holder.host { details.append("on \(host)") }
                if let at = holder.acquiredAt { details.append("since \(ISOTime.format(at))") }
                if !details.isEmpty { message += " (\(details.joined(separator: ", ")))" }
                throw CommandFailure(.alreadyRunning, message + "\nnote: wait for it to finish, or stop it with: kill -INT \(holder.pid.map(String.init) ?? "PID")")
            case .failed(let reason):
                throw CommandFailure(.internalError, "flow: \(reason)")
            }
        }
        defer { lease.release() }
        try await recoverStaleRuns(of: workflow.name, store: store)

        var setup = try RunSetup.prepare(workflow, store: store, overrides: overrides, fresh: fresh, resumeID: resumeID,
                                         actionVersions: project.actionVersions, now: now)
        let runID: RunID
        let pid = getpid()
        do {
            if let resuming = setup.resuming {
                runID = resuming.id
                try store.reopenRun(runID, params: setup.params, overrides: setup.overrides, pid: pid, lease: lease)
                let reused = setup.plan.reuseCount
                Console.out("resuming run \(runID) from its checkpoint: \(reused) of \(workflow.tasks.count) tasks done; --fresh starts over")
            } else {
                runID = try store.createRun(workflow: workflow.name, workflowPath: path, params: setup.params, overrides: setup.overrides,
                                            startedAt: setup.startedAt, pid: pid, lease: lease)
                Console.out("run \(runID) of '\(workflow.name)': \(workflow.tasks.count) task\(workflow.tasks.count == 1 ? "" : "s")")
            }
        } catch {
            throw CommandFailure(.internalError, "flow: \(error)")
        }
        setup.scope.runID = runID
        logger.debug("state database \(store.path); logs in \(project.options.stateDirectory)/logs/\(runID)")
        for index in setup.plan.order {
            let decision = setup.plan.decisions[index]
            logger.debug("plan: \(decision.kind.rawValue) \(workflow.tasks[index].id): \(decision.reason)")
        }

        let console = Console()
        console.begin(total: workflow.tasks.count, width: workflow.tasks.map(\.id.rawValue.count).max() ?? 8)
        let options = EngineOptions(
            maxParallel: maxParallel ?? workflow.maxParallel, keepGoing: keepGoing, gracePeriod: gracePeriod,
            logDirectory: project.options.stateDirectory + "/logs", scratchDirectory: project.options.stateDirectory + "/tmp",
            projectDirectory: project.options.projectDirectory, now: now)
        var engineOptions = options
        engineOptions.taskEnvironment = ["FLOW_STATE": store.path]
        let engine = Engine(registry: project.registry, store: store, options: engineOptions, events: { console.handle($0) })
        let started = ContinuousClock.now
        let plan = setup.plan
        let scope = setup.scope
        let execution = Task { await engine.run(plan, runID: runID, scope: scope) }
        let signals = SignalForwarder()
        signals.install(groups: project.groups) { _ in execution.cancel() }
        let outcome = await execution.value
        // Background processes that finished tasks left behind get their grace period and SIGKILL before the
        // run ends: none outlives flow.
        await project.groups.awaitLeftovers()
        let elapsed = ContinuousClock.now - started

        do {
            try store.finishRun(runID, status: outcome.status, error: outcome.internalError, releasing: lease)
        } catch {
            Console.err("flow: \(error)")
            return .internalError
        }
        printSummary(runID: runID, workflow: workflow.name, outcome: outcome, elapsed: elapsed, console: console)
        printTaskSummaries(runID: runID, workflow: workflow, store: store)
        if let error = outcome.internalError {
            Console.err("flow: \(error)")
            return .internalError
        }
        switch outcome.status {
        case .succeeded: return .success
        case .interrupted: return .interrupted
        case .failed, .running: return .taskFailed
        }
    }

    /// A run still marked `running` while we hold the lease was left by a dead runner: mark it
    /// interrupted and kill the process groups its tasks left behind, before anything resumes.
    private func recoverStaleRuns(of workflow: String, store: StateStore) async throws(CommandFailure) {
        do {
            for run in try store.staleRuns(of: workflow) {
                let record = try store.run(run)
                var groups = try store.markInterrupted(run, reason: "the runner (pid \(record?.pid.map(String.init) ?? "?")) died")
                // Also processes started after the last recorded pid (the runner died between spawn and record).
                groups = Array(Set(groups + ProcessGroups.groupsTagged(runID: run, statePath: store.path))).sorted()
                logger.info("run \(run) is marked running but no process holds its lease; recovering it", metadata: ["groups": "\(groups)"])
                let killed = await ProcessGroups.killOrphans(groups, grace: gracePeriod)
                var line = "flow: run \(run) was left running by a process that is gone; marked it interrupted"
                if killed > 0 { line += " and stopped \(killed) orphaned task process group\(killed == 1 ? "" : "s")" }
                Console.err(line)
            }
        } catch {
            throw CommandFailure(.internalError, "flow: \(error)")
        }
    }

    /// Outputs named `summary` are the run's report: shown after the run's own summary line.
    private func printTaskSummaries(runID: RunID, workflow: Workflow, store: StateStore) {
        guard let summaries = try? store.succeededOutputs(of: runID, key: "summary"), !summaries.isEmpty else { return }
        for task in workflow.tasks {
            guard let summary = summaries[task.id], !summary.isEmpty else { continue }
            for line in summary.split(separator: "\n") { Console.out("\(task.id): \(line)") }
        }
    }

    private func printSummary(runID: RunID, workflow: String, outcome: RunOutcome, elapsed: Duration, console: Console) {
        var counts: [TaskStatus: Int] = [:]
        for status in outcome.statuses.values { counts[status, default: 0] += 1 }
        let order: [TaskStatus] = [.succeeded, .failed, .timedOut, .skipped, .interrupted, .pending]
        let parts = order.compactMap { status -> String? in
            guard let n = counts[status], n > 0 else { return nil }
            return "\(n) \(status == .pending ? "not started" : Console.word(status))"
        }
        var line = "run \(runID) \(console.paint(outcome.status)) in \(DurationFormat.format(elapsed)): \(parts.joined(separator: ", "))"
        if outcome.status != .succeeded { line += "\nlogs: flow logs \(runID)" }
        if outcome.status == .failed || outcome.status == .interrupted { line += "   resume: flow run \(workflow)" }
        Console.out(line)
    }
}
