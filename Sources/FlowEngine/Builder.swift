import FlowCore
import FlowPlan
import Foundation
import Synchronization

/// Drives one run on a thread of its own, the way ninja's builder does: it asks the `RunPlan` what is ready,
/// commits each decision with the ends that caused it in one transaction, starts what was committed, and waits
/// in the `CommandRunner` for any process to exit, a message, or its nearest deadline. Every attempt of every
/// task — first, retry, resume — is started, timed out, stopped, retried and recorded here: a process task
/// through the runner, any other action as a Swift task that posts its end back. Timeouts, SIGKILL after the
/// grace period, retry backoffs, checkpoint polls and the write of queued pids are the loop's deadlines.
final class Builder {
    enum Message: Sendable {
        /// An in-process attempt ended.
        case finished(key: UInt64, Result<[String: String], TaskFailure>)
        case cancel
    }

    /// Where other threads leave messages for the loop; posting wakes the runner's wait.
    final class Mailbox: Sendable {
        private struct State {
            var messages: [Message] = []
            var wake: (@Sendable () -> Void)?
        }
        private let state = Mutex(State())

        func post(_ message: Message) {
            let wake = state.withLock { s in
                s.messages.append(message)
                return s.wake
            }
            wake?()
        }

        /// From now on a post wakes the runner (a message posted earlier is taken at the loop's start).
        func connect(_ wake: @escaping @Sendable () -> Void) {
            state.withLock { $0.wake = wake }
        }

        func take() -> [Message] {
            state.withLock { s in
                defer { s.messages.removeAll() }
                return s.messages
            }
        }
    }

    /// What every attempt of a task shares, evaluated once per task.
    struct TaskSetup {
        var task: TaskSpec
        var index: Int
        var action: any Action
        var fingerprint: String
        var env: [String: String]
        var inputs: [String: String]
        var directory: String
    }

    /// An attempt whose `running` row is committed, from its start to its recorded end. A class: the loop
    /// looks at every running attempt at each wake-up and changes a few fields in place.
    final class Attempt {
        enum Work {
            case process(pid: Int32, command: any PreparedCommand)
            case inProcess(Task<Void, Never>)
        }

        let setup: TaskSetup
        let id: AttemptID
        /// Its number among all the task's attempts in the run, across resumes.
        let number: Int
        /// 1 for this invocation's first attempt of the task, counting retries from there.
        let inRun: Int
        let logPath: String
        let startedAt: ContinuousClock.Instant
        let timeoutAt: ContinuousClock.Instant?
        var log: (any AttemptLog)?
        var work: Work?
        var nextPoll: ContinuousClock.Instant?
        var timedOut = false
        /// Being stopped (its timeout, or the run's cancellation): SIGTERM sent, SIGKILL due at `killAt`.
        var stopping = false
        var killAt: ContinuousClock.Instant?

        init(setup: TaskSetup, id: AttemptID, number: Int, inRun: Int, logPath: String, startedAt: ContinuousClock.Instant) {
            self.setup = setup
            self.id = id
            self.number = number
            self.inRun = inRun
            self.logPath = logPath
            self.startedAt = startedAt
            timeoutAt = setup.task.timeout.map { startedAt + $0 }
        }
    }

    /// A stopped process task whose leader has exited while the rest of its group lingers: it ends once the
    /// group is gone or killed, so nothing of it outlives its recorded end.
    struct Draining {
        let attempt: Attempt
        var pid: Int32
        var command: any PreparedCommand
        var exit: ProcessExit
        var nextCheck: ContinuousClock.Instant
    }

    /// A task between a failed attempt and its retry.
    struct Backoff {
        var setup: TaskSetup
        var number: Int
        var inRun: Int
        var elapsed: Duration
        var due: ContinuousClock.Instant
    }

    /// A start in the transaction being built, in the order of its `.attemptStarted` transition.
    enum PendingStart {
        case first(RunPlan.Start)
        case retry(TaskSetup, number: Int, inRun: Int, logPath: String)
    }

    /// How long a spawned task's pid may wait for a transaction to carry it before it is written on its own.
    static let pidWriteDelay: Duration = .milliseconds(50)

    let engine: Engine
    var plan: RunPlan
    let runner: any CommandRunner
    let mailbox: Mailbox

    var running: [UInt64: Attempt] = [:]
    var byPID: [Int32: UInt64] = [:]
    var draining: [Draining] = []
    var backoffs: [Backoff] = []
    var nextKey: UInt64 = 0
    var cancelled = false
    /// The transaction being built: transitions, the events that report them once committed, its starts.
    var pending: [Transition] = []
    var pendingEvents: [EngineEvent] = []
    var pendingStarts: [PendingStart] = []
    /// Pids of spawned tasks not yet written: they ride with the next transaction, or go alone once the oldest
    /// has waited `pidWriteDelay`. A chain of short tasks then writes no pid on its own.
    var queuedPIDs: [Transition] = []
    var pidsQueuedSince: ContinuousClock.Instant?

    init(engine: Engine, plan: RunPlan, runner: any CommandRunner, mailbox: Mailbox) {
        self.engine = engine
        self.plan = plan
        self.runner = runner
        self.mailbox = mailbox
    }

    var runID: RunID { plan.runID }

    /// Runs until nothing runs and nothing can start; returns how the run ended.
    func run() -> RunOutcome {
        defer { runner.close() }
        mailbox.connect(runner.wake)
        handle(mailbox.take())
        advance()
        while !(running.isEmpty && draining.isEmpty && backoffs.isEmpty) {
            for exit in runner.wait(until: nearestDeadline()) { exited(exit) }
            handle(mailbox.take())
            tick(now: runner.now)
            advance()
        }
        let (step, _) = plan.finish(at: Date())
        absorb(step)
        _ = commit()
        return plan.outcome()
    }

    // MARK: committing

    /// Commits what is pending with what it lets start, starts that, and goes on until nothing is left: an
    /// attempt that cannot start ends at once, and its end is committed in the next round.
    func advance() {
        while true {
            absorb(plan.next(at: Date()))
            guard !pending.isEmpty else { return }
            launch(commit())
        }
    }

    /// Adds a plan decision to the transaction being built.
    func absorb(_ step: RunPlan.Step) {
        pending += step.transitions
        pendingEvents += step.notices.map(EngineEvent.init)
        pendingStarts += step.starts.map(PendingStart.first)
    }

    /// Commits the pending transaction (with any queued pids), then reports it. Returns its starts with their
    /// attempt ids; none if the commit failed, and then nothing new starts.
    func commit() -> [(PendingStart, AttemptID)] {
        let transitions = pending
        let events = pendingEvents
        let starts = pendingStarts
        pending.removeAll()
        pendingEvents.removeAll()
        pendingStarts.removeAll()
        guard !transitions.isEmpty else { return [] }
        do {
            let ids = try engine.store.record(queuedPIDs + transitions)
            queuedPIDs.removeAll()
            pidsQueuedSince = nil
            events.forEach(engine.events)
            return Array(zip(starts, ids))
        } catch {
            let message = "cannot record \(Engine.describe(transitions)): \(error)"
            plan.unstart(starts.compactMap { if case .first(let start) = $0 { start } else { nil } }, because: message)
            for event in events { engine.events(event.unrecorded) }
            // A retry that cannot be recorded, and every retry still waiting, ends the task: the run is over.
            for start in starts { if case .retry(let setup, _, _, _) = start { giveUp(setup.index) } }
            for backoff in backoffs { giveUp(backoff.setup.index) }
            backoffs.removeAll()
            return []
        }
    }

    private func giveUp(_ index: Int) {
        // Its dependents are settled with the next transaction, if one can still be written.
        let step = plan.finished(index, status: .failed, outputs: [:], at: Date())
        pending += step.transitions
        pendingEvents += step.notices.map(EngineEvent.init)
    }

    // MARK: messages and deadlines

    func handle(_ messages: [Message]) {
        for message in messages {
            switch message {
            case .finished(let key, let result):
                guard let attempt = running.removeValue(forKey: key) else { continue }
                end(attempt, attempt.timedOut ? .timedOut : .finished(result))
            case .cancel:
                guard !cancelled else { continue }
                cancelled = true
                plan.cancel()
                for attempt in running.values { stop(attempt) }
                for backoff in backoffs {
                    // Interrupted while waiting to retry: the last attempt already failed, the task is interrupted.
                    let reason = "interrupted before a retry"
                    pending.append(.taskSettled(run: runID, task: backoff.setup.task.id, status: .interrupted, reason: reason, at: Date()))
                    pendingEvents.append(.taskFinished(backoff.setup.task.id, status: .interrupted, attempt: backoff.number,
                                                       duration: backoff.elapsed, error: reason))
                    absorb(plan.finished(backoff.setup.index, status: .interrupted, outputs: [:], at: Date()))
                }
                backoffs.removeAll()
            }
        }
    }

    /// SIGTERM to a process task's group (SIGKILL follows after the grace period); cancellation of an
    /// in-process one.
    func stop(_ attempt: Attempt) {
        guard !attempt.stopping else { return }
        attempt.stopping = true
        switch attempt.work {
        case .process(let pid, _):
            runner.signalGroup(pid, SIGTERM)
            attempt.killAt = runner.now + engine.options.gracePeriod
        case .inProcess(let task):
            task.cancel()
        case nil:
            break
        }
    }

    func tick(now: ContinuousClock.Instant) {
        if let since = pidsQueuedSince, now - since >= Builder.pidWriteDelay, pending.isEmpty {
            // Best effort: until written, a dead runner's processes are still found by their environment tag.
            if (try? engine.store.record(queuedPIDs)) != nil { queuedPIDs.removeAll() }
            pidsQueuedSince = queuedPIDs.isEmpty ? nil : now
        }
        for attempt in running.values {
            if let timeout = attempt.timeoutAt, now >= timeout, !attempt.stopping {
                attempt.timedOut = true
                stop(attempt)
            }
            guard case .process(let pid, let command) = attempt.work else { continue }
            if let killAt = attempt.killAt, now >= killAt {
                runner.signalGroup(pid, SIGKILL)
                attempt.killAt = nil
            }
            if let nextPoll = attempt.nextPoll, now >= nextPoll {
                command.poll()
                attempt.nextPoll = command.pollInterval.map { now + $0 }
            }
        }
        var still: [Draining] = []
        for var entry in draining {
            if let killAt = entry.attempt.killAt, now >= killAt {
                runner.signalGroup(entry.pid, SIGKILL)
                entry.attempt.killAt = nil
            }
            // After SIGKILL the group is gone at once; before it, the group is checked every 20 ms, not at every wake-up.
            let due = now >= entry.nextCheck
            if entry.attempt.killAt == nil || (due && !runner.isGroupAlive(entry.pid)) {
                conclude(entry.attempt, pid: entry.pid, command: entry.command, exit: entry.exit)
            } else {
                if due { entry.nextCheck = now + .milliseconds(20) }
                still.append(entry)
            }
        }
        draining = still
        var waiting: [Backoff] = []
        for backoff in backoffs {
            guard now >= backoff.due else {
                waiting.append(backoff)
                continue
            }
            let next = backoff.number + 1
            let path = engine.logPath(run: runID, task: backoff.setup.task.id, attempt: next)
            pending.append(.attemptStarted(run: runID, task: backoff.setup.task.id, attempt: next,
                                           fingerprint: backoff.setup.fingerprint, logPath: path, at: Date()))
            pendingStarts.append(.retry(backoff.setup, number: next, inRun: backoff.inRun + 1, logPath: path))
        }
        backoffs = waiting
    }

    /// The nearest timeout, SIGKILL, checkpoint poll, group check, retry or pid write; nil for none.
    func nearestDeadline() -> ContinuousClock.Instant? {
        var nearest: ContinuousClock.Instant?
        func consider(_ instant: ContinuousClock.Instant?) {
            guard let instant else { return }
            if nearest.map({ instant < $0 }) ?? true { nearest = instant }
        }
        consider(pidsQueuedSince.map { $0 + Builder.pidWriteDelay })
        for attempt in running.values {
            if !attempt.stopping { consider(attempt.timeoutAt) }
            consider(attempt.killAt)
            consider(attempt.nextPoll)
        }
        for entry in draining {
            consider(entry.attempt.killAt)
            consider(entry.nextCheck)
        }
        for backoff in backoffs { consider(backoff.due) }
        return nearest
    }
}
