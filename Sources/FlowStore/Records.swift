import FlowCore
import Foundation

/// A run as stored.
package struct RunRecord: Sendable, Codable, Hashable {
    package var id: RunID
    package var workflow: String
    package var workflowPath: String
    package var status: RunStatus
    package var params: [String: String]
    package var overrides: [String: String]
    /// The run's clock at its start (`FLOW_NOW` when pinned), ISO 8601.
    package var startedAt: String
    package var createdAt: Date
    package var updatedAt: Date
    package var finishedAt: Date?
    package var pid: Int32?
    package var resumes: Int
    package var error: String?
    /// A scheduled run's tick and the start of its interval (the schedule's previous tick), seconds UTC.
    package var scheduledFor: Int64? = nil
    package var intervalStart: Int64? = nil
    /// `--only`/`--from`; nil for the whole workflow.
    package var selection: TaskSelection? = nil
    /// The run and task (`uses: workflow`) that started this run; nil for a run of its own.
    package var parent: ParentLink? = nil
}

/// Which run's task started a child run.
package struct ParentLink: Sendable, Codable, Hashable, CustomStringConvertible {
    package var run: RunID
    package var task: TaskID

    package init(run: RunID, task: TaskID) {
        self.run = run
        self.task = task
    }

    /// `RUN/TASK`, as `FLOW_PARENT` carries it.
    package var description: String { "\(run)/\(task)" }

    package init?(_ text: String) {
        guard let slash = text.firstIndex(of: "/"), let run = RunID(text[..<slash]), run > 0 else { return nil }
        let task = String(text[text.index(after: slash)...])
        guard TaskID.isValidReference(task) else { return nil }
        self.init(run: run, task: TaskID(task))
    }
}

/// One decided tick of a workflow's schedule, with the run it started.
package struct LedgerEntry: Sendable, Hashable {
    package var tick: Int64
    package var status: String
    package var runID: RunID?
    package var runStatus: RunStatus?
    package var decidedAt: Date
}

/// The current state of one task in a run.
package struct TaskStateRecord: Sendable, Codable, Hashable {
    package var task: TaskID
    package var status: TaskStatus
    package var fingerprint: String?
    package var attempts: Int
    package var reason: String?
    package var startedAt: Date?
    package var finishedAt: Date?
    package var outputs: [String: String]
}

/// One attempt of one task.
package struct AttemptRecord: Sendable, Codable, Hashable {
    package var id: AttemptID
    package var runID: RunID
    package var task: TaskID
    package var attempt: Int
    package var status: TaskStatus
    package var fingerprint: String
    package var pid: Int32?
    package var startedAt: Date
    package var finishedAt: Date?
    package var exitCode: Int32?
    package var signal: Int32?
    package var logPath: String?
    package var error: String?
}

enum JSONText {
    static func encode(_ value: [String: String]) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        guard let data = try? encoder.encode(value) else { return "{}" }
        return String(decoding: data, as: UTF8.self)
    }
}
