/// The identity of a task's work: if it is unchanged, a task that succeeded need not run again.
///
/// It covers the task's definition after parameter resolution, the upstream outputs it reads (through
/// the rendered `with:` and `env:` values) and the action's version.
package enum Fingerprint {
    package static func of(_ task: TaskSpec, workflowEnv: [(name: String, value: Template)],
                           actionVersion: String, scope: EvaluationScope) -> String {
        var hash = SHA256()
        func field(_ name: String, _ value: String) {
            // Length-prefixed so that no two different field lists hash the same bytes.
            hash.update("\(name.utf8.count):\(name)=\(value.utf8.count):\(value)\n")
        }
        field("uses", task.uses)
        field("version", actionVersion)
        for (name, value) in task.with.sorted(by: { $0.name < $1.name }) {
            field("with.\(name)", value.render(in: scope))
        }
        var env: [String: String] = [:]
        for (name, value) in workflowEnv { env[name] = value.render(in: scope) }
        for (name, value) in task.env { env[name] = value.render(in: scope) }
        for (name, value) in env.sorted(by: { $0.key < $1.key }) { field("env.\(name)", value) }
        if let wd = task.workingDirectory { field("working_directory", wd.render(in: scope)) }
        return hash.finalize()
    }
}
