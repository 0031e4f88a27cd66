import FlowCore
import FlowProcess
import FlowEngine
import FlowPlan
import FlowStore
import FlowTasks
import Foundation
import Logging
import Synchronization

/// Runs a workflow end to end: lease, stale-run recovery, plan, engine, summary, exit code.
struct RunCoordinator {
    var project: Project
    var maxParallel: Int?
    var keepGoing: Bool
    var fresh: Bool
    /// `flow resume`: the run it names, read through the store this coordinator then uses for everything.
    var resume: (store: StateStore, run: RunRecord)?
    /// A run the scheduler starts for a tick: its instant and the start of its interval (seconds UTC). The run
    /// is attached to the tick's ledger row in the commit that creates it.
    var tick: (at: Int64, intervalStart: Int64?)? = nil
    /// The state database a caller already holds open (a scheduler pass), so this process keeps one connection.
    var openStore: StateStore? = nil
    /// A `notify_missed` run: only that task of the workflow, alone (its `needs` and `if:` do not apply), told
    /// which ticks were missed. Recorded as the workflow `NAME+missed`, apart from the workflow's own runs.
    var missed: (task: TaskID, ticks: [MissedTick])? = nil
    /// `--only` and `--from` as given.
    var selecting: (only: [String], from: [String]) = ([], [])
    var gracePeriod: Duration
    let logger = Logger(label: "flow.run")

    /// The one-task workflow a `notify_missed` run executes.
    static func notifying(_ workflow: Workflow, with task: TaskID) -> Workflow {
        var alone = workflow.task(task).map { [$0] } ?? []
        for i in alone.indices {
            alone[i].needs = []
            alone[i].condition = nil
        }
        var notifying = Workflow(name: workflow.name + "+missed", description: workflow.description, path: workflow.path,
                                 params: workflow.params, env: workflow.env, maxParallel: 1, schedule: nil, tasks: alone)
        (notifying.secrets, notifying.secretParams, notifying.envFile) = (workflow.secrets, workflow.secretParams, workflow.envFile)
        return notifying
    }

    func run(workflowName: String, parameterValues: [String]) async throws(CommandFailure) -> FlowExit {
        // Before anything can start a task: a Ctrl-C at any moment from here on is heard and recorded.
        let signals = SignalForwarder(groups: project.groups)
        let lastResort = LastResort()
        signals.install { lastResort.run() }
        // A task's `setsid` daemon becomes flow's child when its parent ends, so it can be found and stopped.
        ProcessGroups.adoptOrphans()
        let path = try project.locate(workflowName)
        var workflow = try project.load(path)
        if let missed { workflow = RunCoordinator.notifying(workflow, with: missed.task) }
        // Started by a `uses: workflow` task: linked to it, with the params it gives.
        let parent = try ChildRun.parentLink()
        var overrides = try RunSetup.overrides(parameterValues, for: workflow)
        if parent != nil {
            for (k, v) in try RunSetup.overrides(try ChildRun.params(), for: workflow, fromCommandLine: false) { overrides[k] = v }
        }
        let selection = try SelectionOptions.selection(selecting, for: workflow)
        let now = try RunSetup.clock()
        let store: StateStore
        if let given = resume?.store ?? openStore { store = given } else { store = try project.openStore() }

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
        do {
            try project.checkNameIsOwn(workflow, latestRunPath: try store.latestRun(of: workflow.name)?.workflowPath)
        } catch let failure as CommandFailure {
            throw failure
        } catch {
            throw CommandFailure(.internalError, "flow: \(error)")
        }

        let secrets = try RunSecrets.load(for: workflow, projectDirectory: project.options.projectDirectory,
                                          stateDirectory: project.options.stateDirectory)
        let setup = try RunSetup.decide(workflow, store: store, overrides: overrides, fresh: fresh, resumeID: resume?.run.id, now: now,
                                        secrets: secrets, selection: selection, parent: parent)
        if signals.isInterrupted { return .interrupted }
        if setup.selection != nil, workflow.tasks.contains(where: { $0.foreach != nil }) {
            throw CommandFailure(.usage, "flow: --only and --from do not work with foreach tasks yet\nnote: run the whole workflow")
        }
        // A selection whose upstream cannot be reused is refused before any run is recorded.
        if setup.selection != nil {
            let (preview, _) = try setup.plan(runID: setup.resuming?.id ?? 0, store: store, actionVersions: project.actionVersions,
                                              secrets: secrets)
            if let refusal = SelectionOptions.refusal(preview) { throw refusal }
        }
        // The run's row comes first, so its scope — the id included — is complete before anything is planned.
        let runID: RunID
        let pid = getpid()
        do {
            if let resuming = setup.resuming {
                runID = resuming.id
                try store.reopenRun(runID, params: secrets.stored(setup.params), overrides: secrets.stored(setup.overrides), pid: pid, lease: lease)
            } else {
                runID = try store.createRun(workflow: workflow.name, workflowPath: path, params: secrets.stored(setup.params),
                                            overrides: secrets.stored(setup.overrides),
                                            startedAt: setup.startedAt, pid: pid, lease: lease, tick: tick, selection: setup.selection,
                                            parent: parent)
            }
        } catch {
            throw CommandFailure(.internalError, "flow: \(error)")
        }
        lastResort.set { _ = try? store.markInterrupted(runID, reason: "flow was stopped by a third signal") }
        if parent != nil { ChildRun.tellParent(runID) }
        // A resumed scheduled run keeps its tick.
        let scheduled = setup.resuming.flatMap { run in run.scheduledFor.map { (at: $0, intervalStart: run.intervalStart) } } ?? tick
        let tickFields = RunSetup.tickFields(scheduled)
        // A foreach task and what follows it wait until its list exists: the run goes in parts (ForeachExpansion).
        var current = workflow
        var part = setup
        part.workflow = Self.runnable(current)
        var (plan, scope) = try part.plan(runID: runID, store: store, actionVersions: project.actionVersions, schedule: tickFields,
                                          secrets: secrets)
        scope.missedTicks = missed?.ticks ?? []
        let params = setup.nonDefaultParams
        if setup.resuming != nil {
            // `flow resume` has no --fresh: only `flow run` can start over.
            var line = "resuming run \(runID) from its checkpoint: \(plan.reuseCount) of \(workflow.tasks.count) tasks done"
                + (resume == nil ? "; --fresh starts over" : "")
            if !params.isEmpty { line += "\n  with \(resume == nil ? "the same" : "its stored") params: \(params)" }
            Console.out(line)
        } else {
            if let why = setup.notResumed { Console.out("\(why); starting run \(runID)") }
            var line = "run \(runID) of '\(workflow.name)': \(workflow.tasks.count) task\(workflow.tasks.count == 1 ? "" : "s")"
            if !params.isEmpty { line += " with params: \(params)" }
            if let selection = setup.selection {
                line += "\n  \(selection.label): \(plan.runCount) to run, \(plan.reuseCount) reused from earlier runs, "
                    + "\(plan.decisions.filter { $0.kind == .skip }.count) left out"
            }
            Console.out(line)
        }
        logger.debug("state database \(store.path); logs in \(project.options.stateDirectory)/logs/\(runID)")
        for index in plan.order {
            let decision = plan.decisions[index]
            logger.debug("plan: \(decision.kind.rawValue) \(workflow.tasks[index].id): \(decision.reason)")
        }

        let console = Console()
        console.begin(total: workflow.tasks.count, width: workflow.tasks.map(\.id.displayName.count).max() ?? 8)
        let options = EngineOptions(
            maxParallel: maxParallel ?? workflow.maxParallel, keepGoing: keepGoing, gracePeriod: gracePeriod,
            logDirectory: project.options.stateDirectory + "/logs", scratchDirectory: project.options.stateDirectory + "/tmp",
            projectDirectory: project.options.projectDirectory, now: now)
        var engineOptions = options
        engineOptions.taskEnvironment = ["FLOW_STATE": store.path]
        for field in RunScheduleField.allCases { engineOptions.taskEnvironment[field.environmentName] = tickFields[field] ?? "" }
        if let missed { engineOptions.taskEnvironment["FLOW_MISSED_TICKS"] = missed.ticks.map(\.tick).joined(separator: " ") }
        // What made this a child run is not passed on: a child's own tasks are no child runs.
        engineOptions.inherited = secrets.inherited.filter { !ChildRun.variables.contains($0.key) }
        let masker = secrets.masker(params: setup.params)
        engineOptions.masker = masker
        let (groups, inherited) = (project.groups, InheritedEnvironment(engineOptions.inherited))
        let engine = Engine(registry: project.registry, store: store, options: engineOptions,
                            runner: { folder in ProcessCommandRunner(groups: groups, logFolder: folder, inherited: inherited, masker: masker) },
                            events: { console.handle($0) })
        let started = ContinuousClock.now
        func runPart(_ plan: ExecutionPlan, _ scope: EvaluationScope) async -> RunOutcome {
            let execution = Task { await engine.run(plan, runID: runID, scope: scope) }
            signals.attach(execution)
            return await execution.value
        }
        var outcome = await runPart(plan, scope)
        var statuses = outcome.statuses
        var settled = Set(part.workflow.tasks.map(\.id))
        var known: [TaskID: [ForeachItem]] = [:]
        // With --keep-going a failure elsewhere does not hold back a foreach whose own upstream went well.
        var failedEarlier = false
        while outcome.status == .succeeded || (keepGoing && outcome.status == .failed), outcome.internalError == nil,
              !current.waitingForItems.isEmpty, !signals.isInterrupted {
            failedEarlier = failedEarlier || outcome.status == .failed
            var listed = scope
            let ended: Set<TaskID>
            do {
                let states = try store.taskStates(of: runID)
                listed.outputs = states.filter { $0.value.status == .succeeded }.mapValues(\.outputs)
                ended = Set(states.filter { $0.value.status == .succeeded || $0.value.status == .skipped }.keys)
            } catch {
                // The run is recorded ended, not left `running` for a later recovery.
                outcome.internalError = "cannot read the run's outputs for its foreach lists: \(error)"
                break
            }
            let (lists, failure) = ForeachExpansion.lists(in: current, ready: ended.intersection(settled), scope: listed)
            if let failure {
                _ = try? store.taskSettled(run: runID, task: failure.task, status: .failed, reason: masker.mask(failure.error), at: Date())
                Console.err("flow: task '\(failure.task)' failed: \(masker.mask(failure.error))")
                statuses[failure.task] = .failed
                outcome.status = .failed
                break
            }
            guard !lists.isEmpty else { break }
            for (task, items) in lists { known[task] = items }
            do {
                current = try project.expand(workflow, foreachItems: known)
                part.workflow = Self.runnable(current)
                (plan, scope) = try part.plan(runID: runID, store: store, actionVersions: project.actionVersions, schedule: tickFields,
                                              secrets: secrets, settled: settled)
            } catch {
                Console.err(error.message)
                outcome.status = .failed
                break
            }
            for (task, items) in lists where items.isEmpty {
                _ = try? store.taskSettled(run: runID, task: task, status: .skipped, reason: "foreach over an empty list", at: Date())
                statuses[task] = .skipped
            }
            scope.missedTicks = missed?.ticks ?? []
            let added = lists.map { "\($0.key) (\($0.value.count) item\($0.value.count == 1 ? "" : "s"))" }.sorted().joined(separator: ", ")
            Console.out("foreach: \(added); \(part.workflow.tasks.count - settled.count) more task\(part.workflow.tasks.count - settled.count == 1 ? "" : "s")")
            console.continueRun(total: part.workflow.tasks.count, reported: settled)
            outcome = await runPart(plan, scope)
            statuses.merge(outcome.statuses) { $1 }
            settled.formUnion(part.workflow.tasks.map(\.id))
        }
        if outcome.status == .succeeded, signals.isInterrupted { outcome.status = .interrupted }
        if outcome.status == .succeeded, failedEarlier { outcome.status = .failed }
        outcome.statuses = statuses
        console.end()
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
        // A child run is resumed through its parent, whose task resumes it.
        let hint = parent.map { "flow resume \($0.run) (its parent run)" }
            ?? resumeHint(workflowName, overrides: setup.overrides, secret: workflow.secretParams, runID: runID)
        printSummary(runID: runID, resumeHint: hint,
                     outcome: outcome,
                     elapsed: elapsed, console: console)
        printTaskSummaries(runID: runID, workflow: current, store: store)
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

    /// The tasks of `workflow` that wait for no foreach list (all of them, without foreach tasks).
    static func runnable(_ workflow: Workflow) -> Workflow {
        let waiting = workflow.waitingForItems
        return waiting.isEmpty ? workflow : workflow.keeping(Set(workflow.tasks.indices).subtracting(waiting))
    }

    /// A run still marked `running` while we hold the lease was left by a dead runner: mark it
    /// interrupted and kill the process groups its tasks left behind, before anything resumes.
    private func recoverStaleRuns(of workflow: String, store: StateStore) async throws(CommandFailure) {
        do {
            for run in try store.staleRuns(of: workflow) {
                let record = try store.run(run)
                // The lock is only a file: if someone deleted it, holding "the" lease proves nothing. The run's
                // own runner, if it is still alive, keeps its run.
                if let record, record.pid != getpid(), store.runnerIsAlive(record, processStart: ProcessTable.startTime) {
                    throw CommandFailure(.alreadyRunning, """
                        flow: workflow '\(workflow)' is already running (run \(run), pid \(record.pid.map(String.init) ?? "?"))
                        note: its lock file \(RunLease.lockPath(for: workflow, store: store)) was removed while it ran; wait for it to finish
                        """)
                }
                Console.err(try await Self.recover(run, pid: record?.pid, store: store, grace: gracePeriod))
            }
        } catch let failure as CommandFailure {
            throw failure
        } catch {
            throw CommandFailure(.internalError, "flow: \(error)")
        }
    }

    /// A run marked running whose runner is gone (the caller holds its workflow's lease): marked interrupted,
    /// and every process group it left — recorded, or found by its environment tag — stopped. Says so in a line.
    static func recover(_ run: RunID, pid: Int32?, store: StateStore, grace: Duration) async throws -> String {
        var groups = try store.markInterrupted(run, reason: "the runner (pid \(pid.map(String.init) ?? "?")) died")
        // Also processes started after the last recorded pid (the runner died between spawn and record).
        groups = Array(Set(groups + ProcessGroups.groupsTagged(runID: run, statePath: store.path))).sorted()
        Logger(label: "flow.run").info("run \(run) is marked running but no process holds its lease; recovering it", metadata: ["groups": "\(groups)"])
        let killed = await ProcessGroups.killOrphans(groups, grace: grace)
        var line = "flow: run \(run) was left running by a process that is gone; marked it interrupted"
        if killed > 0 { line += " and stopped \(killed) orphaned task process group\(killed == 1 ? "" : "s")" }
        return line
    }

    /// Outputs named `summary` are the run's report: shown after the run's own summary line.
    private func printTaskSummaries(runID: RunID, workflow: Workflow, store: StateStore) {
        guard let summaries = try? store.succeededOutputs(of: runID, key: "summary"), !summaries.isEmpty else { return }
        for task in workflow.tasks {
            guard let summary = summaries[task.id], !summary.isEmpty else { continue }
            for line in summary.split(separator: "\n") { Console.out("\(task.id): \(line)") }
        }
    }

    /// A command that resumes this run from where the user stands: the workflow as they named it (a path stays
    /// a path) with the run's -p values, since a plain `flow run` with other params starts a new run.
    /// A secret param's value is not printed: the hint says where it goes.
    func resumeHint(_ workflowArgument: String, overrides: [String: String], secret: Set<String> = [], runID: RunID) -> String {
        if resume != nil { return "flow resume \(runID)" }
        var words = ["flow", "run", ShellQuote.word(workflowArgument)]
        for key in overrides.keys.sorted() {
            words += ["-p", secret.contains(key) ? "\(key)=VALUE" : ShellQuote.word("\(key)=\(overrides[key] ?? "")")]
        }
        return words.joined(separator: " ")
    }

    private func printSummary(runID: RunID, resumeHint: String, outcome: RunOutcome, elapsed: Duration, console: Console) {
        var counts: [TaskStatus: Int] = [:]
        for status in outcome.statuses.values { counts[status, default: 0] += 1 }
        let order: [TaskStatus] = [.succeeded, .failed, .timedOut, .skipped, .interrupted, .pending]
        let parts = order.compactMap { status -> String? in
            guard let n = counts[status], n > 0 else { return nil }
            return "\(n) \(status == .pending ? "not started" : Console.word(status))"
        }
        var line = "run \(runID) \(console.paint(outcome.status)) in \(DurationFormat.format(elapsed)): \(parts.joined(separator: ", "))"
        if outcome.status != .succeeded { line += "\nlogs: flow logs \(runID)" }
        if outcome.status == .failed || outcome.status == .interrupted { line += "   resume: \(resumeHint)" }
        Console.out(line)
    }
}

/// Words quoted for a POSIX shell, so that a hint flow prints can be pasted as it is.
enum ShellQuote {
    static func word(_ text: String) -> String {
        let plain = !text.isEmpty && text.unicodeScalars.allSatisfy {
            ($0.isASCII && ($0.properties.isAlphabetic || $0.properties.numericType != nil)) || "-_./=:,@+%".unicodeScalars.contains($0)
        }
        if plain { return text }
        return "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}

/// What a third signal does before flow exits: once the run exists, record it interrupted.
final class LastResort: Sendable {
    private let action = Mutex<(@Sendable () -> Void)?>(nil)

    func set(_ body: @escaping @Sendable () -> Void) { action.withLock { $0 = body } }

    func run() { action.withLock { $0 }?() }
}
