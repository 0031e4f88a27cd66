import FlowCore
import FlowSpec
import FlowTasks
import FlowTestSupport
import Foundation
import MarketData
import Testing

@Suite("hostile workflow files")
struct HostileInputTests {
    @Test("every file of the corpus loads or fails with positioned diagnostics, quickly, without crashing")
    func corpus() throws {
        let loader = WorkflowLoader(actions: ActionRegistry(BuiltinActions.all + MarketDataActions.all).signatures)
        let dir = TemporaryDirectory()
        let cases = HostileCorpus.cases()
        // scripts/faults.sh asks for the corpus on disk to time each file through the release binary.
        let keep = ProcessInfo.processInfo.environment["FLOW_WRITE_CORPUS"]
        var rejected = 0
        var slowest: (String, Duration) = ("", .zero)
        for c in cases {
            let path = dir.path + "/\(c.name).yaml"
            try Data(c.bytes).write(to: URL(fileURLWithPath: path))
            if let keep { try Data(c.bytes).write(to: URL(fileURLWithPath: "\(keep)/\(c.name).yaml")) }
            let started = ContinuousClock.now
            let (outcome, _) = loader.load(path: path)
            let elapsed = ContinuousClock.now - started
            if elapsed > slowest.1 { slowest = (c.name, elapsed) }
            guard case .failure(let diagnostics) = outcome else { continue }
            rejected += 1
            #expect(!diagnostics.isEmpty, "\(c.name)")
            let lineCount = c.bytes.filter { $0 == 10 }.count + 1
            for d in diagnostics {
                #expect(d.location.file == path && d.location.line >= 1 && d.location.column >= 1 && d.location.line <= lineCount,
                        "\(c.name): \(d.location) \(d.message)")
            }
        }
        #expect(rejected >= 200, "\(rejected) of \(cases.count) rejected")
        // Debug builds are ~10× slower than release; the 100 ms per file promise is measured by scripts/faults.sh.
        #expect(slowest.1 < .seconds(1), "slowest: \(slowest.0) \(slowest.1)")
    }
}
