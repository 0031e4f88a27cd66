import FlowCore
import FlowPlan
import FlowProcess
import FlowSpec
import FlowStore
import Foundation

/// One scheduler pass over one workflow (`flow schedule tick`): finish what an earlier pass started, decide the
/// ticks due since the watermark by the catch-up and overlap policies, record them, then run the runs they start,
/// oldest first. Idempotent: the ledger has one row per tick and the watermark moves only in the transaction that
/// records them, so two passes at once decide each tick once.
struct SchedulePass {
    var project: Project
    /// One connection for the whole pass over every workflow.
    var store: StateStore
    var now: Int64
    var gracePeriod: Duration

    /// How many due ticks one pass looks at; older ones (a minutely schedule down for weeks) are not recorded.
    static let maxDue = 10_000

    struct Result {
        var ran = 0
        var failed = 0
    }

    /// `workflow` as loaded from `path`.
    func run(_ workflow: Workflow, path: String) async throws(CommandFailure) -> Result {
        guard let schedule = workflow.schedule, let zone = ZoneNames.zone(named: schedule.timeZone) else { return Result() }
        // One pass per workflow at a time; another one deciding it now makes this one a no-op.
        let lock: RunLease
        do {
            lock = try RunLease.acquire(workflow: workflow.name + "+schedule", store: store)
        } catch {
            Console.out("\(workflow.name): another scheduler pass is deciding its ticks; left to it")
            return Result()
        }
        defer { lock.release() }
        let ticks = CronSchedule(schedule.expressions, timeZone: zone)
        var result = Result()
        do {
            var pending = try resumable(workflow.name, store: store)
            let key = schedule.expressions.map(\.source).joined(separator: " | ") + " @ " + schedule.timeZone
            let mark = try store.watermark(of: workflow.name)
            guard let mark, mark.schedule == key else {
                // New, or changed: nothing before now is run or recorded, so enabling a schedule never floods.
                _ = try store.decideTicks(of: workflow.name, schedule: key, expected: mark?.watermark, watermark: now, entries: [])
                Console.out("\(workflow.name): schedule \(mark == nil ? "starts" : "changed"); ticks after \(ISOTime.format(now)) will run"
                            + (ticks.ticks(after: now, count: 1).first.map { "; next \($0.utcText) (\($0.localText))" } ?? ""))
                return try await start(pending, of: workflow, path: path, store: store, ticks: ticks, into: &result)
            }
            let due = ticks.ticks(after: mark.watermark, through: now, limit: Self.maxDue).map(\.utc)
            // Nothing due: nothing to record, and the watermark can stay (the next pass finds the same ticks due
            // after it, and later ones), which keeps a pass over idle workflows free of writes.
            guard !due.isEmpty else {
                return try await start(pending, of: workflow, path: path, store: store, ticks: ticks, into: &result)
            }
            let active = try runIsActive(workflow.name, store: store)
            let entries = TickDecision.decide(schedule, due: due, now: now, runActive: active)
            guard try store.decideTicks(of: workflow.name, schedule: key, expected: mark.watermark, watermark: now,
                                        entries: entries.map { ($0.tick, $0.outcome.rawValue) }) else {
                Console.out("\(workflow.name): another scheduler pass decided its ticks first")
                return result
            }
            for entry in entries where !entry.outcome.startsRun {
                Console.out("\(workflow.name): tick \(ISOTime.format(entry.tick)) \(entry.outcome.rawValue)")
            }
            let misses = entries.filter(\.outcome.isMiss)
            if let task = schedule.notifyMissed, !misses.isEmpty {
                // Before the runs: a long catch-up run must not delay the news that evenings were lost.
                let missed = misses.map { entry in
                    MissedTick(tick: ISOTime.format(entry.tick), local: ticks.tick(at: entry.tick).localText, status: entry.outcome.rawValue)
                }
                try await notify(workflow, path: path, task: task, missed: missed)
            }
            pending += entries.filter(\.outcome.startsRun).map { Pending(tick: $0.tick, resume: nil) }
            return try await start(pending, of: workflow, path: path, store: store, ticks: ticks, into: &result)
        } catch let failure as CommandFailure {
            throw failure
        } catch {
            throw CommandFailure(.internalError, "flow: \(error)")
        }
    }

    /// Runs the `notify_missed` task alone, once for this pass's misses. Its failure is its own run's: the pass
    /// goes on to the ticks that run.
    private func notify(_ workflow: Workflow, path: String, task: TaskID, missed: [MissedTick]) async throws(CommandFailure) {
        Console.out("\(workflow.name): \(missed.count) missed tick\(missed.count == 1 ? "" : "s"); notifying with task '\(task)'")
        let coordinator = RunCoordinator(project: project, maxParallel: nil, keepGoing: false, fresh: true, resume: nil,
                                         openStore: store, missed: (task, missed), gracePeriod: gracePeriod)
        do {
            _ = try await coordinator.run(workflowName: path, parameterValues: [])
        } catch let failure where failure.exit == .alreadyRunning {
            Console.out("\(workflow.name): a notification of missed ticks is already running; not sent twice")
        }
    }

    /// After a scheduled run: the workflow's `retention:` applied, so a schedule's history does not grow forever.
    private func applyRetention(_ workflow: Workflow) {
        let pruner = Pruner(store: store, stateDirectory: project.options.stateDirectory)
        guard let result = try? pruner.prune(workflow.name, keepRuns: workflow.retention.runs, keepDays: workflow.retention.days,
                                             now: Date(), dryRun: false),
              !result.runs.isEmpty else { return }
        Console.out("\(workflow.name): retention deleted \(result.runs.count) old run\(result.runs.count == 1 ? "" : "s") (\(Pruner.bytes(result.bytes)) of logs)")
    }

    /// A tick whose run is to start (or, with `resume`, to resume).
    struct Pending {
        var tick: Int64
        var resume: RunRecord?
    }

    /// Ticks decided earlier whose run never started (the pass died, or the workflow was busy), was left by a
    /// dead runner, or was queued behind a run that has ended: run now, never decided again.
    private func resumable(_ workflow: String, store: StateStore) throws -> [Pending] {
        var pending: [Pending] = []
        let open = try store.unfinishedTicks(of: workflow)
        guard !open.isEmpty else { return [] }
        let active = try runIsActive(workflow, store: store)
        for entry in open {
            if entry.status == TickDecision.Outcome.queued.rawValue {
                guard !active else { continue }
                try store.setTickStatus(of: workflow, tick: entry.tick, to: TickDecision.Outcome.ran.rawValue)
                pending.append(Pending(tick: entry.tick, resume: nil))
                continue
            }
            guard TickDecision.Outcome(rawValue: entry.status)?.startsRun == true else { continue }
            guard let runID = entry.runID else {
                if !active { pending.append(Pending(tick: entry.tick, resume: nil)) }
                continue
            }
            guard let record = try store.run(runID) else { continue }
            let gone = record.status == .running && !store.runnerIsAlive(record, processStart: ProcessTable.startTime)
            if record.status == .interrupted || gone { pending.append(Pending(tick: entry.tick, resume: record)) }
        }
        return pending
    }

    private func runIsActive(_ workflow: String, store: StateStore) throws -> Bool {
        guard let latest = try store.latestRun(of: workflow), latest.status == .running else { return false }
        return store.runnerIsAlive(latest, processStart: ProcessTable.startTime)
    }

    /// Runs the pending ticks oldest first, each as its own run (a resumed one as the run it was).
    private func start(_ pending: [Pending], of workflow: Workflow, path: String, store: StateStore, ticks: CronSchedule,
                       into result: inout Result) async throws(CommandFailure) -> Result {
        for item in pending.sorted(by: { $0.tick < $1.tick }) {
            let intervalStart = ticks.tick(before: item.tick)?.utc
            Console.out("\(workflow.name): tick \(ISOTime.format(item.tick)) \(item.resume == nil ? "runs" : "resumes run \(item.resume?.id ?? 0)")")
            let coordinator = RunCoordinator(project: project, maxParallel: nil, keepGoing: false, fresh: item.resume == nil,
                                             resume: item.resume.map { (store, $0) }, tick: (item.tick, intervalStart), openStore: store,
                                             gracePeriod: gracePeriod)
            do {
                let exit = try await coordinator.run(workflowName: path, parameterValues: [])
                if exit == .success { result.ran += 1 } else { result.failed += 1 }
                if exit == .interrupted { break }
                applyRetention(workflow)
            } catch let failure where failure.exit == .alreadyRunning {
                // Someone runs the workflow by hand: the tick stays decided with no run, and runs at the next pass.
                Console.out("\(workflow.name): tick \(ISOTime.format(item.tick)) waits: the workflow is running")
                break
            }
        }
        return result
    }
}
