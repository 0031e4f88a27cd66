import Foundation

/// A task executor with a thread of its own, for async work that blocks: synchronous SQLite transactions,
/// `VACUUM INTO`, a vendor fetch. A task that prefers it (`Task(executorPreference:)`,
/// `withTaskExecutorPreference`) runs its jobs here, so what it blocks is this thread and never one of Swift's
/// cooperative threads (two on this machine), which the rest of flow needs to stay responsive.
package final class ThreadExecutor: TaskExecutor, @unchecked Sendable {
    private let condition = NSCondition()
    private let name: String
    private var jobs: [UnownedJob] = []
    private var stopping = false
    private var threadRunning = false

    /// The thread starts with the first job and ends after `shutdown()` once no job is left; a job enqueued
    /// later still runs, on a new thread.
    package init(name: String) {
        self.name = name
    }

    package func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        condition.lock()
        jobs.append(job)
        let start = !threadRunning
        threadRunning = true
        condition.signal()
        condition.unlock()
        if start {
            let thread = Thread { [self] in work() }
            thread.name = name
            thread.start()
        }
    }

    /// Lets the thread end once the jobs enqueued so far have run.
    package func shutdown() {
        condition.lock()
        stopping = true
        condition.signal()
        condition.unlock()
    }

    private func work() {
        while true {
            condition.lock()
            while jobs.isEmpty && !stopping { condition.wait() }
            if jobs.isEmpty {
                threadRunning = false
                condition.unlock()
                return
            }
            let batch = jobs
            jobs.removeAll(keepingCapacity: true)
            condition.unlock()
            for job in batch { job.runSynchronously(on: asUnownedTaskExecutor()) }
        }
    }
}
