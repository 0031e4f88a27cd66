import FlowCore
import Foundation

extension Engine {
    enum AttemptResult: Sendable {
        case finished(Result<[String: String], TaskFailure>)
        case timedOut

        /// An error an action threw, as the attempt's failure.
        static func failed(_ error: any Error) -> AttemptResult {
            switch error {
            case let failure as TaskFailure: return .finished(.failure(failure))
            case is CancellationError: return .finished(.failure(TaskFailure("cancelled")))
            default: return .finished(.failure(TaskFailure("\(error)")))
            }
        }

        /// The attempt's row is committed but its log or checkpoint could not be opened: it ends rather than
        /// stay `running`.
        static func cannotStart(_ error: any Error) -> AttemptResult {
            .finished(.failure(TaskFailure("cannot start: \(error)", retryable: false)))
        }
    }

    /// What every attempt of a task shares, evaluated once per task.
    struct TaskSetup: Sendable {
        var task: TaskSpec
        var index: Int
        var env: [String: String]
        var inputs: [String: String]
        var directory: String
    }

    /// How an attempt ended, and what happens next.
    struct AttemptEnd: Sendable {
        var task: TaskID
        var index: Int
        var number: Int
        var outcome: AttemptOutcome
        var outputs: [String: String]
        var elapsed: Duration
        /// The transition that records this end.
        var finish: Transition
        /// Whether another attempt follows (after `finish` is committed on its own).
        var willRetry: Bool

        var finished: EngineEvent {
            .taskFinished(task, status: outcome.status, attempt: number, duration: elapsed, error: outcome.error)
        }

        /// The end as the run loop commits it, with the starts it releases.
        var completion: Completion {
            Completion(index: index, status: outcome.status, outputs: outputs, storeError: nil, finish: finish, finished: finished)
        }
    }

    func setup(_ task: TaskSpec, index: Int, rendered: RenderedTask) -> TaskSetup {
        var env: [String: String] = options.taskEnvironment
        for (name, value) in rendered.env { env[name] = value }
        let directory = Engine.resolve(rendered.workingDirectory, in: options.projectDirectory)
        return TaskSetup(task: task, index: index, env: env, inputs: rendered.with, directory: directory)
    }

    /// Opens an attempt's log and builds what its action sees. `queuesPID`: the caller writes the process's
    /// pid itself if no transaction carries it soon (the run loop); otherwise the store arranges that.
    func open(_ attempt: StartedAttempt, of setup: TaskSetup, runID: RunID, logs: LogRecycler,
              queuesPID: Bool = false) throws -> TaskContext {
        let task = setup.task.id
        // A task that never ran in this run has no checkpoint: skip the read.
        let checkpoint = attempt.number == 1 ? [:] : try store.checkpoint(run: runID, task: task)
        let log = try logs.open(attempt.logPath)
        let store = self.store
        let attemptID = attempt.id
        let processStarted: @Sendable (Int32) -> Void
        if queuesPID {
            processStarted = { pid in store.queueProcessStarted(attempt: attemptID, pid: pid) }
        } else {
            processStarted = { pid in try? store.processStarted(attempt: attemptID, pid: pid) }
        }
        return TaskContext(
            runID: runID, task: task, attempt: attempt.number, inputs: setup.inputs, env: setup.env,
            workingDirectory: setup.directory, scratchDirectory: "\(options.scratchDirectory)/\(runID)/\(task).\(attempt.number)",
            log: log, checkpoint: checkpoint,
            saveCheckpoint: { values in try store.saveCheckpoint(run: runID, task: task, values: values, at: Date()) },
            processStarted: processStarted,
            now: options.now, gracePeriod: options.gracePeriod)
    }

    /// Turns an attempt's result into its recorded end: outcome, the note in its log, the transition and the
    /// event. `attempt` counts this run's attempts of the task (1 for the first).
    func end(_ started: StartedAttempt, of setup: TaskSetup, attempt: Int, runID: RunID, result: AttemptResult,
             elapsed: Duration, interrupted: Bool, log: TaskLog?, logs: LogRecycler) -> AttemptEnd {
        let task = setup.task
        var outcome: AttemptOutcome
        var outputs: [String: String] = [:]
        var retryable = false
        switch result {
        case .finished(.success(let values)):
            outputs = values
            outcome = AttemptOutcome(status: .succeeded)
        case .finished(.failure(let failure)) where interrupted:
            outcome = AttemptOutcome(status: .interrupted, exitCode: failure.exitCode, signal: failure.signal,
                                     error: "interrupted (\(failure.message))")
        case .finished(.failure(let failure)):
            outcome = AttemptOutcome(status: .failed, exitCode: failure.exitCode, signal: failure.signal, error: failure.message)
            retryable = failure.isRetryable
        case .timedOut:
            let limit = task.timeout.map(DurationFormat.format) ?? "?"
            outcome = AttemptOutcome(status: .timedOut, error: "timed out after \(limit)")
            retryable = true
        }
        let willRetry = retryable && attempt < task.retry.retries + 1 && !interrupted
        // The final failure says why there is no further attempt, so `status` and `history` can tell a permanent
        // error from a spent retry budget.
        if !willRetry, outcome.status == .failed || outcome.status == .timedOut, let error = outcome.error {
            if !retryable, outcome.status == .failed {
                outcome.error = error + (task.retry.retries > 0 ? " (not retried: permanent error)" : "")
            } else if task.retry.retries > 0 {
                outcome.error = error + " (after \(attempt) attempts)"
            }
        }
        if let message = outcome.error { log?.write("flow: attempt \(started.number) of '\(task.id)': \(message)") }
        let logKept = log.map(logs.finish) ?? false
        let finish = Transition.attemptFinished(attempt: started.id, run: runID, task: task.id, outcome: outcome,
                                                outputs: outputs, isFinal: !willRetry, logKept: logKept, at: Date(),
                                                firstInRun: started.number == 1)
        return AttemptEnd(task: task.id, index: setup.index, number: started.number, outcome: outcome, outputs: outputs,
                          elapsed: elapsed, finish: finish, willRetry: willRetry)
    }

    /// Runs attempts of a task from `first` (already committed) until one ends for good: retries with backoff,
    /// enforces the timeout. A retry's end and next start are committed here; the last attempt's end goes back
    /// to the run loop in the completion, to be committed with the starts it releases.
    func execute(_ setup: TaskSetup, action: any Action, runID: RunID, first: StartedAttempt, attempt firstAttempt: Int = 1,
                 logs: LogRecycler) async -> Completion {
        var attempt = firstAttempt
        var current = first
        while true {
            let started = ContinuousClock.now
            let result: AttemptResult
            var log: TaskLog?
            do {
                let context = try open(current, of: setup, runID: runID, logs: logs)
                log = context.log
                result = await runAttempt(action, context: context, timeout: setup.task.timeout)
            } catch {
                result = .cannotStart(error)
            }
            let end = end(current, of: setup, attempt: attempt, runID: runID, result: result,
                          elapsed: ContinuousClock.now - started, interrupted: Task.isCancelled, log: log, logs: logs)
            guard end.willRetry else { return end.completion }
            switch await retry(after: end, of: setup, attempt: attempt, runID: runID, previous: current) {
            case .next(let next):
                current = next
                attempt += 1
            case .stop(let completion):
                return completion
            }
        }
    }

    enum Retry: Sendable {
        case next(StartedAttempt)
        case stop(Completion)
    }

    /// Commits a failed attempt's end, waits out the backoff and commits the next attempt's start.
    func retry(after end: AttemptEnd, of setup: TaskSetup, attempt: Int, runID: RunID, previous: StartedAttempt) async -> Retry {
        let task = setup.task
        let index = setup.index
        do {
            _ = try store.record([end.finish])
        } catch {
            events(end.finished.unrecorded)
            return .stop(Completion(index: index, status: .failed, outputs: [:], storeError: "cannot record the end of '\(task.id)': \(error)"))
        }
        let delay = task.retry.delay(beforeAttempt: attempt + 1, jitter: options.jitter())
        events(.taskRetrying(task.id, attempt: end.number, delay: delay, error: end.outcome.error ?? "failed"))
        do {
            try await Task.sleep(for: delay)
        } catch {
            // Interrupted while waiting to retry: the last attempt already failed, the task is interrupted.
            try? store.taskSettled(run: runID, task: task.id, status: .interrupted, reason: "interrupted before a retry", at: Date())
            events(.taskFinished(task.id, status: .interrupted, attempt: end.number, duration: end.elapsed,
                                 error: "interrupted before a retry"))
            return .stop(Completion(index: index, status: .interrupted, outputs: [:], storeError: nil))
        }
        let next = end.number + 1
        let logPath = logPath(run: runID, task: task.id, attempt: next)
        let started: StartedAttempt
        do {
            let id = try store.attemptStarted(run: runID, task: task.id, attempt: next, fingerprint: previous.fingerprint,
                                              logPath: logPath, at: Date())
            started = StartedAttempt(id: id, number: next, logPath: logPath, fingerprint: previous.fingerprint)
        } catch {
            return .stop(Completion(index: index, status: .failed, outputs: [:], storeError: "cannot record the start of '\(task.id)': \(error)"))
        }
        CrashPoint.hit("after-attempt-row")
        events(.taskStarted(task.id, attempt: next))
        return .next(started)
    }

    /// Runs the action, racing it against the timeout; a timed-out action is cancelled and awaited.
    private func runAttempt(_ action: any Action, context: TaskContext, timeout: Duration?) async -> AttemptResult {
        @Sendable func attempt() async -> AttemptResult {
            do {
                return .finished(.success(try await action.run(context)))
            } catch {
                return .failed(error)
            }
        }
        // Without a timeout there is nothing to race: no child task, no hop to another thread.
        guard let timeout else { return await attempt() }
        return await withTaskGroup(of: AttemptResult?.self) { group in
            group.addTask { await attempt() }
            group.addTask {
                do {
                    try await Task.sleep(for: timeout)
                    return .timedOut
                } catch {
                    return nil
                }
            }
            var outcome: AttemptResult = .finished(.failure(TaskFailure("no result")))
            var timedOut = false
            for await value in group {
                guard let value else { continue }
                if case .timedOut = value {
                    timedOut = true
                    group.cancelAll()
                    continue
                }
                outcome = value
                group.cancelAll()
            }
            return timedOut ? .timedOut : outcome
        }
    }

    /// `<logDirectory>/<run>/<task>.<attempt>.log`: attempt numbers continue across resumes, so earlier
    /// attempts' logs are kept.
    func logPath(run: RunID, task: TaskID, attempt: Int) -> String {
        "\(logFolder(run: run))/\(task).\(attempt).log"
    }

    func logFolder(run: RunID) -> String {
        "\(options.logDirectory)/\(run)"
    }

    static func resolve(_ path: String?, in directory: String) -> String {
        guard let path, !path.isEmpty else { return directory }
        return FilePath.resolve(path, in: directory)
    }
}
