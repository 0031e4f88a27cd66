import FlowCore

/// The actions every workflow can use. Adding one: a new `InProcessAction` or `ProcessAction` type in its own
/// file, listed here.
package enum BuiltinActions {
    package static let all: [any Action] = [
        ShellAction(),
        SQLAction(),
        HealthCheckAction(),
        HTTPPostAction(),
    ]
}
