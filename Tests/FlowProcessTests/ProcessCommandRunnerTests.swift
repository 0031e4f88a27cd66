import FlowCore
@testable import FlowProcess
import FlowTestSupport
import Foundation
import Testing

@Suite("process command runner")
struct ProcessCommandRunnerTests {
    let dir = TemporaryDirectory()

    static let everyWay: [(String, ProcessCommandRunner.Features)] = [
        ("pidfd + epoll", .init()),
        ("no pidfd: a reaping thread per child", .init(pidfd: false)),
        ("no epoll: polling", .init(epoll: false)),
        ("epoll fails while children run: polling from then on", .init(epollFailsAfter: 3)),
    ]

    /// Starts `commands` on `runner` and waits until every leader is reaped, as the engine's loop would.
    static func runAll(_ commands: [Command], on runner: ProcessCommandRunner, grace: Duration = .seconds(1)) throws -> [ProcessExit] {
        var byPID: [Int32: Int] = [:]
        for (i, command) in commands.enumerated() { byPID[try runner.start(command)] = i }
        var exits = [ProcessExit?](repeating: nil, count: commands.count)
        let deadline = ContinuousClock.now + .seconds(30)
        while exits.contains(where: { $0 == nil }), ContinuousClock.now < deadline {
            for end in runner.wait(until: deadline) {
                guard let i = byPID[end.pid] else { continue }
                exits[i] = end.exit
                runner.release(end.pid, grace: grace)
            }
        }
        return exits.map { $0 ?? .unknown }
    }

    func command(_ executable: String, _ arguments: [String], environment: [String: String] = [:], in folder: String? = nil,
                 log: String) -> Command {
        Command(executable: executable, arguments: arguments, environment: environment, workingDirectory: folder ?? dir.path,
                logPath: dir.path + "/" + log)
    }

    func runner(_ features: ProcessCommandRunner.Features = .init(), inherited: [String: String] = [:]) -> ProcessCommandRunner {
        ProcessCommandRunner(groups: ProcessGroups(), logFolder: dir.path, inherited: InheritedEnvironment(inherited), features: features)
    }

    @Test("concurrent children are each reaped with their own status, however the kernel lets flow wait; a child started by other code keeps its own",
          arguments: everyWay)
    func concurrentReaping(_ way: String, _ features: ProcessCommandRunner.Features) async throws {
        // Another spawner in the same program: the reaper must not take its child's exit status.
        let other = Process()
        other.executableURL = URL(fileURLWithPath: "/bin/sh")
        other.arguments = ["-c", "sleep 0.3; exit 7"]
        try other.run()
        let commands = (0..<40).map { i in
            // The last one kills itself, to see a signal come back as a signal.
            command("/bin/sh", ["-c", i == 39 ? "kill -KILL $$" : "sleep 0.0\(i % 10); exit \(i)"], log: "\(i).log")
        }
        let exits = try Self.runAll(commands, on: runner(features))
        for i in 0..<39 { #expect(exits[i] == ProcessExit(exitCode: Int32(i), signal: nil), "\(way): child \(i)") }
        #expect(exits[39] == ProcessExit(exitCode: nil, signal: SIGKILL), "\(way)")
        let status = try await blocking {
            other.waitUntilExit()
            return other.terminationStatus
        }
        #expect(status == 7)
    }

    @Test("a task's variables replace inherited ones of the same name; every other inherited variable passes through once")
    func environmentBlock() async throws {
        let inherited = ["PATH": "/usr/bin:/bin", "KEEP": "inherited", "SWAP": "inherited", "EMPTY": ""]
        // env(1) itself, not a shell: a shell would merge a duplicated name and hide it.
        let env = command("/usr/bin/env", [], environment: ["SWAP": "task", "NEW": "a=b c"], log: "env.log")
        let exits = try Self.runAll([env], on: runner(inherited: inherited))
        #expect(exits == [ProcessExit(exitCode: 0, signal: nil)])
        let lines = (dir.read("env.log") ?? "").split(separator: "\n").map(String.init).sorted()
        #expect(lines == ["EMPTY=", "KEEP=inherited", "NEW=a=b c", "PATH=/usr/bin:/bin", "SWAP=task"])
    }

    @Test("a child gets its own group, /dev/null stdin, only fds 0-2, no blocked or runner-ignored signals, its directory")
    func childEnvironment() async throws {
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
        let sh = command("sh", ["-c", script], environment: ["PATH": "/usr/bin:/bin"], in: dir.path + "/work", log: "out.log")
        let exits = try Self.runAll([sh], on: runner())
        #expect(exits == [ProcessExit(exitCode: 0, signal: nil)])
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
        let missing = command("/no/such/program", [], log: "out.log")
        // The children of this thread before and after: other tests' processes come and go on other threads,
        // and nothing suspends between the two reads, so a new one here is the failed spawn's.
        // (A `waitpid(-1)` here would reap, and race with, the children of tests running alongside.)
        let before = Self.threadChildren()
        #expect {
            _ = try ProcessSpawner.spawn(missing, inherited: InheritedEnvironment([:]))
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
