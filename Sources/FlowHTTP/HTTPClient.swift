import CFlowHTTP
import Foundation

/// A status, headers and a whole body.
package struct HTTPResponse: Sendable {
    package var status: Int
    package var body: [UInt8]
    package var contentLength: Int?
    package var retryAfter: Double?

    package init(status: Int, body: [UInt8], contentLength: Int? = nil, retryAfter: Double? = nil) {
        self.status = status
        self.body = body
        self.contentLength = contentLength
        self.retryAfter = retryAfter
    }
}

/// One request: a GET, or a POST of `body`.
package struct HTTPRequest: Sendable {
    package var url: URL
    /// Whole header lines, `Name: value`, already checked by the caller: they are sent as given.
    package var headers: [String]
    package var body: [UInt8]?
    /// The limit to connect, and for silence from the server.
    package var timeout: TimeInterval
    /// The whole exchange's limit; `timeout` when nil.
    package var totalTimeout: TimeInterval?

    package init(url: URL, headers: [String] = [], body: [UInt8]? = nil, timeout: TimeInterval, totalTimeout: TimeInterval? = nil) {
        self.url = url
        self.headers = headers
        self.body = body
        self.timeout = timeout
        self.totalTimeout = totalTimeout
    }
}

/// Why a request got no response. Never carries the URL, its query or a header: the caller names what it may.
package enum HTTPFailure: Error, Sendable, Equatable {
    case noLibcurl
    case cancelled
    case timedOut
    case cannotConnect
    case hostNotFound
    case tlsFailed
    case connectionDropped
    case outOfMemory
    case other(curlCode: Int32)

    package var description: String {
        switch self {
        case .noLibcurl: return "libcurl could not be loaded"
        case .cancelled: return "cancelled"
        case .timedOut: return "timed out"
        case .cannotConnect: return "cannot connect"
        case .hostNotFound: return "host not found"
        case .tlsFailed: return "TLS failed"
        case .connectionDropped: return "connection dropped"
        case .outOfMemory: return "response too large for memory"
        case .other(let code): return "network error (libcurl \(code))"
        }
    }
}

/// HTTP through libcurl, opened on first use (`flow_http_send`) instead of URLSession: linking
/// FoundationNetworking loads libcurl and ~30 libraries at every start of flow (about 5 ms of each `flow run`),
/// for a client only the Databento source and `http.post` use. One request per call: retries are the caller's.
package enum HTTPClient {
    /// Set by a cancelled Swift task, read by libcurl's progress callback; freed when neither side holds it.
    private final class CancelFlag: @unchecked Sendable {
        let pointer = UnsafeMutablePointer<flow_http_cancel_flag>.allocate(capacity: 1)
        init() { pointer.initialize(to: flow_http_cancel_flag(cancelled: 0)) }
        func cancel() { flow_http_cancel(pointer) }
        deinit { pointer.deallocate() }
    }

    package static let userAgent = "flow/0.1"

    package static func send(_ request: HTTPRequest) async -> Result<HTTPResponse, HTTPFailure> {
        let flag = CancelFlag()
        let seconds = max(request.timeout, 0.001)
        // The transfer blocks, so it runs on a thread of its own, never on one of Swift concurrency's.
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Result<HTTPResponse, HTTPFailure>, Never>) in
                let thread = Thread {
                    continuation.resume(returning: perform(request, seconds: seconds, cancel: flag.pointer))
                }
                thread.start()
            }
        } onCancel: {
            flag.cancel()
        }
    }

    private static func perform(_ request: HTTPRequest, seconds: TimeInterval,
                                cancel: UnsafeMutablePointer<flow_http_cancel_flag>) -> Result<HTTPResponse, HTTPFailure> {
        var raw = flow_http_response()
        defer { flow_http_response_free(&raw) }
        let lines = request.headers.map { strdup($0) }
        defer { lines.forEach { free($0) } }
        let body = (request.body ?? []).map { CChar(bitPattern: $0) }
        let code: Int32 = request.url.absoluteString.withCString { url in
            userAgent.withCString { agent in
                lines.map { UnsafePointer($0) }.withUnsafeBufferPointer { headers in
                    body.withUnsafeBufferPointer { bytes in
                            var c = flow_http_request(
                                url: url, headers: headers.baseAddress, header_count: headers.count,
                                post: request.body == nil ? 0 : 1, body: bytes.baseAddress, body_length: bytes.count,
                                user_agent: agent, connect_timeout_ms: Int(seconds * 1000),
                                idle_timeout_s: Int(seconds.rounded(.up)),
                                total_timeout_ms: Int(max(request.totalTimeout ?? seconds, 0.001) * 1000))
                            return flow_http_send(&c, cancel, &raw)
                    }
                }
            }
        }
        guard code != 0 else {
            let bytes = raw.body.map { [UInt8](UnsafeRawBufferPointer(start: $0, count: raw.body_length)) } ?? []
            return .success(HTTPResponse(status: raw.status, body: bytes,
                                         contentLength: raw.content_length >= 0 ? Int(raw.content_length) : nil,
                                         retryAfter: raw.retry_after >= 0 ? raw.retry_after : nil))
        }
        switch raw.error {
        case FLOW_HTTP_NO_LIBCURL: return .failure(.noLibcurl)
        case FLOW_HTTP_CANCELLED: return .failure(.cancelled)
        case FLOW_HTTP_TIMED_OUT: return .failure(.timedOut)
        case FLOW_HTTP_CANNOT_CONNECT: return .failure(.cannotConnect)
        case FLOW_HTTP_HOST_NOT_FOUND: return .failure(.hostNotFound)
        case FLOW_HTTP_TLS_FAILED: return .failure(.tlsFailed)
        case FLOW_HTTP_CONNECTION_DROPPED: return .failure(.connectionDropped)
        case FLOW_HTTP_OUT_OF_MEMORY: return .failure(.outOfMemory)
        default: return .failure(.other(curlCode: raw.curl_code))
        }
    }
}
