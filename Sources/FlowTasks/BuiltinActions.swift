import FlowCore

/// The actions every workflow can use. Adding one: a new `Action` type in its own file, listed here.
package enum BuiltinActions {
    package static func all(groups: ProcessGroups) -> [any Action] {
        [
            ShellAction(groups: groups),
            SQLAction(),
            HealthCheckAction(),
        ]
    }
}
