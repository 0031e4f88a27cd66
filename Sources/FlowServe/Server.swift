import FlowCLI
import FlowCore
import FlowStore
import FlowWeb
import Foundation
import Hummingbird
import HTTPTypes
import NIOCore

/// How `flow serve` was asked to run.
package struct ServeOptions: Sendable {
    package var host = "127.0.0.1"
    package var port = 8080
    /// Needed by every action (POST); printed at start. Generated when not given.
    package var token: String?
    package var readOnly = false
    package var workflows: String?
    package var state: String?

    package init() {}

    package static func isLoopback(_ host: String) -> Bool { ListenAddress.isLoopback(host) }

    /// `--listen HOST:PORT`, as `flow serve` read it.
    package mutating func listen(_ text: String) -> Bool {
        guard let (host, port) = ListenAddress.parse(text) else { return false }
        self.host = host
        self.port = port
        return true
    }
}

/// `flow serve`: the pages and their `/api/` twins from the CLI's own state database and workflows folder, live
/// updates over server-sent events, and actions as POSTs that need the server's token and a same-origin request.
package enum Server {
    package static func run(_ options: ServeOptions, onStarted: @escaping @Sendable (Int) -> Void) async throws {
        let backend = WebBackend(workflows: options.workflows, state: options.state)
        let token = options.readOnly ? nil : (options.token ?? randomToken())
        let routes = Routes(backend: backend, token: token)
        let app = Application(router: routes.router(),
                              configuration: .init(address: .hostname(options.host, port: options.port), serverName: "flow"),
                              onServerRunning: { channel in onStarted(channel.localAddress?.port ?? options.port) },
                              logger: .init(label: "flow.serve"))
        if let token { FileHandle.standardOutput.write(Data("flow serve: actions need the token \(token)\n".utf8)) }
        try await app.runService()
    }

    package static func randomToken() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<4).map { _ in String(generator.next() as UInt64, radix: 16).leftPadded(16) }.joined()
    }
}

extension String {
    func leftPadded(_ width: Int) -> String { count >= width ? self : String(repeating: "0", count: width - count) + self }
}

struct Routes: Sendable {
    let backend: WebBackend
    let token: String?

    var project: String { backend.projectDirectory }

    func router() -> Router<BasicRequestContext> {
        let router = Router()
        router.get("/") { _, _ in try html { try Pages.workflows(try backend.workflowRows(), project: project) } }
        router.get("/api/workflows") { _, _ in try json { try backend.workflowsJSON() } }
        router.get("/workflows/:name") { request, context in
            let name = try context.parameters.require("name")
            let before = request.uri.queryParameters.get("before").flatMap { RunID($0) }
            return try html {
                let page = try backend.runs(of: name, before: before)
                return Pages.runs(page.workflow, runs: page.runs, failing: page.failing, older: page.older, newer: before != nil,
                                  hasData: page.hasData, scheduled: page.scheduled, project: project, token: token)
            }
        }
        router.get("/api/workflows/:name/runs") { request, context in
            let name = try context.parameters.require("name")
            let before = request.uri.queryParameters.get("before").flatMap { RunID($0) }
            return try json { try backend.runsJSON(of: name, before: before) }
        }
        router.get("/workflows/:name/ledger") { _, context in
            let name = try context.parameters.require("name")
            return try html {
                let ledger = try backend.ledger(of: name)
                return Pages.ledger(ledger.workflow, entries: ledger.entries, project: project)
            }
        }
        router.get("/api/workflows/:name/ledger") { _, context in
            let name = try context.parameters.require("name")
            return try json { try backend.ledgerJSON(of: name) }
        }
        router.get("/workflows/:name/data") { _, context in
            let name = try context.parameters.require("name")
            return try html {
                do {
                    return Pages.data(name, view: try backend.data(of: name), error: nil, project: project)
                } catch WebBackend.Failure.failed(let message) {
                    return Pages.data(name, view: nil, error: message, project: project)
                }
            }
        }
        router.get("/api/workflows/:name/data") { _, context in
            let name = try context.parameters.require("name")
            return try json { try DataDocument.text(try backend.data(of: name)) }
        }
        router.get("/runs/:id") { _, context in
            let id = try context.parameters.require("id", as: RunID.self)
            return try html { RunPage.render(try backend.runView(id), project: project, token: token) }
        }
        router.get("/api/runs/:id") { _, context in
            let id = try context.parameters.require("id", as: RunID.self)
            return try json { try backend.runJSON(id) }
        }
        router.get("/api/runs/:id/logs/:task/:attempt") { _, context in
            let id = try context.parameters.require("id", as: RunID.self)
            let attempt = try context.parameters.require("attempt", as: Int.self)
            let task = try context.parameters.require("task")
            let (path, _) = try mapped { try backend.logPath(run: id, task: task, attempt: attempt) }
            return Response(status: .ok, headers: Self.headers("text/plain; charset=utf-8"), body: LogStream.whole(path))
        }
        router.get("/runs/:id/events") { _, context in
            let id = try context.parameters.require("id", as: RunID.self)
            _ = try mapped { try backend.runStatuses(id) }
            return Response(status: .ok, headers: Self.eventHeaders, body: LiveEvents.run(id, backend: backend))
        }
        router.get("/runs/:id/logs/:task/:attempt/stream") { _, context in
            let id = try context.parameters.require("id", as: RunID.self)
            let attempt = try context.parameters.require("attempt", as: Int.self)
            let task = try context.parameters.require("task")
            _ = try mapped { try backend.logPath(run: id, task: task, attempt: attempt) }
            return Response(status: .ok, headers: Self.eventHeaders,
                            body: LogStream.live(run: id, task: task, attempt: attempt, backend: backend))
        }
        Actions(backend: backend, token: token).add(to: router)
        return router
    }

    static func headers(_ type: String) -> HTTPFields {
        var fields = HTTPFields()
        fields[.contentType] = type
        fields[.xContentTypeOptions] = "nosniff"
        fields[.cacheControl] = "no-store"
        if let frame = HTTPField.Name("X-Frame-Options") { fields[frame] = "DENY" }
        if let referrer = HTTPField.Name("Referrer-Policy") { fields[referrer] = "same-origin" }
        return fields
    }

    static var eventHeaders: HTTPFields {
        var fields = headers("text/event-stream; charset=utf-8")
        fields[.cacheControl] = "no-cache"
        return fields
    }

    /// A page, with its inline script and style allowed by a nonce of this response only. The page has one
    /// `<style>` near its start and one `<script>` at its end (values are escaped, so no other can exist): the
    /// nonce goes into those two, found by looking at the ends of the bytes, not by rewriting a 7 MB page.
    func html(_ render: () throws -> String) throws -> Response {
        let page = try mapped(render)
        let nonce = String(Server.randomToken().prefix(24))
        var bytes = ByteBuffer()
        let utf8 = Array(page.utf8)
        bytes.reserveCapacity(utf8.count + 64)
        let style = Self.find(Array("<style>".utf8), in: utf8, fromEnd: false)
        let script = Self.find(Array("<script>".utf8), in: utf8, fromEnd: true)
        var cursor = 0
        var cuts: [(Int, String)] = []
        if let style { cuts.append((style, "<style")) }
        if let script { cuts.append((script, "<script")) }
        for (at, tag) in cuts.sorted(by: { $0.0 < $1.0 }) where at >= cursor {
            bytes.writeBytes(utf8[cursor..<at])
            bytes.writeString("\(tag) nonce=\"\(nonce)\">")
            cursor = at + tag.utf8.count + 1
        }
        bytes.writeBytes(utf8[cursor...])
        var fields = Self.headers("text/html; charset=utf-8")
        fields[.contentSecurityPolicy] = "default-src 'none'; script-src 'nonce-\(nonce)'; style-src 'nonce-\(nonce)'; img-src 'self' data:; "
            + "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
        return Response(status: .ok, headers: fields, body: .init(byteBuffer: bytes))
    }

    /// Where `needle` first (or last) occurs in `haystack`.
    static func find(_ needle: [UInt8], in haystack: [UInt8], fromEnd: Bool) -> Int? {
        guard haystack.count >= needle.count, let first = needle.first else { return nil }
        func matches(at i: Int) -> Bool {
            guard haystack[i] == first else { return false }
            for j in 1..<needle.count where haystack[i + j] != needle[j] { return false }
            return true
        }
        if fromEnd {
            var i = haystack.count - needle.count
            while i >= 0 { if matches(at: i) { return i }; i -= 1 }
        } else {
            var i = 0
            while i <= haystack.count - needle.count { if matches(at: i) { return i }; i += 1 }
        }
        return nil
    }

    func json(_ render: () throws -> String) throws -> Response {
        Response(status: .ok, headers: Self.headers("application/json; charset=utf-8"),
                 body: .init(byteBuffer: ByteBuffer(string: try mapped(render) + "\n")))
    }
}

/// A backend failure as an HTTP error: 404 for what does not exist, 500 for what could not be read.
func mapped<T>(_ body: () throws -> T) throws -> T {
    do {
        return try body()
    } catch WebBackend.Failure.notFound(let message) {
        throw HTTPError(.notFound, message: message)
    } catch WebBackend.Failure.failed(let message) {
        throw HTTPError(.internalServerError, message: message)
    }
}

/// `/api/workflows/NAME/data`.
enum DataDocument {
    struct Document: Encodable {
        struct Day: Encodable { var date: String; var close: Double?; var bars: Int }
        var version = 1
        var database: String?
        var days: [String: [Day]]
        var latest: [String: [String: String]]
    }

    static func text(_ view: MarketDataView?) throws(WebBackend.Failure) -> String {
        let document = Document(database: view?.path,
                                days: (view?.days ?? [:]).mapValues { $0.map { Document.Day(date: $0.date, close: $0.close, bars: $0.bars) } },
                                latest: (view?.latest ?? [:]).mapValues { Dictionary($0, uniquingKeysWith: { a, _ in a }) })
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        guard let data = try? encoder.encode(document) else { throw .failed("cannot encode the data document") }
        return String(decoding: data, as: UTF8.self)
    }
}
