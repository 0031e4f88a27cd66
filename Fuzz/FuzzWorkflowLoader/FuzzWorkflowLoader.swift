import FlowCore
import FlowSpec

/// libFuzzer entry: any bytes as a workflow file must give a workflow or diagnostics, never a crash.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzWorkflowLoader(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    let signature = ActionSignature(name: "sql", summary: "", inputs: [ActionInput("db", required: true, ""), ActionInput("sql", required: true, "")])
    let loader = WorkflowLoader(actions: ["sql": signature, "shell": ActionSignature(name: "shell", summary: "", inputs: [ActionInput("run", required: true, ""), ActionInput("shell", "")])])
    if case .failure(let diagnostics) = loader.load(text: text, file: "fuzz.yaml", defaultName: "fuzz") {
        precondition(!diagnostics.isEmpty)
        _ = DiagnosticRenderer(sources: ["fuzz.yaml": text]).render(diagnostics)
    }
    return 0
}
