import FlowCore
@testable import FlowProcess
import FlowTestSupport
import Foundation
import Testing

@Suite("process table")
struct ProcessTableTests {
    @Test("a live process has its group and a start time before now; a zombie is dead and has none; a reaped pid has no entry")
    func liveZombieGone() throws {
        let me = try #require(ProcessTable.stat(of: getpid()))
        #expect(me.group == getpgrp())
        #expect(!me.isDead)
        let started = try #require(ProcessTable.startTime(of: getpid()))
        #expect(started <= Date() && started > Date(timeIntervalSince1970: 1_500_000_000))

        // A child that exits and is not reaped yet: a zombie.
        let dir = TemporaryDirectory()
        let runner = ProcessCommandRunner(groups: ProcessGroups(), logFolder: dir.path, inherited: InheritedEnvironment([:]),
                                          features: .init(epoll: false))
        let pid = try runner.start(Command(executable: "/bin/sh", arguments: ["-c", "exit 0"], environment: [:],
                                           workingDirectory: dir.path, logPath: dir.path + "/log"))
        var zombie: ProcessTable.Stat?
        for _ in 0..<500 {
            if let stat = ProcessTable.stat(of: pid), stat.isDead { zombie = stat; break }
            usleep(2_000)
        }
        #expect(zombie?.group == pid, "it led its own group")
        #expect(ProcessTable.startTime(of: pid) == nil, "a zombie is not a live process")
        // Reaped: gone from /proc.
        var reaped = false
        for _ in 0..<500 where !reaped {
            reaped = runner.wait(until: .now + .milliseconds(10)).contains { $0.pid == pid }
        }
        #expect(reaped)
        #expect(ProcessTable.stat(of: pid) == nil)
    }
}
