import Foundation

/// One `with:` key an action accepts.
package struct ActionInput: Sendable, Hashable {
    /// What the action does with the text, which decides what the validator allows in it.
    package enum Kind: Sendable, Hashable {
        /// Plain data (a path, a number, a name): `${{ }}` is allowed.
        case value
        /// Text another program parses as code. `${{ }}` in it is a validation error, never spliced: values
        /// reach the code through `how` instead.
        case code(CodeValues)
        /// A mapping of names to values (`bind: { name: ${{ params.who }} }`), each handed to the action as the
        /// input `NAME.KEY`; values may use `${{ }}`.
        case bindings
        /// A mapping of HTTP header names to values, each handed to the action as the input `NAME.HEADER`;
        /// values may use `${{ }}` (the action refuses one with a line break).
        case headers
    }

    /// How values reach a `code` input, for the validator's hint.
    package enum CodeValues: Sendable, Hashable {
        /// As environment variables of the process (`env:` and `"$NAME"`).
        case environment
        /// As bound SQL parameters named in the given `bindings` input (`:name`).
        case sqlParameters(bindings: String)
    }

    package var name: String
    package var isRequired: Bool
    package var summary: String
    package var kind: Kind

    package init(_ name: String, required: Bool = false, kind: Kind = .value, _ summary: String) {
        self.name = name
        self.isRequired = required
        self.kind = kind
        self.summary = summary
    }
}

/// What the validator needs to know about an action: its `with:` keys and documented outputs.
package struct ActionSignature: Sendable, Hashable {
    package var name: String
    package var summary: String
    package var inputs: [ActionInput]
    package var outputs: [String]

    package init(name: String, summary: String, inputs: [ActionInput], outputs: [String] = []) {
        self.name = name
        self.summary = summary
        self.inputs = inputs
        self.outputs = outputs
    }
}

/// A built-in action (`uses:`). Adding one is one file: a type conforming to `InProcessAction` (work done in
/// flow) or `ProcessAction` (one child process per attempt), listed in its module's `all`.
package protocol Action: Sendable {
    var signature: ActionSignature { get }
    /// Part of every fingerprint: bump it when the action's behaviour changes so resumed runs redo its work.
    var version: String { get }
}

/// An action whose work runs inside flow, as a Swift task the engine watches, times out and cancels.
package protocol InProcessAction: Action {
    /// Does the work; returns outputs. Throws `TaskFailure` (or any error) to fail the attempt. Cancellation
    /// (a timeout, Ctrl-C) must end it promptly.
    func run(_ context: TaskContext) async throws -> [String: String]
}

/// The actions a workflow may use, by name. Built by the composition root; no global registration.
package struct ActionRegistry: Sendable {
    package private(set) var actions: [String: any Action]

    package init(_ actions: [any Action]) {
        var byName: [String: any Action] = [:]
        for action in actions { byName[action.signature.name] = action }
        self.actions = byName
    }

    package subscript(name: String) -> (any Action)? { actions[name] }

    package var signatures: [String: ActionSignature] { actions.mapValues(\.signature) }

    package var names: [String] { actions.keys.sorted() }
}

/// Why an attempt failed, in words a user can act on, and whether trying again can help.
package struct TaskFailure: Error, Sendable, CustomStringConvertible {
    package var message: String
    package var isRetryable: Bool
    package var exitCode: Int32?
    package var signal: Int32?

    package init(_ message: String, retryable: Bool = true, exitCode: Int32? = nil, signal: Int32? = nil) {
        self.message = message
        self.isRetryable = retryable
        self.exitCode = exitCode
        self.signal = signal
    }

    package var description: String { message }
}

/// Everything an action sees of the run it is part of.
package struct TaskContext: Sendable {
    package var runID: RunID
    package var task: TaskID
    package var attempt: Int
    /// `with:` values after expression evaluation.
    package var inputs: [String: String]
    /// The workflow `env:` then the task `env:`, evaluated; the inherited environment is not included.
    package var env: [String: String]
    /// flow's environment as the task's processes inherit it: without the workflow's secrets.
    package var inherited: [String: String]
    package var workingDirectory: String
    /// A path prefix private to this attempt for scratch files such as `$FLOW_OUTPUT` (`<prefix>.output`);
    /// its folder exists.
    package var scratchDirectory: String
    package var log: any AttemptLog
    /// The last committed in-task checkpoint values of this task in this run.
    package var checkpoint: [String: String]
    /// Commits checkpoint values to the state database before returning.
    package var saveCheckpoint: @Sendable ([String: String]) throws -> Void
    /// The run's clock (`FLOW_NOW` pins it).
    package var now: Date
    /// How long a process gets between SIGTERM and SIGKILL.
    package var gracePeriod: Duration

    package init(runID: RunID, task: TaskID, attempt: Int, inputs: [String: String], env: [String: String],
                 workingDirectory: String, scratchDirectory: String, log: any AttemptLog, checkpoint: [String: String],
                 saveCheckpoint: @escaping @Sendable ([String: String]) throws -> Void,
                 now: Date = Date(), gracePeriod: Duration = .seconds(5), inherited: [String: String] = HostEnvironment.all) {
        self.runID = runID
        self.inherited = inherited
        self.task = task
        self.attempt = attempt
        self.inputs = inputs
        self.env = env
        self.workingDirectory = workingDirectory
        self.scratchDirectory = scratchDirectory
        self.log = log
        self.checkpoint = checkpoint
        self.saveCheckpoint = saveCheckpoint
        self.now = now
        self.gracePeriod = gracePeriod
    }

    /// A path from the workflow, absolute as given or relative to the task's working directory.
    package func resolve(_ path: String) -> String {
        FilePath.resolve(path, in: workingDirectory)
    }

    /// A `with:` value, or a failure naming the missing key (validation normally catches this first).
    package func input(_ name: String) throws -> String {
        guard let value = inputs[name] else {
            throw TaskFailure("missing input '\(name)' for task '\(task)'", retryable: false)
        }
        return value
    }
}
