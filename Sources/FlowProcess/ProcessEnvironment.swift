#if canImport(Glibc)
import Glibc
#endif

/// The environment a task's process gets: what flow inherited, converted to `NAME=value` C strings once per
/// action rather than once per task, and the task's own variables, which replace inherited ones of the same
/// name.
package struct ProcessEnvironment: Sendable, ExpressibleByDictionaryLiteral {
    package let inherited: InheritedEnvironment
    package var variables: [String: String]

    package init(inherited: InheritedEnvironment, variables: [String: String]) {
        self.inherited = inherited
        self.variables = variables
    }

    package init(dictionaryLiteral elements: (String, String)...) {
        self.init(inherited: InheritedEnvironment([:]), variables: Dictionary(elements, uniquingKeysWith: { $1 }))
    }

    /// Calls `body` with a NULL-terminated `envp` for `program`'s execve, valid only during the call.
    func withEnvp<R>(for program: String, _ body: ([UnsafeMutablePointer<CChar>?]) throws -> R) throws -> R {
        // A task sets a few variables and inherits dozens: look up the few among the inherited, not the reverse.
        var replaced = [Bool](repeating: false, count: inherited.entries.count)
        for name in variables.keys {
            if let index = inherited.index[name] { replaced[index] = true }
        }
        var envp: [UnsafeMutablePointer<CChar>?] = []
        envp.reserveCapacity(inherited.entries.count + variables.count + 1)
        for (index, entry) in inherited.entries.enumerated() where !replaced[index] { envp.append(entry) }
        let own = variables.map { strdup("\($0.key)=\($0.value)") }
        defer { for entry in own { free(entry) } }
        // A NULL in the middle would end the environment early, silently dropping the rest.
        guard !own.contains(nil) else { throw ProcessError.spawnFailed(program, ENOMEM) }
        envp += own
        envp.append(nil)
        return try withExtendedLifetime(inherited) { try body(envp) }
    }
}

/// Environment entries as C strings, made once and only read afterwards (hence `@unchecked Sendable`).
package final class InheritedEnvironment: @unchecked Sendable {
    /// `NAME=value` strings.
    fileprivate let entries: [UnsafeMutablePointer<CChar>]
    /// Where each name's entry is in `entries`.
    fileprivate let index: [String: Int]

    package init(_ environment: [String: String]) {
        var entries: [UnsafeMutablePointer<CChar>] = []
        var index: [String: Int] = [:]
        for (name, value) in environment {
            guard let entry = strdup("\(name)=\(value)") else { continue }
            index[name] = entries.count
            entries.append(entry)
        }
        self.entries = entries
        self.index = index
    }

    deinit {
        for entry in entries { free(entry) }
    }
}
