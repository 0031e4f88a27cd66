import FlowCore
import FlowSpec
import FlowTasks
import FlowTestSupport
import MarketData
import Foundation
import Testing

/// Every `Tests/Fixtures/invalid/NAME.yaml` must produce exactly `NAME.stderr`.
/// `FLOW_RECORD_GOLDENS=1 swift test --filter GoldenDiagnostics` re-records them after a deliberate change.
@Suite("invalid workflows render golden diagnostics")
struct GoldenDiagnosticsTests {
    static let folder = Repository.fixtures + "/invalid"

    static var cases: [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
        return names.filter { $0.hasSuffix(".yaml") }.map { String($0.dropLast(5)) }.sorted()
    }

    static func render(_ name: String) -> String {
        let loader = WorkflowLoader(actions: ActionRegistry(BuiltinActions.all + MarketDataActions.all).signatures)
        let dir = TemporaryDirectory()
        // Copied first: fixtures are never opened in place.
        let copy = dir.path + "/\(name).yaml"
        try? FileManager.default.copyItem(atPath: "\(folder)/\(name).yaml", toPath: copy)
        let (outcome, source) = loader.load(path: copy)
        guard case .failure(let diagnostics) = outcome else { return "(no diagnostics)\n" }
        let shown = diagnostics.map { d -> Diagnostic in
            var d = d
            d.location.file = "\(name).yaml"
            return d
        }
        return DiagnosticRenderer(sources: ["\(name).yaml": source]).render(shown)
    }

    @Test("there are at least 40 cases")
    func enoughCases() {
        #expect(Self.cases.count >= 40)
    }

    @Test("each case renders its golden file exactly", arguments: GoldenDiagnosticsTests.cases)
    func golden(_ name: String) throws {
        let actual = Self.render(name)
        let goldenPath = "\(Self.folder)/\(name).stderr"
        if ProcessInfo.processInfo.environment["FLOW_RECORD_GOLDENS"] == "1" {
            try actual.write(toFile: goldenPath, atomically: true, encoding: .utf8)
        }
        let expected = try String(contentsOfFile: goldenPath, encoding: .utf8)
        #expect(actual == expected)
        #expect(actual.contains("\(name).yaml:"))
        #expect(actual.contains(": error: "))
    }
}
