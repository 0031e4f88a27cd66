import FlowCore
import FlowSpec
import FlowTasks
import FlowTestSupport
import MarketData
import Foundation
import Testing

@Suite("loading valid workflows")
struct WorkflowLoaderTests {
    let loader = WorkflowLoader(actions: ActionRegistry(BuiltinActions.all + MarketDataActions.all).signatures)

    func load(_ text: String, name: String = "test") throws -> Workflow {
        switch loader.load(text: text, file: "\(name).yaml", defaultName: name) {
        case .success(let workflow): return workflow
        case .failure(let diagnostics):
            Issue.record("unexpected diagnostics: \(DiagnosticRenderer().render(diagnostics))")
            throw CancellationError()
        }
    }

    func diagnostics(_ text: String) -> [Diagnostic] {
        if case .failure(let d) = loader.load(text: text, file: "t.yaml", defaultName: "t") { return d }
        return []
    }

    @Test("defaults apply to tasks that do not override them")
    func defaultsApply() throws {
        let wf = try load("""
            defaults:
              retries: 2
              retry_delay: 10s
              timeout: 5m
              shell: bash
            tasks:
              a:
                run: echo a
              b:
                retries: 0
                timeout: 1s
                shell: sh
                run: echo b
            """)
        let a = try #require(wf.task(TaskID("a")))
        let b = try #require(wf.task(TaskID("b")))
        #expect(a.retry.retries == 2 && a.retry.delay == .seconds(10) && a.timeout == .seconds(300))
        #expect(a.with.first { $0.name == "shell" }?.value.description == "bash")
        #expect(b.retry.retries == 0 && b.retry.delay == .seconds(10) && b.timeout == .seconds(1))
        #expect(b.with.first { $0.name == "shell" }?.value.description == "sh")
    }

    @Test("name defaults to the file stem; params keep file order; max_parallel is read")
    func topLevel() throws {
        let wf = try load("""
            description: demo
            max_parallel: 7
            params:
              b: 2
              a: x
              c:
            tasks:
              t:
                run: "true"
            """, name: "stem")
        #expect(wf.name == "stem")
        #expect(wf.description == "demo")
        #expect(wf.maxParallel == 7)
        #expect(wf.params.map(\.name) == ["b", "a", "c"])
        #expect(wf.params.map(\.value) == ["2", "x", ""])
    }

    @Test("a merge key brings in shared settings without overriding the task's own")
    func mergeKeys() throws {
        let merged = try load("""
            tasks:
              base:
                run: echo base
                retries: 3
              a: &a
                run: echo a
                timeout: 10s
              b:
                <<: *a
                timeout: 2s
            """)
        let b = try #require(merged.task(TaskID("b")))
        #expect(b.timeout == .seconds(2))
        #expect(b.with.first { $0.name == "run" }?.value.description == "echo a")
    }

    @Test("CRLF line ends and a UTF-8 BOM load like plain files")
    func lineEndsAndBOM() throws {
        let dir = TemporaryDirectory()
        let text = "tasks:\r\n  a:\r\n    run: echo a\r\n  b:\r\n    needs: [a]\r\n    run: echo b\r\n"
        var data = Data([0xEF, 0xBB, 0xBF])
        data.append(Data(text.utf8))
        let path = dir.path + "/crlf.yaml"
        try data.write(to: URL(fileURLWithPath: path))
        let (outcome, _) = loader.load(path: path)
        guard case .success(let wf) = outcome else {
            Issue.record("CRLF file did not load")
            return
        }
        #expect(wf.tasks.map(\.id.rawValue) == ["a", "b"])
        #expect(wf.task(TaskID("b"))?.needs == [TaskID("a")])
    }

    @Test("'if' accepts a bare expression, a ${{ }} template and a boolean")
    func conditionForms() throws {
        let wf = try load("""
            params:
              mode: full
            tasks:
              a:
                if: params.mode == 'full'
                run: echo a
              b:
                if: ${{ params.mode != 'full' }}
                run: echo b
              c:
                if: false
                run: echo c
            """)
        let scope = EvaluationScope(params: ["mode": "full"])
        #expect(wf.task(TaskID("a"))?.condition?.evaluate(in: scope).isTruthy == true)
        #expect(wf.task(TaskID("b"))?.condition?.evaluate(in: scope).isTruthy == false)
        #expect(wf.task(TaskID("c"))?.condition?.evaluate(in: scope).isTruthy == false)
    }

    @Test("every problem in a file is reported in one pass, sorted by position")
    func allErrorsAtOnce() {
        let d = diagnostics("""
            tasks:
              a:
                need: [b]
                run: echo a
              b:
                retries: lots
                run: echo b
              c:
                needs: [zzz]
                run: echo c
            """)
        #expect(d.count == 3)
        #expect(d.map(\.location.line) == [3, 6, 9])
        #expect(d == d.sorted())
    }

    @Test("a long 'needs' list: every name resolves, a repeat and an unknown name are reported where they are written")
    func longNeeds() throws {
        let layer = (0..<30).map { "p\($0)" }
        var text = "tasks:\n" + layer.map { "  \($0):\n    run: echo \($0)\n" }.joined()
        text += "  all:\n    needs: [\(layer.joined(separator: ", "))]\n    run: echo all\n"
        let wf = try load(text)
        let all = try #require(wf.index(of: TaskID("all")))
        #expect(TaskGraph(wf).dependencies[all] == Array(0..<30))
        #expect(wf.needIndices[all] == (0..<30).map { Optional($0) })

        let broken = text.replacingOccurrences(of: "needs: [p0, p1,", with: "needs: [p0, p1, p0, px,")
        let d = diagnostics(broken)
        #expect(d.map(\.message).sorted() == ["task 'all' lists 'p0' in 'needs' twice", "task 'all' needs unknown task 'px'"])
        #expect(d.allSatisfy { $0.location.line == 63 }, "\(d.map(\.location))")
        #expect(d.map(\.location.column).sorted() == [21, 25], "each at its own entry")
    }

    @Test("an alias bomb is refused quickly without expanding it")
    func aliasBomb() {
        let lines = ["a: &a [x,x,x,x,x,x,x,x,x,x]"] + (1...9).map { i in
            let prev = String(UnicodeScalar(UInt8(96 + i)))
            let name = String(UnicodeScalar(UInt8(97 + i)))
            return "\(name): &\(name) [" + Array(repeating: "*\(prev)", count: 10).joined(separator: ",") + "]"
        }
        let started = ContinuousClock.now
        let d = diagnostics(lines.joined(separator: "\n") + "\ntasks:\n  t:\n    run: x\n")
        let elapsed = ContinuousClock.now - started
        #expect(d.first?.message.contains("more than 100000 nodes") == true)
        #expect(elapsed < .seconds(2), "bounded work, far below what expansion would take")
    }

    @Test("a file over the size bound is refused without being parsed")
    func oversized() throws {
        let dir = TemporaryDirectory()
        let path = try dir.write("big.yaml", "tasks:\n  a:\n    run: echo a\n# " + String(repeating: "x", count: 1_100_000) + "\n")
        let (outcome, _) = loader.load(path: path)
        guard case .failure(let d) = outcome else {
            Issue.record("oversized file loaded")
            return
        }
        #expect(d.first?.message.contains("larger than") == true)
    }

    @Test("every workflow shipped in workflows/ validates with zero diagnostics")
    func shippedWorkflows() throws {
        let folder = Repository.root + "/workflows"
        let files = try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.hasSuffix(".yaml") }
        #expect(!files.isEmpty)
        for file in files {
            let (outcome, _) = loader.load(path: "\(folder)/\(file)")
            if case .failure(let d) = outcome {
                Issue.record("\(file): \(DiagnosticRenderer().render(d))")
            }
        }
    }
}
