import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A Python test server from `Tests/Fixtures` on 127.0.0.1 for the life of the value: it prints its port first.
package final class LoopbackServer: @unchecked Sendable {
    private let process = Process()
    package private(set) var port = 0

    package var baseURL: String { "http://127.0.0.1:\(port)" }

    package init(script: String, arguments: [String]) throws {
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", Repository.fixtures + "/" + script] + arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        try process.run()
        var line = Data()
        while let byte = try pipe.fileHandleForReading.read(upToCount: 1), !byte.isEmpty, byte != Data("\n".utf8) {
            line.append(byte)
        }
        port = Int(String(decoding: line, as: UTF8.self)) ?? 0
    }

    deinit {
        // SIGKILL, not SIGTERM: test threads block signals and a child inherits that mask, so SIGTERM could stay pending.
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }
}

/// `Tests/Fixtures/webhook_receiver.py`: records every request, answers as told.
package final class WebhookReceiver: @unchecked Sendable {
    package struct Request: Sendable {
        package var method: String
        package var path: String
        package var headers: [String: String]
        package var body: String
    }

    package let state = TemporaryDirectory("webhook")
    private let server: LoopbackServer

    package init() throws {
        server = try LoopbackServer(script: "webhook_receiver.py", arguments: [state.path])
    }

    package var port: Int { server.port }
    package var baseURL: String { server.baseURL }

    /// Answers for the next requests, in order: status codes, `stall`, `drop`, `echo500`.
    package func answer(_ answers: String...) throws {
        try state.write("responses", answers.joined(separator: "\n") + "\n")
    }

    package var requests: [Request] {
        state.lines("requests.log").compactMap { line in
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else { return nil }
            return Request(method: object["method"] as? String ?? "", path: object["path"] as? String ?? "",
                           headers: object["headers"] as? [String: String] ?? [:], body: object["body"] as? String ?? "")
        }
    }
}
