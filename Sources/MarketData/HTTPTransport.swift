import FlowCore
import FlowHTTP
import Foundation

/// The Databento source's GET: Basic authentication with the key as the user, and errors in its words. One
/// request per call: retries are `VendorRetry`'s. Errors never carry the query or credentials.
enum HTTPTransport {
    static func once(_ url: URL, user: String, timeout: TimeInterval) async throws -> HTTPResponse {
        let authorization = "Authorization: Basic " + Data("\(user):".utf8).base64EncodedString()
        let request = HTTPRequest(url: url, headers: [authorization], timeout: timeout, totalTimeout: timeout * 4)
        switch await HTTPClient.send(request) {
        case .success(let response):
            return response
        case .failure(.cancelled):
            throw CancellationError()
        case .failure(.noLibcurl):
            throw TaskFailure("the Databento source needs libcurl, which could not be loaded: install it "
                              + "(apt-get install libcurl4), or run without DATABENTO_API_KEY for the demo source",
                              retryable: false)
        case .failure(let failure):
            // Name only host, port and path, never the query or credentials. A network failure may pass.
            let port = url.port.map { ":\($0)" } ?? ""
            throw TransientVendorError(message: "\(url.host ?? "?")\(port)\(url.path): \(failure.description)")
        }
    }
}
