import Foundation
import FlowTestSupport
#if canImport(Glibc)
import Glibc
#endif

/// `flow serve --listen 127.0.0.1:0` on a project, for the life of the value; requests go through
/// `Tests/Fixtures/http_probe.py` (Python's http.client), a client that is not flow's own.
final class WebServer: @unchecked Sendable {
    let project: Project
    let running: FlowBinary.Running
    private(set) var port = 0
    private(set) var token: String?

    struct Reply: Decodable {
        var status: Int
        var headers: [String: String]
        var body: String?
        var events: [Event]?
        struct Event: Decodable { var event: String; var data: String }
    }

    init(_ project: Project, _ extra: [String] = [], env: [String: String] = [:]) async throws {
        self.project = project
        running = try project.start(arguments: ["serve", "--listen", "127.0.0.1:0"] + extra, env: env)
        _ = await FlowBinary.eventually(timeout: 20) { self.running.stdoutSoFar.contains("flow serve: http://") }
        let out = running.stdoutSoFar
        if let range = out.range(of: #"http://127\.0\.0\.1:(\d+)/"#, options: .regularExpression) {
            port = Int(out[range].dropFirst("http://127.0.0.1:".count).dropLast()) ?? 0
        }
        if let range = out.range(of: #"the token [0-9a-f]+"#, options: .regularExpression) {
            token = String(out[range].dropFirst("the token ".count))
        }
    }

    deinit {
        running.signal(SIGKILL)
    }

    var base: String { "http://127.0.0.1:\(port)" }

    func request(_ method: String = "GET", _ path: String, headers: [String] = [], body: String? = nil, events: Int = 0) async throws -> Reply {
        var arguments = [Repository.fixtures + "/http_probe.py", method, base + path]
        for header in headers { arguments += ["-H", header] }
        if let body { arguments += ["-d", body] }
        if events > 0 { arguments += ["--events", String(events)] }
        let result = try await FlowBinary.runProgram("/usr/bin/env", ["python3"] + arguments, in: project.root)
        return try JSONDecoder().decode(Reply.self, from: Data(result.stdout.utf8))
    }

    func get(_ path: String) async throws -> Reply { try await request("GET", path) }
}
