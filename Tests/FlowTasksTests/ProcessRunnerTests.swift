@testable import FlowTasks
import FlowTestSupport
import Foundation
import Testing

@Suite("process runner")
struct ProcessRunnerTests {
    let dir = TemporaryDirectory()

    @Test("concurrent children are each reaped with their own status; a child started by other code keeps its own")
    func concurrentReaping() async throws {
        let groups = ProcessGroups()
        // Another spawner in the same program: the reaper must not take its child's exit status.
        let other = Process()
        other.executableURL = URL(fileURLWithPath: "/bin/sh")
        other.arguments = ["-c", "sleep 0.3; exit 7"]
        try other.run()
        let path = dir.path
        let exits = try await withThrowingTaskGroup(of: (Int, ProcessExit).self) { group in
            for i in 0..<40 {
                // The last one kills itself, to see a signal come back as a signal.
                let script = i == 39 ? "kill -KILL $$" : "sleep 0.0\(i % 10); exit \(i)"
                group.addTask {
                    let spec = ProcessSpec(executable: "/bin/sh", arguments: ["-c", script], environment: [:],
                                           workingDirectory: path, outputPath: path + "/\(i).log")
                    return (i, try await ProcessRunner.run(spec, groups: groups, grace: .seconds(1)))
                }
            }
            var all: [Int: ProcessExit] = [:]
            for try await (i, exit) in group { all[i] = exit }
            return all
        }
        for i in 0..<39 { #expect(exits[i] == ProcessExit(exitCode: Int32(i), signal: nil), "child \(i)") }
        #expect(exits[39] == ProcessExit(exitCode: nil, signal: SIGKILL))
        let status = try await blocking {
            other.waitUntilExit()
            return other.terminationStatus
        }
        #expect(status == 7)
    }
}
