import Foundation

/// Runs the built `flow` executable, as a user would, and captures what it printed.
package struct FlowBinary: Sendable {
    package struct Result: Sendable {
        package var status: Int32
        package var stdout: String
        package var stderr: String
    }

    package static var path: String {
        if let explicit = ProcessInfo.processInfo.environment["FLOW_BINARY"] { return explicit }
        // Tests run from the package's build folder, next to the binary.
        let bundle = Bundle.main.bundleURL.deletingLastPathComponent()
        for candidate in [bundle.appendingPathComponent("flow").path, Repository.root + "/.build/debug/flow"]
        where FileManager.default.isExecutableFile(atPath: candidate) {
            return candidate
        }
        return Repository.root + "/.build/debug/flow"
    }

    /// Runs `flow ARGS` in `directory` and waits for it.
    package static func run(_ arguments: [String], in directory: String, environment: [String: String] = [:]) async throws -> Result {
        let process = try start(arguments, in: directory, environment: environment)
        return await process.wait()
    }

    /// Runs another program (a shell pipeline around flow, `script` for a terminal) with the test environment.
    package static func runProgram(_ program: String, _ arguments: [String], in directory: String,
                                   environment: [String: String] = [:]) async throws -> Result {
        try await start(arguments, in: directory, environment: environment, executable: program).wait()
    }

    /// Starts `flow ARGS` without waiting.
    package static func start(_ arguments: [String], in directory: String, environment: [String: String] = [:],
                              executable: String? = nil) throws -> Running {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable ?? path)
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        var env = ProcessInfo.processInfo.environment
        env["NO_COLOR"] = "1"
        env.removeValue(forKey: "FLOW_STATE")
        env.removeValue(forKey: "FLOW_NOW")
        for (k, v) in environment { env[k] = v }
        process.environment = env
        // Output goes to files, not pipes, so a long run never blocks on a full pipe.
        let out = directory + "/.out-\(UUID().uuidString.prefix(6))"
        _ = FileManager.default.createFile(atPath: out + ".stdout", contents: nil)
        _ = FileManager.default.createFile(atPath: out + ".stderr", contents: nil)
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: out + ".stdout"))
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: out + ".stderr"))
        process.standardInput = FileHandle.nullDevice
        try process.run()
        return Running(process: process, outputBase: out)
    }

    package final class Running: @unchecked Sendable {
        package let process: Process
        let outputBase: String

        init(process: Process, outputBase: String) {
            self.process = process
            self.outputBase = outputBase
        }

        package var pid: Int32 { process.processIdentifier }

        package var stdoutSoFar: String { (try? String(contentsOfFile: outputBase + ".stdout", encoding: .utf8)) ?? "" }

        /// Waits on a dedicated thread, so a test never blocks one of the few concurrency threads.
        package func wait() async -> Result {
            let process = self.process
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                Thread {
                    process.waitUntilExit()
                    continuation.resume()
                }.start()
            }
            let stdout = stdoutSoFar
            let stderr = (try? String(contentsOfFile: outputBase + ".stderr", encoding: .utf8)) ?? ""
            try? FileManager.default.removeItem(atPath: outputBase + ".stdout")
            try? FileManager.default.removeItem(atPath: outputBase + ".stderr")
            let status = process.terminationReason == .uncaughtSignal ? 128 + process.terminationStatus : process.terminationStatus
            return Result(status: status, stdout: stdout, stderr: stderr)
        }

        package func signal(_ number: Int32) { kill(process.processIdentifier, number) }
    }

    /// Polls until `condition` holds or `timeout` passes, without blocking a concurrency thread.
    package static func eventually(timeout: Double = 10, _ condition: () -> Bool) async -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if condition() { return true }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return condition()
    }

}

#if canImport(Glibc)
import Glibc
#endif

/// Runs blocking work (process pipes, large synchronous database reads) on its own thread, so it never
/// holds one of the two concurrency threads this machine has while other tests wait for them.
package func blocking<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
        Thread {
            do { continuation.resume(returning: try body()) } catch { continuation.resume(throwing: error) }
        }.start()
    }
}
