import CFlowHTTP
import FlowCore
import Foundation

/// A status, headers and a whole body.
struct HTTPResponse: Sendable {
    var status: Int
    var body: [UInt8]
    var contentLength: Int?
    var retryAfter: Double?
}

/// GET requests through libcurl, opened on first use (`flow_http_get`) instead of URLSession: linking
/// FoundationNetworking loads libcurl and ~30 libraries at every start of flow (about 5 ms of each `flow run`),
/// for a client only this source uses. One request per call: retries are `VendorRetry`'s. Errors never carry
/// the query or credentials.
enum HTTPTransport {
    private enum Outcome: Sendable {
        case response(HTTPResponse)
        case failed(flow_http_error, curlCode: Int32)
    }

    /// Set by a cancelled Swift task, read by libcurl's progress callback; freed when neither side holds it.
    private final class CancelFlag: @unchecked Sendable {
        let pointer = UnsafeMutablePointer<flow_http_cancel_flag>.allocate(capacity: 1)
        init() { pointer.initialize(to: flow_http_cancel_flag(cancelled: 0)) }
        func cancel() { flow_http_cancel(pointer) }
        deinit { pointer.deallocate() }
    }

    static func once(_ url: URL, user: String, timeout: TimeInterval) async throws -> HTTPResponse {
        let authorization = "Authorization: Basic " + Data("\(user):".utf8).base64EncodedString()
        let flag = CancelFlag()
        let seconds = max(timeout, 0.001)
        // The transfer blocks, so it runs on a thread of its own, never on one of Swift concurrency's.
        let outcome = await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Outcome, Never>) in
                let thread = Thread {
                    var raw = flow_http_response()
                    let code = flow_http_get(url.absoluteString, authorization, "flow/0.1", Int(seconds * 1000),
                                             Int(seconds.rounded(.up)), Int(seconds * 4000), flag.pointer, &raw)
                    let outcome: Outcome
                    if code == 0 {
                        let body = raw.body.map { [UInt8](UnsafeRawBufferPointer(start: $0, count: raw.body_length)) } ?? []
                        outcome = .response(HTTPResponse(status: raw.status, body: body,
                                                         contentLength: raw.content_length >= 0 ? Int(raw.content_length) : nil,
                                                         retryAfter: raw.retry_after >= 0 ? raw.retry_after : nil))
                    } else {
                        outcome = .failed(raw.error, curlCode: raw.curl_code)
                    }
                    flow_http_response_free(&raw)
                    continuation.resume(returning: outcome)
                }
                thread.start()
            }
        } onCancel: {
            flag.cancel()
        }
        switch outcome {
        case .response(let response):
            return response
        case .failed(FLOW_HTTP_CANCELLED, _):
            throw CancellationError()
        case .failed(FLOW_HTTP_NO_LIBCURL, _):
            throw TaskFailure("the Databento source needs libcurl, which could not be loaded: install it "
                              + "(apt-get install libcurl4), or run without DATABENTO_API_KEY for the demo source",
                              retryable: false)
        case .failed(let error, let curlCode):
            // Name only host, port and path, never the query or credentials. A network failure may pass.
            let port = url.port.map { ":\($0)" } ?? ""
            throw TransientVendorError(message: "\(url.host ?? "?")\(port)\(url.path): \(describe(error, curlCode: curlCode))")
        }
    }

    static func describe(_ error: flow_http_error, curlCode: Int32) -> String {
        switch error {
        case FLOW_HTTP_TIMED_OUT: return "timed out"
        case FLOW_HTTP_CANNOT_CONNECT: return "cannot connect"
        case FLOW_HTTP_CONNECTION_DROPPED: return "connection dropped"
        case FLOW_HTTP_HOST_NOT_FOUND: return "host not found"
        case FLOW_HTTP_TLS_FAILED: return "TLS failed"
        case FLOW_HTTP_OUT_OF_MEMORY: return "response too large for memory"
        default: return "network error (libcurl \(curlCode))"
        }
    }
}
