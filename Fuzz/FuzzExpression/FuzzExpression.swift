import FlowCore
import FlowSpec

/// libFuzzer entry: expressions and templates parse or fail cleanly; parsed ones evaluate.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzExpression(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    let scope = EvaluationScope(params: ["a": "1", "b": "x"], outputs: [TaskID("t"): ["k": "false"]], env: ["HOME": "/"])
    if let e = try? ExpressionParser.parse(text) { _ = e.evaluate(in: scope).isTruthy }
    if let parts = try? TemplateParser.parse(text) { _ = Template(parts: parts).render(in: scope) }
    return 0
}
