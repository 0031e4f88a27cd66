/// The identity of a task's work: if it is unchanged, a task that succeeded need not run again.
///
/// It covers the task's definition after parameter resolution, the upstream outputs it reads (through
/// the rendered `with:` and `env:` values) and the action's version.
package enum Fingerprint {
    package static func of(_ task: TaskSpec, workflowEnv: [(name: String, value: Template)],
                           actionVersion: String, scope: EvaluationScope) -> String {
        of(task, RenderedTask(task, workflowEnv: workflowEnv, scope: scope), actionVersion: actionVersion,
           masker: scope.fingerprintMasker)
    }

    /// The fingerprint of a task whose values are already rendered (the engine renders them once for both).
    /// `masker` stands each secret in for what the fingerprint may see of it (docs/workflow-syntax.md, secrets):
    /// a rotated API key does not re-run work, a changed secret param does.
    package static func of(_ task: TaskSpec, _ rendered: RenderedTask, actionVersion: String, masker: SecretMasker = .none) -> String {
        // The bytes are laid out by hand: building each field with string interpolation cost three times the
        // hashing (docs/PERFORMANCE.md). The format is pinned by a test: changing it re-runs every task on resume.
        var bytes: [UInt8] = []
        bytes.reserveCapacity(256)
        // A length's digits fit a small string, which needs no allocation.
        func decimal(_ number: Int) { bytes.append(contentsOf: String(number).utf8) }
        // Length-prefixed so that no two different field lists hash the same bytes: "LEN:NAME=LEN:VALUE\n".
        func field(_ prefix: String, _ name: String, _ shown: String) {
            let value = masker.mask(shown)
            decimal(prefix.utf8.count + name.utf8.count)
            bytes.append(UInt8(ascii: ":"))
            bytes.append(contentsOf: prefix.utf8)
            bytes.append(contentsOf: name.utf8)
            bytes.append(UInt8(ascii: "="))
            decimal(value.utf8.count)
            bytes.append(UInt8(ascii: ":"))
            bytes.append(contentsOf: value.utf8)
            bytes.append(UInt8(ascii: "\n"))
        }
        field("", "uses", task.uses)
        field("", "version", actionVersion)
        for (name, value) in rendered.with.sorted(by: { $0.key < $1.key }) { field("with.", name, value) }
        for (name, value) in rendered.env.sorted(by: { $0.key < $1.key }) { field("env.", name, value) }
        if let wd = rendered.workingDirectory { field("", "working_directory", wd) }
        var hash = SHA256()
        hash.update(bytes)
        return hash.finalize()
    }
}

/// A task's `with:` values, environment (the workflow's `env:`, then the task's) and `working_directory`,
/// rendered in one scope: what its fingerprint covers and what its action receives.
package struct RenderedTask: Sendable {
    package var with: [String: String]
    package var env: [String: String]
    package var workingDirectory: String?

    package init(_ task: TaskSpec, workflowEnv: [(name: String, value: Template)], scope: EvaluationScope) {
        var with: [String: String] = [:]
        for (name, value) in task.with { with[name] = value.render(in: scope) }
        var env: [String: String] = [:]
        for (name, value) in workflowEnv { env[name] = value.render(in: scope) }
        for (name, value) in task.env { env[name] = value.render(in: scope) }
        self.with = with
        self.env = env
        workingDirectory = task.workingDirectory?.render(in: scope)
    }
}
