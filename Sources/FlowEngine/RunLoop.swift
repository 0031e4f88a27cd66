import CFlowSystem
import FlowCore
import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Drives one run on a thread of its own, the way ninja's main loop does: it starts process tasks, waits in
/// one epoll set for any of them to exit (a pidfd each), commits each end together with the starts it
/// releases, and spawns those — all on this thread, with no hand-off between one task's exit and the next
/// task's spawn. Other actions run as Swift tasks and post their ends back through the mailbox, whose eventfd
/// wakes the loop (as does a cancellation). Timeouts, SIGKILL after the grace period and checkpoint polls are
/// the loop's deadlines.
final class RunLoop {
    enum Message: Sendable {
        /// An action run as a Swift task (or a retried task) ended; its log recycler comes back.
        case completed(Engine.Completion, logs: LogRecycler, task: UInt64)
        /// A process that could not be watched through a pidfd has exited; a thread of its own reaped it.
        case exited(key: Int32, ProcessExit)
        case cancel
    }

    /// Where other threads leave messages for the loop, with an eventfd that wakes it.
    final class Mailbox: Sendable {
        let fd: Int32
        private let messages = Mutex<[Message]>([])

        init() throws {
            fd = flow_eventfd()
            guard fd >= 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        }

        func post(_ message: Message) {
            messages.withLock { $0.append(message) }
            var one: UInt64 = 1
            _ = write(fd, &one, 8)
        }

        func take() -> [Message] {
            var count: UInt64 = 0
            _ = read(fd, &count, 8)
            return messages.withLock { m in
                defer { m.removeAll() }
                return m
            }
        }

        // Closed only when nobody can post any more: a late cancellation must not write to a reused descriptor.
        deinit { close(fd) }
    }

    /// A process task between its spawn and its end.
    private struct Running {
        var job: RunScheduler.Job
        var process: any StartedProcess
        var log: TaskLog
        var logs: LogRecycler
        var startedAt: ContinuousClock.Instant
        var timeout: ContinuousClock.Instant?
        var nextPoll: ContinuousClock.Instant
        /// Stopped for its timeout (or the run's cancellation): SIGTERM sent, SIGKILL due at `killAt`.
        var timedOut = false
        var stopping = false
        var killAt: ContinuousClock.Instant?
        /// The leader's exit, once reaped while the rest of a stopping group lingers.
        var exit: ProcessExit?
        var nextGroupCheck: ContinuousClock.Instant?
        /// A thread of its own reaps this process and posts its exit: the loop must not poll or reap it.
        var hasReaper = false
    }

    private let engine: Engine
    private let scheduler: RunScheduler
    private let runID: RunID
    private let mailbox: Mailbox
    private let logFolder: String
    private let epoll: Int32

    /// Keyed by pidfd, or by -pid for a process a waiting thread watches instead.
    private var running: [Int32: Running] = [:]
    /// Stopping tasks whose leader has exited, until the rest of their group is gone or killed.
    private var draining: [Running] = []
    private var tasks: [UInt64: Task<Void, Never>] = [:]
    private var nextTaskID: UInt64 = 0
    /// Ends waiting for their commit, taken in order so a long run of failures to start does not recurse.
    private var ended: [Engine.Completion] = []
    private var spareLogs: [LogRecycler] = []
    private var recyclers = 0
    private var cancelled = false
    /// Set if epoll ever fails: from then on the loop polls every process instead of waiting on them.
    private var polling = false
    /// When the oldest pid not yet carried by a commit was queued: it is written on its own once it has waited
    /// `processStartWriteDelay`. A task's end commits the pids of everything running, so short tasks never do.
    private var pidsQueuedSince: ContinuousClock.Instant?

    init(engine: Engine, scheduler: RunScheduler, runID: RunID, mailbox: Mailbox, logFolder: String) {
        self.engine = engine
        self.scheduler = scheduler
        self.runID = runID
        self.mailbox = mailbox
        self.logFolder = logFolder
        epoll = flow_epoll_create()
        if epoll < 0 || flow_epoll_add(epoll, mailbox.fd) != 0 { polling = true }
    }

    /// Runs until nothing runs and nothing can start; returns how the run ended.
    func run() -> RunOutcome {
        // The kernel drops a child's SIGCHLD (default action: ignore) only if the thread that started the child
        // does not block it. Swift's threads block it, so it stayed pending for the process and woke the main
        // thread, which libdispatch parks in sigsuspend with nothing blocked, once per task.
        var sigchld = sigset_t()
        sigemptyset(&sigchld)
        sigaddset(&sigchld, SIGCHLD)
        pthread_sigmask(SIG_UNBLOCK, &sigchld, nil)
        defer {
            for logs in spareLogs { logs.close() }
            if epoll >= 0 { close(epoll) }
        }
        handle(mailbox.take())
        if !cancelled { start(scheduler.start()) }
        commitEnded()
        var ready = [Int32](repeating: 0, count: 64)
        while !(running.isEmpty && draining.isEmpty && tasks.isEmpty) {
            let timeout = millisecondsToNextDeadline()
            if polling {
                usleep(UInt32(min(max(timeout, 0), 5)) * 1000)
                handle(mailbox.take())
                for key in Array(running.keys) where hasExited(key) { exited(key) }
            } else {
                let n = ready.withUnsafeMutableBufferPointer { flow_epoll_wait_fds(epoll, $0.baseAddress, 64, timeout) }
                if n < 0 {
                    if errno != EINTR { polling = true }
                    continue
                }
                for fd in ready.prefix(Int(n)) {
                    if fd == mailbox.fd { handle(mailbox.take()) } else { exited(fd) }
                }
            }
            tick()
            commitEnded()
        }
        return scheduler.finish()
    }

    // MARK: starting

    private func start(_ jobs: [RunScheduler.Job]) {
        for job in jobs {
            let logs = spareLogs.popLast() ?? newLogs()
            if let action = job.action as? any ProcessAction {
                startProcess(job, action: action, logs: logs)
            } else {
                let runID = runID
                runAsTask(logs: logs) { engine in
                    await engine.execute(job.setup, action: job.action, runID: runID, first: job.started, logs: logs)
                }
            }
        }
    }

    private func newLogs() -> LogRecycler {
        defer { recyclers += 1 }
        return LogRecycler(folder: logFolder, number: recyclers)
    }

    private func startProcess(_ job: RunScheduler.Job, action: any ProcessAction, logs: LogRecycler) {
        let startedAt = ContinuousClock.now
        let context: TaskContext
        do {
            context = try engine.open(job.started, of: job.setup, runID: runID, logs: logs, queuesPID: true)
        } catch {
            return end(job, logs: logs, result: .cannotStart(error), since: startedAt, log: nil)
        }
        let process: any StartedProcess
        do {
            process = try action.start(context)
        } catch {
            return end(job, logs: logs, result: .failed(error), since: startedAt, log: context.log)
        }
        let pidfd = polling ? -1 : flow_pidfd_open(process.pid)
        let key: Int32
        var hasReaper = false
        if pidfd >= 0, flow_epoll_add(epoll, pidfd) == 0 {
            key = pidfd
        } else {
            if pidfd >= 0 { close(pidfd) }
            key = -process.pid
            // Without epoll the loop polls every child itself; without a pidfd (Linux before 5.3) a thread reaps it.
            if !polling {
                hasReaper = true
                let mailbox = mailbox
                ProcessExit.reapOnOwnThread(process.pid) { mailbox.post(.exited(key: key, $0)) }
            }
        }
        var entry = Running(job: job, process: process, log: context.log, logs: logs, startedAt: startedAt,
                            timeout: job.task.timeout.map { startedAt + $0 }, nextPoll: startedAt + process.checkpointInterval,
                            hasReaper: hasReaper)
        if cancelled { stop(&entry) }
        running[key] = entry
        if pidsQueuedSince == nil { pidsQueuedSince = startedAt }
    }

    /// Runs `body` as a Swift task the loop keeps track of; its completion comes back through the mailbox.
    private func runAsTask(logs: LogRecycler, _ body: @escaping @Sendable (Engine) async -> Engine.Completion) {
        let id = nextTaskID
        nextTaskID += 1
        let (engine, mailbox) = (engine, mailbox)
        let task = Task {
            let completion = await body(engine)
            mailbox.post(.completed(completion, logs: logs, task: id))
        }
        tasks[id] = task
        if cancelled { task.cancel() }
    }

    // MARK: ending

    /// `exit` is the reaped status when a thread of its own reaped the process; otherwise the loop reaps it.
    private func exited(_ key: Int32, exit reaped: ProcessExit? = nil) {
        guard var entry = running.removeValue(forKey: key) else { return }
        if key >= 0 { close(key) }
        let exit = reaped ?? ProcessExit.reap(entry.process.pid)
        // A stopped task ends once its whole group is gone, so nothing of it outlives its recorded end.
        if entry.stopping, entry.process.isGroupAlive {
            entry.exit = exit
            entry.nextGroupCheck = .now + .milliseconds(10)
            draining.append(entry)
            return
        }
        conclude(entry, exit: exit)
    }

    private func hasExited(_ key: Int32) -> Bool {
        guard let entry = running[key], !entry.hasReaper else { return false }
        // -1: it cannot be waited for at all; reaping it then reports that rather than waiting forever.
        return flow_child_exited(entry.process.pid) != 0
    }

    private func conclude(_ entry: Running, exit: ProcessExit) {
        let result = entry.process.finish(exit)
        end(entry.job, logs: entry.logs, result: entry.timedOut ? .timedOut : .finished(result), since: entry.startedAt,
            log: entry.log)
    }

    /// A task's first attempt in this run ended: its end waits for the next commit, or its retries go on as a
    /// Swift task.
    private func end(_ job: RunScheduler.Job, logs: LogRecycler, result: Engine.AttemptResult,
                     since startedAt: ContinuousClock.Instant, log: TaskLog?) {
        let end = engine.end(job.started, of: job.setup, attempt: 1, runID: runID, result: result,
                             elapsed: ContinuousClock.now - startedAt, interrupted: cancelled, log: log, logs: logs)
        guard end.willRetry else {
            spareLogs.append(logs)
            ended.append(end.completion)
            return
        }
        let runID = runID
        runAsTask(logs: logs) { engine in
            switch await engine.retry(after: end, of: job.setup, attempt: 1, runID: runID, previous: job.started) {
            case .next(let next):
                return await engine.execute(job.setup, action: job.action, runID: runID, first: next, attempt: 2, logs: logs)
            case .stop(let completion):
                return completion
            }
        }
    }

    /// Commits every end waiting, each with the starts it releases, and starts those.
    private func commitEnded() {
        var next = 0
        while next < ended.count {
            let completion = ended[next]
            next += 1
            let jobs = scheduler.complete(completion)
            // That commit carried every pid queued so far (or failed, and the run is ending).
            pidsQueuedSince = nil
            start(jobs)
        }
        ended.removeAll(keepingCapacity: true)
    }

    private func handle(_ messages: [Message]) {
        for message in messages {
            switch message {
            case .completed(let completion, let logs, let id):
                tasks[id] = nil
                spareLogs.append(logs)
                ended.append(completion)
            case .exited(let key, let exit):
                exited(key, exit: exit)
            case .cancel:
                guard !cancelled else { continue }
                cancelled = true
                scheduler.cancel()
                for key in Array(running.keys) {
                    guard var entry = running[key] else { continue }
                    stop(&entry)
                    running[key] = entry
                }
                for task in tasks.values { task.cancel() }
            }
        }
    }

    // MARK: deadlines

    private func stop(_ entry: inout Running) {
        guard !entry.stopping else { return }
        entry.stopping = true
        entry.process.signalGroup(SIGTERM)
        entry.killAt = .now + engine.options.gracePeriod
    }

    /// The grace period after SIGTERM is over: SIGKILL to the whole group.
    private func killIfDue(_ entry: inout Running, now: ContinuousClock.Instant) {
        guard let killAt = entry.killAt, now >= killAt else { return }
        entry.process.signalGroup(SIGKILL)
        entry.killAt = nil
    }

    private func tick() {
        let now = ContinuousClock.now
        if let since = pidsQueuedSince, now - since >= processStartWriteDelay {
            // Best effort, like the store's own timer: until written, orphans are still found by their tag.
            try? engine.store.writeQueuedProcessStarts()
            pidsQueuedSince = nil
        }
        for key in Array(running.keys) {
            guard var entry = running[key] else { continue }
            if let timeout = entry.timeout, now >= timeout, !entry.stopping {
                entry.timedOut = true
                stop(&entry)
            }
            killIfDue(&entry, now: now)
            if now >= entry.nextPoll {
                entry.process.pollCheckpoint()
                entry.nextPoll = now + entry.process.checkpointInterval
            }
            running[key] = entry
        }
        var still: [Running] = []
        for var entry in draining {
            killIfDue(&entry, now: now)
            // After SIGKILL the group is gone at once; before it, /proc is scanned every 20 ms, not at every wake-up.
            let due = entry.nextGroupCheck.map { now >= $0 } ?? true
            if entry.killAt == nil || (due && !entry.process.isGroupAlive) {
                conclude(entry, exit: entry.exit ?? ProcessExit(exitCode: nil, signal: nil))
            } else {
                if due { entry.nextGroupCheck = now + .milliseconds(20) }
                still.append(entry)
            }
        }
        draining = still
    }

    /// For epoll_wait: until the nearest timeout, SIGKILL, checkpoint poll or group check; -1 for none.
    private func millisecondsToNextDeadline() -> Int32 {
        var nearest: ContinuousClock.Instant?
        func consider(_ instant: ContinuousClock.Instant?) {
            guard let instant else { return }
            if nearest.map({ instant < $0 }) ?? true { nearest = instant }
        }
        consider(pidsQueuedSince.map { $0 + processStartWriteDelay })
        for entry in running.values {
            if !entry.stopping { consider(entry.timeout) }
            consider(entry.killAt)
            consider(entry.nextPoll)
        }
        for entry in draining {
            consider(entry.killAt)
            consider(entry.nextGroupCheck)
        }
        guard let nearest else { return polling ? 5 : -1 }
        let left = nearest - .now
        guard left > .zero else { return 0 }
        let (seconds, attoseconds) = left.components
        return Int32(clamping: seconds * 1000 + (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000)
    }
}
