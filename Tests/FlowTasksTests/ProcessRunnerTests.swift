@testable import FlowTasks
import FlowCore
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

    @Test("a task's variables replace inherited ones of the same name; every other inherited variable passes through once")
    func environmentBlock() async throws {
        let inherited = InheritedEnvironment(["PATH": "/usr/bin:/bin", "KEEP": "inherited", "SWAP": "inherited", "EMPTY": ""])
        // env(1) itself, not a shell: a shell would merge a duplicated name and hide it.
        let spec = ProcessSpec(executable: "/usr/bin/env", arguments: [],
                               environment: ProcessEnvironment(inherited: inherited, variables: ["SWAP": "task", "NEW": "a=b c"]),
                               workingDirectory: dir.path, outputPath: dir.path + "/env.log")
        let exit = try await ProcessRunner.run(spec, groups: ProcessGroups(), grace: .seconds(1))
        #expect(exit == ProcessExit(exitCode: 0, signal: nil))
        let lines = (dir.read("env.log") ?? "").split(separator: "\n").map(String.init).sorted()
        #expect(lines == ["EMPTY=", "KEEP=inherited", "NEW=a=b c", "PATH=/usr/bin:/bin", "SWAP=task"])
    }

    @Test("a child gets its own group, /dev/null stdin, only fds 0-2, no blocked or runner-ignored signals, its directory")
    func childEnvironment() async throws {
        let groups = ProcessGroups()
        try FileManager.default.createDirectory(atPath: dir.path + "/work", withIntermediateDirectories: true)
        // Something the runner holds open that must not leak into the task.
        let held = open(dir.path + "/held", O_WRONLY | O_CREAT, 0o644)
        defer { close(held) }
        let script = """
            echo "pgid=$(ps -o pgid= -p $$ | tr -d ' ') pid=$$"
            echo "stdin=$(readlink /proc/$$/fd/0)"
            printf 'fds='; ls /proc/$$/fd | sort -n | tr '\\n' ' '; echo
            echo "cwd=$(pwd)"
            # Read by a process that only inherited the mask: the shell itself blocks signals around its forks.
            exec grep -E '^Sig(Blk|Ign):' /proc/self/status
            """
        let spec = ProcessSpec(executable: "sh", arguments: ["-c", script], environment: ["PATH": "/usr/bin:/bin"],
                               workingDirectory: dir.path + "/work", outputPath: dir.path + "/out.log")
        let exit = try await ProcessRunner.run(spec, groups: groups, grace: .seconds(1))
        #expect(exit == ProcessExit(exitCode: 0, signal: nil))
        let text = dir.read("out.log") ?? ""
        let lines = text.split(separator: "\n").map(String.init)
        let ids = lines.first { $0.hasPrefix("pgid=") } ?? ""
        let parts = ids.split(separator: " ").map { $0.split(separator: "=").last.map(String.init) ?? "" }
        #expect(parts.count == 2 && parts[0] == parts[1], "the task leads its own process group: \(ids)")
        #expect(lines.contains("stdin=/dev/null"), "\(text)")
        // The shell's own descriptors (a pipeline's ends live in its children): 0-2 and nothing of the runner's.
        #expect(lines.contains("fds=0 1 2 "), "\(text)")
        #expect(lines.contains { $0.hasPrefix("SigBlk:") && $0.hasSuffix("0000000000000000") }, "\(text)")
        let ignored = lines.first { $0.hasPrefix("SigIgn:") }.flatMap { UInt64($0.split(separator: "\t").last ?? "", radix: 16) } ?? 1
        for signal in [SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGPIPE] {
            #expect(ignored & (1 << UInt64(signal - 1)) == 0, "signal \(signal) is not ignored in the task")
        }
        #expect(lines.contains { $0.hasPrefix("cwd=") && $0.hasSuffix("/work") }, "\(text)")
    }

    @Test("a program that does not exist is a spawn error naming it, and leaves no child")
    func missingProgram() async throws {
        let spec = ProcessSpec(executable: "/no/such/program", arguments: [], environment: [:], workingDirectory: dir.path,
                               outputPath: dir.path + "/out.log")
        // The children of this thread before and after: other tests' processes come and go on other threads,
        // and nothing suspends between the two reads, so a new one here is the failed spawn's.
        // (A `waitpid(-1)` here would reap, and race with, the children of tests running alongside.)
        let before = Self.threadChildren()
        #expect {
            _ = try ProcessRunner.spawn(spec)
        } throws: { error in
            "\(error)" == "cannot start '/no/such/program': No such file or directory"
        }
        let left = Self.threadChildren().subtracting(before)
        #expect(left.isEmpty, "the failed spawn left child \(left)")
    }

    /// This thread's children (zombies included), from /proc.
    static func threadChildren() -> Set<Substring> {
        let text = (try? String(contentsOfFile: "/proc/thread-self/children", encoding: .utf8)) ?? ""
        return Set(text.split(separator: " "))
    }
}
