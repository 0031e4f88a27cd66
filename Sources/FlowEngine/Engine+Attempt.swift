import FlowCore
import Foundation

extension Engine {
    private enum AttemptResult: Sendable {
        case finished(Result<[String: String], TaskFailure>)
        case timedOut
    }

    /// Runs every attempt of one task, from `first` (already committed): retries with backoff, enforces the
    /// timeout. A retry's end and next start are committed here; the last attempt's end goes back to the run
    /// loop in the completion, to be committed with the starts it releases.
    func execute(_ task: TaskSpec, action: any Action, index: Int, runID: RunID, scope: EvaluationScope,
                 workflow: Workflow, first: StartedAttempt, logs: LogRecycler) async -> Completion {
        var env: [String: String] = options.taskEnvironment
        for (name, value) in workflow.env { env[name] = value.render(in: scope) }
        for (name, value) in task.env { env[name] = value.render(in: scope) }
        var inputs: [String: String] = [:]
        for (name, value) in task.with { inputs[name] = value.render(in: scope) }
        let directory = Engine.resolve(task.workingDirectory?.render(in: scope), in: options.projectDirectory)
        let maxAttempts = task.retry.retries + 1
        var attempt = 1
        var current = first
        while true {
            let number = current.number
            let attemptID = current.id
            let scratch = "\(options.scratchDirectory)/\(runID)/\(task.id).\(number)"
            let started = ContinuousClock.now
            let result: AttemptResult
            let log: TaskLog?
            do {
                // A task that never ran in this run has no checkpoint: skip the read.
                let checkpoint = number == 1 ? [:] : try store.checkpoint(run: runID, task: task.id)
                let opened = try logs.open(current.logPath)
                log = opened
                let store = self.store
                let context = TaskContext(
                    runID: runID, task: task.id, attempt: number, inputs: inputs, env: env, workingDirectory: directory,
                    scratchDirectory: scratch, log: opened, checkpoint: checkpoint,
                    saveCheckpoint: { values in try store.saveCheckpoint(run: runID, task: task.id, values: values, at: Date()) },
                    processStarted: { pid in try? store.processStarted(attempt: attemptID, pid: pid) },
                    now: options.now, gracePeriod: options.gracePeriod)
                result = await runAttempt(action, context: context, timeout: task.timeout)
            } catch {
                // The attempt row is committed: end it rather than leave it `running`.
                log = nil
                result = .finished(.failure(TaskFailure("cannot start: \(error)", retryable: false)))
            }
            let elapsed = ContinuousClock.now - started
            let interrupted = Task.isCancelled

            let outcome: AttemptOutcome
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
            let willRetry = retryable && attempt < maxAttempts && !interrupted
            if let message = outcome.error { log?.write("flow: attempt \(number) of '\(task.id)': \(message)") }
            let logKept = log.map(logs.finish) ?? false
            let finish = Transition.attemptFinished(attempt: attemptID, run: runID, task: task.id, outcome: outcome,
                                                    outputs: outputs, isFinal: !willRetry, logKept: logKept, at: Date())
            let finished = EngineEvent.taskFinished(task.id, status: outcome.status, attempt: number, duration: elapsed,
                                                    error: outcome.error)
            guard willRetry else {
                return Completion(index: index, status: outcome.status, outputs: outputs, storeError: nil, finish: finish,
                                  finished: finished)
            }
            do {
                _ = try store.record([finish])
            } catch {
                events(finished.unrecorded)
                return Completion(index: index, status: .failed, outputs: [:], storeError: "cannot record the end of '\(task.id)': \(error)")
            }
            let delay = task.retry.delay(beforeAttempt: attempt + 1, jitter: options.jitter())
            events(.taskRetrying(task.id, attempt: number, delay: delay, error: outcome.error ?? "failed"))
            do {
                try await Task.sleep(for: delay)
            } catch {
                // Interrupted while waiting to retry: the last attempt already failed, the task is interrupted.
                try? store.taskSettled(run: runID, task: task.id, status: .interrupted, reason: "interrupted before a retry", at: Date())
                events(.taskFinished(task.id, status: .interrupted, attempt: number, duration: elapsed, error: "interrupted before a retry"))
                return Completion(index: index, status: .interrupted, outputs: [:], storeError: nil)
            }
            attempt += 1
            let next = number + 1
            let logPath = logPath(run: runID, task: task.id, attempt: next)
            do {
                let id = try store.attemptStarted(run: runID, task: task.id, attempt: next, fingerprint: current.fingerprint,
                                                  logPath: logPath, at: Date())
                current = StartedAttempt(id: id, number: next, logPath: logPath, fingerprint: current.fingerprint)
            } catch {
                return Completion(index: index, status: .failed, outputs: [:], storeError: "cannot record the start of '\(task.id)': \(error)")
            }
            CrashPoint.hit("after-attempt-row")
            events(.taskStarted(task.id, attempt: next))
        }
    }

    /// Runs the action, racing it against the timeout; a timed-out action is cancelled and awaited.
    private func runAttempt(_ action: any Action, context: TaskContext, timeout: Duration?) async -> AttemptResult {
        @Sendable func attempt() async -> AttemptResult {
            do {
                return .finished(.success(try await action.run(context)))
            } catch let failure as TaskFailure {
                return .finished(.failure(failure))
            } catch is CancellationError {
                return .finished(.failure(TaskFailure("cancelled")))
            } catch {
                return .finished(.failure(TaskFailure("\(error)")))
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
