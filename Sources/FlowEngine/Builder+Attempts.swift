import FlowCore
import FlowPlan
import Foundation

extension Builder {
    enum AttemptResult {
        case finished(Result<[String: String], TaskFailure>)
        case timedOut

        /// An error an action threw, as the attempt's failure.
        static func failed(_ error: any Error) -> AttemptResult {
            .finished(.failure(failure(error)))
        }

        static func failure(_ error: any Error) -> TaskFailure {
            switch error {
            case let failure as TaskFailure: return failure
            case is CancellationError: return TaskFailure("cancelled")
            default: return TaskFailure("\(error)")
            }
        }

        /// The attempt's row is committed but its log or checkpoint could not be opened: it ends rather than
        /// stay `running`.
        static func cannotStart(_ error: any Error) -> AttemptResult {
            .finished(.failure(TaskFailure("cannot start: \(error)", retryable: false)))
        }
    }

    // MARK: starting

    /// Starts the attempts whose rows were just committed.
    func launch(_ started: [(PendingStart, AttemptID)]) {
        guard !started.isEmpty else { return }
        CrashPoint.hit("after-attempt-row")
        for (start, id) in started {
            switch start {
            case .first(let start):
                begin(setup(start), id: id, number: start.attempt, inRun: 1, logPath: start.logPath)
            case .retry(let setup, let number, let inRun, let logPath):
                begin(setup, id: id, number: number, inRun: inRun, logPath: logPath)
            }
        }
    }

    func setup(_ start: RunPlan.Start) -> TaskSetup {
        var env: [String: String] = engine.options.taskEnvironment
        for (name, value) in start.rendered.env { env[name] = value }
        env["FLOW_RUN_SUMMARY"] = plan.scope.runSummary
        let directory = Engine.resolve(start.rendered.workingDirectory, in: engine.options.projectDirectory)
        return TaskSetup(task: start.task, index: start.index, action: start.action, fingerprint: start.fingerprint,
                         env: env, inputs: start.rendered.with, directory: directory)
    }

    /// Opens the attempt's log, builds what its action sees and starts it: a process through the runner, any
    /// other action as a Swift task. An attempt that cannot start ends at once.
    private func begin(_ setup: TaskSetup, id: AttemptID, number: Int, inRun: Int, logPath: String) {
        engine.events(.taskStarted(setup.task.id, attempt: number))
        let now = runner.now
        let attempt = Attempt(setup: setup, id: id, number: number, inRun: inRun, logPath: logPath, startedAt: now)
        let context: TaskContext
        do {
            (context, attempt.log) = try self.context(for: attempt)
        } catch {
            return end(attempt, .cannotStart(error))
        }
        let key = nextKey
        nextKey += 1
        switch setup.action {
        case let action as any ProcessAction:
            let command: any PreparedCommand
            let pid: Int32
            do {
                command = try action.prepare(context)
                pid = try runner.start(command.command)
            } catch {
                return end(attempt, .failed(error))
            }
            CrashPoint.hit("after-spawn")
            queuedPIDs.append(.processStarted(attempt: id, pid: pid))
            if pidsQueuedSince == nil { pidsQueuedSince = now }
            attempt.work = .process(pid: pid, command: command)
            attempt.nextPoll = command.pollInterval.map { now + $0 }
            byPID[pid] = key
        case let action as any InProcessAction:
            let mailbox = mailbox
            // Actions block (SQLite, VACUUM INTO, a fetch): each attempt gets a thread of its own to block.
            let executor = ThreadExecutor(name: "flow-\(setup.task.id)")
            attempt.work = .inProcess(Task(executorPreference: executor) {
                let result: Result<[String: String], TaskFailure>
                do {
                    result = .success(try await action.run(context))
                } catch {
                    result = .failure(AttemptResult.failure(error))
                }
                executor.shutdown()
                mailbox.post(.finished(key: key, result))
            })
        default:
            return end(attempt, .finished(.failure(TaskFailure("action '\(setup.task.uses)' neither runs in flow nor starts a process",
                                                               retryable: false))))
        }
        running[key] = attempt
        // After a signal the plan starts only tasks that run after failures (`always()`, `cancelled()`): they run.
        if cancelled && !setup.task.runsAfterFailure { stop(attempt) }
    }

    /// What the action sees, and the log as the runner opened it (the action's view of it masks secrets).
    private func context(for attempt: Attempt) throws -> (TaskContext, any AttemptLog) {
        let task = attempt.setup.task.id
        let store = engine.store
        let (runID, masker) = (runID, engine.options.masker)
        // A task that never ran in this run has no checkpoint: skip the read.
        let checkpoint = attempt.number == 1 ? [:] : try store.checkpoint(run: runID, task: task)
        let log = try runner.openLog(at: attempt.logPath)
        let context = TaskContext(
            runID: runID, task: task, attempt: attempt.number, inputs: attempt.setup.inputs, env: attempt.setup.env,
            workingDirectory: attempt.setup.directory,
            scratchDirectory: "\(engine.options.scratchDirectory)/\(runID)/\(task).\(attempt.number)",
            log: masker.isEmpty ? log : MaskedLog(log, masker), checkpoint: checkpoint,
            saveCheckpoint: { values in try store.saveCheckpoint(run: runID, task: task, values: masker.mask(values), at: Date()) },
            now: engine.options.now, gracePeriod: engine.options.gracePeriod, inherited: engine.options.inherited)
        return (context, log)
    }

    // MARK: ending

    /// A process leader exited. A stopped task ends once its whole group is gone.
    func exited(_ exit: CommandExit) {
        guard let key = byPID.removeValue(forKey: exit.pid), let attempt = running.removeValue(forKey: key),
              case .process(let pid, let command) = attempt.work else { return }
        if attempt.stopping, runner.isGroupAlive(pid) {
            draining.append(Draining(attempt: attempt, pid: pid, command: command, exit: exit.exit,
                                     nextCheck: runner.now + .milliseconds(10)))
            return
        }
        conclude(attempt, pid: pid, command: command, exit: exit.exit)
    }

    func conclude(_ attempt: Attempt, pid: Int32, command: any PreparedCommand, exit: ProcessExit) {
        runner.release(pid, grace: engine.options.gracePeriod)
        let result = command.conclude(exit)
        end(attempt, attempt.timedOut ? .timedOut : .finished(result))
    }

    /// Records an attempt's end in the transaction being built: its outcome, the note in its log, then either
    /// a retry after the backoff or the task's end in the plan, which may release or skip others.
    func end(_ attempt: Attempt, _ result: AttemptResult) {
        let task = attempt.setup.task
        var outcome: AttemptOutcome
        var outputs: [String: String] = [:]
        var retryable = false
        switch result {
        case .finished(.success(let values)):
            outputs = values
            outcome = AttemptOutcome(status: .succeeded)
        case .finished(.failure(let failure)) where cancelled && attempt.stopping:
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
        // What an attempt leaves never holds a secret: not its outputs, not its error (an action may quote a
        // value it was given).
        let masker = engine.options.masker
        if !masker.isEmpty {
            outputs = masker.mask(outputs)
            outcome.error = outcome.error.map(masker.mask)
        }
        let willRetry = retryable && attempt.inRun < task.retry.retries + 1 && !cancelled && plan.internalError == nil
        // The final failure says why there is no further attempt, so `status` and `history` can tell a permanent
        // error from a spent retry budget.
        if !willRetry, outcome.status == .failed || outcome.status == .timedOut, let error = outcome.error {
            if !retryable, outcome.status == .failed {
                outcome.error = error + (task.retry.retries > 0 ? " (not retried: permanent error)" : "")
            } else if task.retry.retries > 0 {
                outcome.error = error + " (after \(attempt.inRun) attempts)"
            }
        }
        if let message = outcome.error { attempt.log?.write("flow: attempt \(attempt.number) of '\(task.id)': \(message)") }
        let failedForGood = !willRetry && (outcome.status == .failed || outcome.status == .timedOut)
        let tail = failedForGood ? attempt.log?.tail(RunSummary.tailLines, width: RunSummary.lineWidth) ?? [] : []
        let logKept = attempt.log.map(runner.finishLog) ?? false
        let now = runner.now
        let elapsed = now - attempt.startedAt
        pending.append(.attemptFinished(attempt: attempt.id, run: runID, task: task.id, outcome: outcome, outputs: outputs,
                                        isFinal: !willRetry, logKept: logKept, at: Date(), firstInRun: attempt.number == 1))
        guard willRetry else {
            pendingEvents.append(.taskFinished(task.id, status: outcome.status, attempt: attempt.number, duration: elapsed,
                                               error: outcome.error, logTail: tail))
            absorb(plan.finished(attempt.setup.index, status: outcome.status, outputs: outputs, error: outcome.error,
                                 logTail: tail, at: Date()))
            return
        }
        let delay = task.retry.delay(beforeAttempt: attempt.inRun + 1, jitter: engine.options.jitter())
        pendingEvents.append(.taskRetrying(task.id, attempt: attempt.number, delay: delay, error: outcome.error ?? "failed"))
        backoffs.append(Backoff(setup: attempt.setup, number: attempt.number, inRun: attempt.inRun, elapsed: elapsed,
                                due: now + delay))
    }
}
