import FlowCore
import Foundation
import Synchronization

/// A vendor answer that may be right on the next try: a rate limit, a server error, a dropped connection, a body
/// cut short or malformed. Permanent errors (a refused key, a bad request) are `TaskFailure`s that are not retried.
struct TransientVendorError: Error, Sendable {
    var message: String
    /// The server's `Retry-After`, in seconds.
    var retryAfter: Double?
}

/// Retries one vendor request on transient errors with jittered exponential backoff, honouring `Retry-After`,
/// within a bound per request and a budget per run, so a run that meets a few passing faults ends with exit 0
/// and the vendor's exact rows, without spending the task's own retries (each of which refetches nothing
/// committed, but starts the chunk again). Only a fault that persists fails the task.
struct VendorRetry: Sendable {
    /// Tries per request, the first included.
    var tries = 6
    /// The first wait; each next one doubles, capped at `maxDelay`, and is jittered down to half.
    var baseDelay: Duration = .seconds(1)
    var maxDelay: Duration = .seconds(60)
    /// `Retry-After` is honoured up to this.
    var maxRetryAfter: Double = 120
    /// Retries left for the whole run, shared by every request of it in this process.
    let budget: Budget
    let log: @Sendable (String) -> Void

    /// `FLOW_VENDOR_RETRY_BASE` (a duration such as `250ms`) shortens the first wait, for tests and for vendors
    /// that recover fast.
    init(env: [String: String], run: RunID, log: @escaping @Sendable (String) -> Void) {
        if let text = env["FLOW_VENDOR_RETRY_BASE"], let base = DurationFormat.parse(text) { baseDelay = base }
        budget = Budget.of(run)
        self.log = log
    }

    func run<T: Sendable>(_ what: String, _ request: () async throws -> T) async throws -> T {
        var attempt = 1
        while true {
            do {
                return try await request()
            } catch let error as TransientVendorError {
                guard attempt < tries else {
                    throw TaskFailure("\(error.message) (gave up after \(attempt) tries of this request)")
                }
                guard budget.take() else {
                    throw TaskFailure("\(error.message) (this run's \(Budget.perRun) vendor retries are spent)")
                }
                let wait = delay(after: attempt, retryAfter: error.retryAfter)
                log("\(what): \(error.message); trying again in \(DurationFormat.format(wait)) (try \(attempt + 1) of \(tries))")
                try await Task.sleep(for: wait)
                attempt += 1
            }
        }
    }

    func delay(after attempt: Int, retryAfter: Double?) -> Duration {
        let exponential = min(baseDelay * (1 << min(attempt - 1, 20)), maxDelay)
        let jittered = exponential * Double.random(in: 0.5...1.0)
        guard let retryAfter else { return jittered }
        return max(jittered, .milliseconds(Int64(min(retryAfter, maxRetryAfter) * 1000)))
    }

    /// Retries per run: a vendor failing every request gives up after this many in all.
    final class Budget: Sendable {
        static let perRun = 40
        private static let all = Mutex<[RunID: Budget]>([:])
        private let left = Mutex(perRun)

        static func of(_ run: RunID) -> Budget {
            all.withLock { budgets in
                if let b = budgets[run] { return b }
                let b = Budget()
                budgets[run] = b
                return b
            }
        }

        func take() -> Bool {
            left.withLock { n in
                guard n > 0 else { return false }
                n -= 1
                return true
            }
        }
    }
}
