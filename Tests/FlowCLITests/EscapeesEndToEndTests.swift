import Foundation
import FlowTestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

extension EndToEnd {
    /// A task's descendants that leave its process group (`setsid`) do not outlive the task, its timeout or Ctrl-C.
    @Suite("setsid descendants, end to end")
    struct EscapeesEndToEndTests {
        /// Live processes whose command line holds `marker`.
        static func running(_ marker: String) -> [Int32] {
            let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
            return entries.compactMap { entry -> Int32? in
                guard let pid = Int32(entry), let data = FileManager.default.contents(atPath: "/proc/\(entry)/cmdline"),
                      String(decoding: data, as: UTF8.self).replacingOccurrences(of: "\0", with: " ").contains(marker),
                      let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
                      let close = stat.lastIndex(of: ")"), !stat[stat.index(after: close)...].hasPrefix(" Z") else { return nil }
                return pid
            }
        }

        func script(_ marker: String) -> String {
            "setsid sleep \(marker) > /dev/null 2>&1 & setsid sh -c 'sleep \(marker)1' > /dev/null 2>&1 & sleep 0.2"
        }

        @Test("at the task's end", arguments: ["end", "timeout", "interrupt"])
        func escapees(_ how: String) async throws {
            let marker = "30.\(Int.random(in: 100_000...999_999))"
            let p = Project()
            let tail = how == "end" ? "" : "; sleep 30"
            try p.workflow("w", """
                tasks:
                  a:
                    timeout: \(how == "timeout" ? "1s" : "1m")
                    run: \(script(marker))\(tail)
                  b:
                    needs: [a]
                    run: "true"
                """)
            let run = try p.start("run", "w", "--grace", "1s")
            if how == "interrupt" {
                #expect(await FlowBinary.eventually { !Self.running(marker).isEmpty })
                try await Task.sleep(for: .milliseconds(300))
                run.signal(SIGINT)
            }
            let result = await run.wait()
            #expect(result.status == (how == "end" ? 0 : how == "timeout" ? 1 : 130), "\(result.stdout)\(result.stderr)")
            let left = Self.running(marker)
            for pid in left { kill(pid, SIGKILL) }
            #expect(left.isEmpty, "setsid descendants outlived flow run (\(how)): \(left)")
        }
    }
}
