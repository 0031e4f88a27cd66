import FlowCore
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// A status, headers and a whole body.
struct HTTPResponse: Sendable {
    var status: Int
    var body: [UInt8]
    var contentLength: Int?
    var retryAfter: Double?
}

/// GET requests through URLSession with the pitfalls handled: authentication challenges are
/// cancelled (a 401 carrying `WWW-Authenticate` would otherwise hang), 429 waits for `Retry-After`,
/// and errors never carry the URL's credentials.
enum HTTPTransport {
    /// Answers every authentication challenge by cancelling it, so a 401 returns instead of hanging.
    final class Delegate: NSObject, URLSessionTaskDelegate, Sendable {
        func urlSession(_ session: URLSession, task: URLSessionTask, didReceive challenge: URLAuthenticationChallenge,
                        completionHandler: @escaping (URLSession.AuthChallengeDisposition, URLCredential?) -> Void) {
            completionHandler(.cancelAuthenticationChallenge, nil)
        }
    }

    static let maxRetryAfter: Double = 120

    static func get(_ url: URL, user: String, timeout: TimeInterval) async throws -> HTTPResponse {
        var attempts429 = 0
        while true {
            let response = try await once(url, user: user, timeout: timeout)
            if response.status == 429, attempts429 < 3 {
                attempts429 += 1
                let wait = min(response.retryAfter ?? Double(attempts429 * 2), maxRetryAfter)
                try await Task.sleep(for: .milliseconds(Int64(wait * 1000)))
                continue
            }
            return response
        }
    }

    private static func once(_ url: URL, user: String, timeout: TimeInterval) async throws -> HTTPResponse {
        var request = URLRequest(url: url, cachePolicy: .reloadIgnoringLocalCacheData, timeoutInterval: timeout)
        let token = Data("\(user):".utf8).base64EncodedString()
        request.setValue("Basic \(token)", forHTTPHeaderField: "Authorization")
        request.setValue("flow/0.1", forHTTPHeaderField: "User-Agent")
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = timeout
        configuration.timeoutIntervalForResource = timeout * 4
        let session = URLSession(configuration: configuration, delegate: Delegate(), delegateQueue: nil)
        defer { session.finishTasksAndInvalidate() }
        let where_ = "\(url.host ?? "?")\(url.path)"
        let prepared = request
        do {
            let (data, response) = try await withTimeout(timeout * 4) { try await session.data(for: prepared) }
            guard let http = response as? HTTPURLResponse else { throw TaskFailure("\(where_): not an HTTP response") }
            let length = http.value(forHTTPHeaderField: "Content-Length").flatMap { Int($0) }
            let retryAfter = http.value(forHTTPHeaderField: "Retry-After").flatMap { Double($0) }
            return HTTPResponse(status: http.statusCode, body: [UInt8](data), contentLength: length, retryAfter: retryAfter)
        } catch let failure as TaskFailure {
            throw failure
        } catch is CancellationError {
            throw CancellationError()
        } catch let error as URLError {
            if error.code == .cancelled, !Task.isCancelled {
                // Our delegate cancelled an authentication challenge: the server refused the credentials.
                return HTTPResponse(status: 401, body: [], contentLength: nil, retryAfter: nil)
            }
            // URLError's description embeds the URL; name only host and path, never the query or credentials.
            throw TaskFailure("\(where_): \(describe(error.code))")
        } catch {
            throw TaskFailure("\(where_): request failed")
        }
    }

    static func describe(_ code: URLError.Code) -> String {
        switch code {
        case .timedOut: return "timed out"
        case .cannotConnectToHost: return "cannot connect"
        case .networkConnectionLost: return "connection dropped"
        case .notConnectedToInternet: return "no network"
        case .cannotFindHost, .dnsLookupFailed: return "host not found"
        case .secureConnectionFailed, .serverCertificateUntrusted: return "TLS failed"
        default: return "network error \(code.rawValue)"
        }
    }

    /// URLSession's own timeouts do not always fire on Linux; this one always does.
    static func withTimeout<T: Sendable>(_ seconds: TimeInterval, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
        try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask { try await body() }
            group.addTask {
                try await Task.sleep(for: .milliseconds(Int64(seconds * 1000)))
                return nil
            }
            defer { group.cancelAll() }
            guard let first = try await group.next() else { throw URLError(.timedOut) }
            guard let value = first else { throw URLError(.timedOut) }
            return value
        }
    }
}
