import FlowCore
import FlowSpec
import FlowTestSupport
import Foundation
import Testing

/// Inputs the fuzzers found crashing, kept so the crash never returns. Each must load or fail with diagnostics.
@Suite("fuzz regressions")
struct FuzzRegressionTests {
    static var cases: [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: Repository.fixtures + "/fuzz-regressions")) ?? []).sorted()
    }

    @Test("each input found by the fuzzer loads or fails cleanly", arguments: FuzzRegressionTests.cases)
    func regression(_ name: String) throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: Repository.fixtures + "/fuzz-regressions/" + name))
        let loader = WorkflowLoader(actions: [
            "sql": ActionSignature(name: "sql", summary: "", inputs: [ActionInput("db", required: true, ""), ActionInput("sql", required: true, "")]),
        ])
        let text = String(decoding: data, as: UTF8.self)
        let started = ContinuousClock.now
        defer { #expect(ContinuousClock.now - started < .seconds(2), "\(name) must fail fast") }
        if case .failure(let diagnostics) = loader.load(text: text, file: "f.yaml", defaultName: "f") {
            #expect(!diagnostics.isEmpty)
            let lines = WorkflowLoader.normalizeLineBreaks(text).split(separator: "\n", omittingEmptySubsequences: false).count
            #expect(diagnostics.allSatisfy { $0.location.line >= 1 && $0.location.line <= lines })
        }
    }

    @Test("a bare carriage return is a line break, as libyaml counts it")
    func bareCR() {
        #expect(WorkflowLoader.normalizeLineBreaks("a\r\nb\rc\n") == "a\nb\nc\n")
    }
}
