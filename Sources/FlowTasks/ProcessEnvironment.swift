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
        for (index, (_, entry)) in inherited.entries.enumerated() where !replaced[index] { envp.append(entry) }
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
    fileprivate let entries: [(name: String, entry: UnsafeMutablePointer<CChar>)]
    /// Where each name is in `entries`.
    fileprivate let index: [String: Int]

    package init(_ environment: [String: String]) {
        entries = environment.compactMap { name, value in strdup("\(name)=\(value)").map { (name, $0) } }
        index = Dictionary(entries.enumerated().map { ($1.name, $0) }, uniquingKeysWith: { first, _ in first })
    }

    deinit {
        for (_, entry) in entries { free(entry) }
    }
}
