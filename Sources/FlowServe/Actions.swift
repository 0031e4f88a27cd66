import FlowCLI
import FlowCore
import FlowWeb
import Foundation
import Hummingbird
import NIOCore

/// The POSTs that change something: run a workflow now, resume a run, stop one. Each needs the server's token
/// (a form field, or `Authorization: Bearer` for scripts) and, from a browser, an Origin or Referer of this very
/// server, so another site's page cannot make the browser act (CSRF). With `--read-only` there are none.
struct Actions: Sendable {
    let backend: WebBackend
    let token: String?

    func add(to router: Router<BasicRequestContext>) {
        router.post("/workflows/:name/run") { request, context in
            let name = try context.parameters.require("name")
            try await authorize(request)
            try mapped { try backend.runWorkflow(name) }
            return redirect("/workflows/\(Pages.segment(name))")
        }
        router.post("/runs/:id/resume") { request, context in
            let id = try context.parameters.require("id", as: RunID.self)
            try await authorize(request)
            try mapped { try backend.resume(id) }
            return redirect("/runs/\(id)")
        }
        router.post("/runs/:id/stop") { request, context in
            let id = try context.parameters.require("id", as: RunID.self)
            try await authorize(request)
            try mapped { try backend.stop(id) }
            return redirect("/runs/\(id)")
        }
    }

    func redirect(_ path: String) -> Response {
        var fields = HTTPFields()
        fields[.location] = path
        return Response(status: .seeOther, headers: fields)
    }

    func authorize(_ request: Request) async throws {
        guard let token else { throw HTTPError(.forbidden, message: "this server is read-only") }
        var request = request
        let bearer = request.headers[.authorization].flatMap { $0.hasPrefix("Bearer ") ? String($0.dropFirst(7)) : nil }
        var given = bearer
        if given == nil {
            let body = try await request.collectBody(upTo: 16 * 1024)
            given = Self.formValue("token", in: String(buffer: body))
        }
        guard let given, Self.constantTimeEqual(given, token) else { throw HTTPError(.forbidden, message: "a valid token is needed") }
        // A browser says where the request comes from; it must be this server.
        let host = request.head.authority ?? ""
        if let origin = request.headers[.origin] {
            guard origin == "http://\(host)" else { throw HTTPError(.forbidden, message: "cross-site request refused") }
        } else if let referer = request.headers[.referer] {
            guard referer.hasPrefix("http://\(host)/") else { throw HTTPError(.forbidden, message: "cross-site request refused") }
        } else if bearer == nil {
            throw HTTPError(.forbidden, message: "a form post needs an Origin or Referer of this server")
        }
    }

    /// `name=value` from an `application/x-www-form-urlencoded` body.
    static func formValue(_ name: String, in body: String) -> String? {
        for pair in body.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.first == name else { continue }
            let raw = parts.count > 1 ? parts[1] : ""
            return raw.replacingOccurrences(of: "+", with: " ").removingPercentEncoding
        }
        return nil
    }

    static func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        guard x.count == y.count else { return false }
        var difference: UInt8 = 0
        for i in x.indices { difference |= x[i] ^ y[i] }
        return difference == 0
    }
}
