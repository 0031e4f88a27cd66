/// flow's exit codes. Documented in README; scripts depend on them, so never renumber one.
enum FlowExit: Int32, Error {
    case success = 0
    case taskFailed = 1
    case usage = 2
    /// `flow status NAME --check`: a due tick has had no successful run for longer than one interval.
    case stale = 3
    case invalidWorkflow = 65
    case notFound = 66
    case alreadyRunning = 69
    case internalError = 70
    case interrupted = 130
}

/// An error that ends a command with a message on stderr and a specific exit code.
struct CommandFailure: Error, CustomStringConvertible {
    var exit: FlowExit
    var message: String

    init(_ exit: FlowExit, _ message: String) {
        self.exit = exit
        self.message = message
    }

    var description: String { message }
}
