import FlowCore
import Foundation

/// `run.summary_json` and `$FLOW_RUN_SUMMARY`: what an alert needs to say about a run while it is going — the
/// workflow, the run, its status so far and the failures that fail it, each with its error and the last lines
/// of its log. Sized to fit one environment variable (Linux caps one at 128 KiB).
package struct RunSummary: Sendable, Encodable {
    package struct Failure: Sendable, Encodable {
        var task: String
        var status: String
        var error: String
        var logTail: [String]

        enum CodingKeys: String, CodingKey {
            case task, status, error
            case logTail = "log_tail"
        }
    }

    /// Lines of each failure's log, and the characters kept of each line.
    package static let tailLines = 20
    package static let lineWidth = 400
    /// Failures listed in full; the rest are counted.
    static let listedFailures = 8

    var version = 1
    var workflow: String
    var runID: Int64
    var startedAt: String
    var scheduledFor: String
    /// `running` while nothing has failed, then `failed`, or `interrupted` after a signal.
    var status = "running"
    var failures: [Failure] = []
    /// A `notify_missed` run's ticks; the key is left out for every other run.
    var missedTicks: [MissedTick] = []

    enum CodingKeys: String, CodingKey {
        case version, workflow, status
        case runID = "run_id"
        case startedAt = "started_at"
        case scheduledFor = "scheduled_for"
        case failures = "failed_tasks"
        case unlisted = "more_failed_tasks"
        case missedTicks = "missed_ticks"
    }

    init(workflow: String, runID: Int64, startedAt: String, scheduledFor: String) {
        self.workflow = workflow
        self.runID = runID
        self.startedAt = startedAt
        self.scheduledFor = scheduledFor
    }

    package func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(version, forKey: .version)
        try container.encode(workflow, forKey: .workflow)
        try container.encode(runID, forKey: .runID)
        try container.encode(startedAt, forKey: .startedAt)
        try container.encode(scheduledFor, forKey: .scheduledFor)
        try container.encode(status, forKey: .status)
        try container.encode(Array(failures.prefix(RunSummary.listedFailures)), forKey: .failures)
        try container.encode(max(0, failures.count - RunSummary.listedFailures), forKey: .unlisted)
        if !missedTicks.isEmpty { try container.encode(missedTicks.prefix(100).map { $0 }, forKey: .missedTicks) }
    }

    /// One line of JSON, keys sorted so the same run state always reads the same.
    var json: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        guard let data = try? encoder.encode(self) else { return "{}" }
        return String(decoding: data, as: UTF8.self)
    }
}
