import FlowCore
import FlowSpec
import Testing

@Suite("expressions")
struct ExpressionParserTests {
    let scope = EvaluationScope(
        params: ["mode": "full", "n": "10", "empty": ""],
        outputs: [TaskID("detect-gap"): ["has_gap": "false", "count": "3", "flag": "true"]],
        env: ["HOME": "/root"], runID: 17, runStartedAt: "2026-01-28T21:00:00Z")

    func eval(_ text: String) throws -> Value {
        try ExpressionParser.parse(text).evaluate(in: scope)
    }

    @Test("evaluates", arguments: [
        ("params.mode == 'full'", "true"),
        ("params.mode != 'full'", "false"),
        ("params.n > 9", "true"),
        ("params.n < 9", "false"),
        ("params.n >= 10 && params.n <= 10", "true"),
        ("tasks.detect-gap.outputs.count == 3", "true"),
        ("!tasks.detect-gap.outputs.has_gap", "true"),
        ("tasks.detect-gap.outputs.flag == true", "true"),
        ("tasks.detect-gap.outputs.missing == null", "true"),
        ("params.empty || 'fallback'", "fallback"),
        ("params.mode && 'yes'", "yes"),
        ("(params.mode == 'x' || params.n == 10) && !false", "true"),
        ("run.id", "17"),
        ("run.started_at", "2026-01-28T21:00:00Z"),
        ("env.HOME", "/root"),
        ("'it''s'", "it's"),
        ("\"double\"", "double"),
        ("-2 < 1", "true"),
        ("1.5", "1.5"),
    ])
    func evaluates(_ text: String, _ expected: String) throws {
        #expect(try eval(text).description == expected)
    }

    @Test("truthiness treats 'false', '0', '' and null as false")
    func truthiness() {
        #expect(!Value.string("false").isTruthy)
        #expect(!Value.string("0").isTruthy)
        #expect(!Value.string("").isTruthy)
        #expect(!Value.null.isTruthy)
        #expect(Value.string("no").isTruthy)
        #expect(Value.number(2).isTruthy)
    }

    @Test("rejects", arguments: [
        ("params.x = 1", "unexpected '='"),
        ("params", "'params' takes one name"),
        ("tasks.a.result", "a task is read as 'tasks.ID.outputs.KEY', 'tasks.ID.outputs', 'tasks.ID.status' or 'tasks.ID.error'"),
        ("failed()", "unknown function 'failed()'"),
        ("params.a()", "unknown function 'params.a()'"),
        ("failure(1)", "'failure()' takes no arguments"),
        ("failure", "unknown name 'failure'"),
        ("run.summary", "unknown run property 'summary'"),
        ("run.pid", "unknown run property"),
        ("steps.a", "unknown name 'steps'"),
        ("(params.a", "expected ')'"),
        ("params.a ==", "expected a value"),
        ("'open", "unterminated string"),
        ("a < b < c", "unknown name 'a'"),
        ("params.a params.b", "unexpected"),
        ("params.a # b", "unexpected character '#'"),
    ])
    func rejects(_ text: String, _ message: String) {
        do {
            _ = try ExpressionParser.parse(text)
            Issue.record("'\(text)' parsed")
        } catch {
            #expect(error.message.contains(message), "\(error.message)")
        }
    }

    @Test("status functions, task statuses and the run summary parse to their references and print back")
    func statusReferences() throws {
        let e = try ExpressionParser.parse("failure() || (always() && !cancelled()) || success()")
        #expect(e.references == [.status(.failure), .status(.always), .status(.cancelled), .status(.success)])
        #expect(e.description == "(failure() || (always() && !cancelled())) || success()")
        #expect(try ExpressionParser.parse("tasks.load.status == 'failed'").references == [.taskStatus(TaskID("load"))])
        #expect(try ExpressionParser.parse("tasks.load.error").references == [.taskError(TaskID("load"))])
        #expect(try ExpressionParser.parse("run.summary_json").references == [.runSummary])
        let scope = EvaluationScope(params: [:])
        var failed = scope
        failed.upstream = UpstreamStatus(failed: true)
        #expect(e.evaluate(in: scope).isTruthy)
        #expect(try ExpressionParser.parse("failure()").evaluate(in: failed) == .bool(true))
        #expect(try ExpressionParser.parse("success()").evaluate(in: failed) == .bool(false))
        #expect(try ExpressionParser.parse("success()").evaluate(in: scope) == .bool(true))
        #expect(try ExpressionParser.parse("tasks.x.status").evaluate(in: scope) == .string("pending"))
    }

    @Test("nesting past the bound is refused, not recursed into")
    func deepNesting() {
        let text = String(repeating: "(", count: 500) + "1" + String(repeating: ")", count: 500)
        #expect(throws: ExpressionError.self) { try ExpressionParser.parse(text) }
        let nots = String(repeating: "!", count: 500) + "true"
        #expect(throws: ExpressionError.self) { try ExpressionParser.parse(nots) }
    }

    @Test("templates split text and expressions and render values")
    func templates() throws {
        let parts = try TemplateParser.parse("db=${{ params.mode }}/x ${{ run.id }}")
        #expect(parts.count == 4)
        let template = Template(parts: parts)
        #expect(template.render(in: scope) == "db=full/x 17")
        #expect(template.references == [.param("mode"), .runID])
        // `}}` inside a quoted literal does not close the expression.
        let quoted = try TemplateParser.parse("${{ 'a}}b' }}")
        #expect(Template(parts: quoted).render(in: scope) == "a}}b")
    }

    @Test("a lone expression keeps its type for 'if'")
    func loneExpression() throws {
        let template = Template(parts: try TemplateParser.parse("${{ params.n > 3 }}"))
        #expect(template.evaluate(in: scope) == .bool(true))
    }
}
