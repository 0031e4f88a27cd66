import FlowCore
import FlowSpec
import FlowTasks
import MarketData
import Testing

@Suite("inputs that are code")
struct CodeInputTests {
    let signatures = ActionRegistry(BuiltinActions.all + MarketDataActions.all).signatures

    func diagnosticsOf(_ text: String) -> [Diagnostic] {
        if case .failure(let d) = WorkflowLoader(actions: signatures).load(text: text, file: "w.yaml", defaultName: "w") { return d }
        return []
    }

    @Test("every registered input that holds a script or SQL is declared code, so the validator refuses ${{ }} in it")
    func scriptsAreCode() {
        let codeNames: Set<String> = ["run", "script", "command", "sql", "query"]
        for (action, signature) in signatures {
            for input in signature.inputs where codeNames.contains(input.name) {
                guard case .code = input.kind else {
                    Issue.record("input '\(input.name)' of action '\(action)' takes code but is declared \(input.kind)")
                    continue
                }
            }
        }
        #expect(signatures["shell"]?.inputs.first { $0.name == "run" }?.kind == .code(.environment))
        #expect(signatures["sql"]?.inputs.first { $0.name == "sql" }?.kind == .code(.sqlParameters(bindings: "bind")))
    }

    @Test("a code input's hint names the way its values travel", arguments: [
        ("shell", "run", "echo ${{ params.who }}", "    WHO: ${{ params.who }}"),
        ("sql", "sql", "SELECT '${{ tasks.a.outputs.name }}'", "    name: ${{ tasks.a.outputs.name }}"),
    ])
    func hints(action: String, input: String, text: String, note: String) throws {
        let extra = action == "sql" ? "      db: x.db\n" : ""
        let yaml = """
            params:
              who: x
            tasks:
              a:
                run: "true"
              b:
                needs: [a]
                uses: \(action)
                with:
            \(extra)      \(input): "\(text)"
            """
        let diagnostics = diagnosticsOf(yaml)
        let error = try #require(diagnostics.first { $0.message.contains("expressions are not allowed in 'with.\(input)'") })
        #expect(error.notes.contains(note), "\(error.notes)")
    }

    @Test("bind values may use expressions, and their names are checked")
    func bindNames() throws {
        let good = diagnosticsOf("""
            tasks:
              q:
                uses: sql
                with:
                  db: x.db
                  sql: SELECT :a
                  bind:
                    a: ${{ run.id }}
            """)
        #expect(good.isEmpty, "\(good)")
        let bad = diagnosticsOf("""
            tasks:
              q:
                uses: sql
                with:
                  db: x.db
                  sql: SELECT 1
                  bind:
                    "a; DROP": x
                  bindd: y
            """)
        let messages = bad.map(\.message)
        #expect(messages.contains { $0.contains("'a; DROP' is not a parameter name in 'with.bind'") }, "\(messages)")
        #expect(messages.contains { $0.contains("unknown input 'bindd'") }, "\(messages)")
    }
}
