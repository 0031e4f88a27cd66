import FlowCore
import FlowProcess
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A run's secrets: the values of the workflow's `secrets:` (flow's environment first, then its `env_file:`),
/// the project key that hashes secret params, and what is masked because of both.
struct RunSecrets {
    /// The workflow's `secrets:` that have a value, by name.
    var values: [String: String] = [:]
    /// Every declared secret name: taken out of what tasks inherit, set or not.
    var withheld: Set<String> = []
    var secretParams: Set<String> = []
    /// The project's key for secret params; nil when the workflow has none.
    var key: [UInt8]?

    static let none = RunSecrets()

    /// Reads the secrets' values and, for a workflow with secret params, the project key (made on first use).
    static func load(for workflow: Workflow, projectDirectory: String, stateDirectory: String,
                     makeKey: Bool = true) throws(CommandFailure) -> RunSecrets {
        var secrets = RunSecrets()
        let withheld = Set(workflow.secrets)
        secrets.withheld = withheld
        if !withheld.isEmpty { secrets.inherited = HostEnvironment.all.filter { !withheld.contains($0.key) } }
        secrets.secretParams = workflow.secretParams
        var fromFile: [String: String] = [:]
        if let envFile = workflow.envFile, !workflow.secrets.isEmpty {
            fromFile = try Self.readEnvFile(FilePath.resolve(envFile, in: projectDirectory), shown: envFile)
        }
        for name in workflow.secrets {
            guard let value = HostEnvironment.value(name) ?? fromFile[name], !value.isEmpty else { continue }
            secrets.values[name] = value
            if value.count < 4 {
                Console.err("flow: warning: secret \(name) is \(value.count) character\(value.count == 1 ? "" : "s") long: every occurrence of it in any log becomes ***")
            }
        }
        if !workflow.secretParams.isEmpty { secrets.key = try Self.projectKey(in: stateDirectory, make: makeKey) }
        return secrets
    }

    /// flow's environment as tasks inherit it: without the withheld names (worked out once, in `load`).
    private(set) var inherited = HostEnvironment.all

    /// What is masked in everything the run writes: every secret's value and every secret param's.
    func masker(params: [String: String]) -> SecretMasker {
        SecretMasker(secrets: Array(values.values) + secretParams.compactMap { params[$0] })
    }

    /// What a fingerprint sees: a secret as `***` (a rotated key re-runs nothing), a secret param as its keyed
    /// hash (another value is other work).
    func fingerprintMasker(params: [String: String]) -> SecretMasker {
        var pairs = values.values.map { (value: $0, replacement: "***") }
        for name in secretParams { if let value = params[name] { pairs.append((value, stored(value))) } }
        return SecretMasker(replacing: pairs)
    }

    /// How params are stored: a secret param as its keyed hash, never in clear.
    func stored(_ params: [String: String]) -> [String: String] {
        guard !secretParams.isEmpty else { return params }
        var out = params
        for name in secretParams { if let value = params[name] { out[name] = stored(value) } }
        return out
    }

    func stored(_ value: String) -> String { KeyedHash.stored(value, key: key ?? []) }

    // MARK: files

    static func readEnvFile(_ path: String, shown: String) throws(CommandFailure) -> [String: String] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            let reason = String(cString: strerror(errno))
            throw CommandFailure(.usage, "flow: cannot read env_file '\(shown)' (\(path)): \(reason)\nnote: create it with NAME=value lines, or remove 'env_file:' from the workflow")
        }
        defer { close(fd) }
        var info = stat()
        if fstat(fd, &info) == 0, info.st_mode & 0o077 != 0 {
            Console.err("flow: warning: env_file '\(shown)' can be read by other users; chmod 600 \(ShellQuote.word(path))")
        }
        guard let bytes = FileInput.readAll(fd, limit: 1 << 20) else {
            throw CommandFailure(.usage, "flow: env_file '\(shown)' is not a readable file of at most 1 MiB")
        }
        do throws(EnvFile.Failure) {
            return try EnvFile.parse(String(decoding: bytes, as: UTF8.self))
        } catch {
            throw CommandFailure(.usage, "flow: \(path):\(error.line): \(error.message)\nnote: docs/workflow-syntax.md#secrets describes the format")
        }
    }

    /// 32 random bytes in `secret.key`, readable by the owner only; made once, atomically, by whoever needs it first.
    static func projectKey(in stateDirectory: String, make: Bool) throws(CommandFailure) -> [UInt8] {
        let path = stateDirectory + "/secret.key"
        if !make && access(path, F_OK) != 0 { return [] }
        for _ in 0..<2 {
            let existing = open(path, O_RDONLY | O_CLOEXEC)
            if existing >= 0 {
                defer { close(existing) }
                guard let key = FileInput.readAll(existing, limit: 64), key.count == 32 else {
                    throw CommandFailure(.internalError, "flow: \(path) is not a 32-byte key; move it away to make a new one (stored secret params then no longer match)")
                }
                return key
            }
            do {
                try FileManager.default.createDirectory(atPath: stateDirectory, withIntermediateDirectories: true)
            } catch {
                throw CommandFailure(.internalError, "flow: cannot create \(stateDirectory): \(error.localizedDescription)")
            }
            var generator = SystemRandomNumberGenerator()
            let key = (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }
            let temporary = path + ".\(getpid()).tmp"
            let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
            guard fd >= 0 else { throw CommandFailure(.internalError, "flow: cannot create \(temporary): \(String(cString: strerror(errno)))") }
            let written = key.withUnsafeBufferPointer { FileOutput.writeAll($0, to: fd) } == 0 && fsync(fd) == 0
            close(fd)
            // link(2) fails if another process made the key first: then that one is read.
            defer { unlink(temporary) }
            if written, link(temporary, path) == 0 { return key }
        }
        throw CommandFailure(.internalError, "flow: cannot create \(path)")
    }
}
