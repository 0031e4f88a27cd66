import FlowCore
import FlowHTTP
import Foundation

/// Databento's historical HTTP API: `metadata.get_dataset_range` and `timeseries.get_range` (CSV).
///
/// The API key is the Basic-auth user name. It is never put in a URL, a message, a log line or an output.
package struct DatabentoSource: BarSource {
    package var name: String { "databento" }
    let apiKey: String
    let baseURL: URL
    let dataset: String
    /// How a symbol becomes the requested continuous contract: `{root}` is replaced by the symbol.
    let symbolRule: String
    let timeout: TimeInterval
    let retry: VendorRetry
    let scrubber: SecretScrubber

    package init(apiKey: String, inputs: [String: String], env: [String: String], run: RunID = 0,
                 log: @escaping @Sendable (String) -> Void = { _ in }) throws {
        self.apiKey = apiKey
        let scrubber = SecretScrubber(secret: apiKey)
        self.scrubber = scrubber
        retry = VendorRetry(env: env, run: run, log: { log(scrubber.clean($0)) })
        let base = env["DATABENTO_BASE_URL"].flatMap { $0.isEmpty ? nil : $0 } ?? "https://hist.databento.com"
        guard let url = URL(string: base), url.scheme == "https" || url.scheme == "http" else {
            throw TaskFailure("DATABENTO_BASE_URL '\(base.prefix(80))' is not an http(s) URL", retryable: false)
        }
        baseURL = url
        dataset = inputs["dataset"].flatMap { $0.isEmpty ? nil : $0 } ?? "GLBX.MDP3"
        symbolRule = inputs["symbol_rule"].flatMap { $0.isEmpty ? nil : $0 } ?? "{root}.v.0"
        timeout = inputs["request_timeout"].flatMap { DurationFormat.parse($0)?.seconds } ?? 60
    }

    func url(_ path: String, _ query: [(String, String)]) -> URL {
        var components = URLComponents(url: baseURL.appendingPathComponent(path), resolvingAgainstBaseURL: false)
        components?.queryItems = query.map { URLQueryItem(name: $0.0, value: $0.1) }
        return components?.url ?? baseURL
    }

    package func availableEnd(symbol: String, now: Int64) async throws -> Int64? {
        try await scrubbed {
            try await retry.run("dataset range of \(dataset)") { try await fetchAvailableEnd() }
        }
    }

    /// Every message that leaves this source is scrubbed of the key (plain, URL-encoded, base64) and capped in
    /// length: a proxy's or a server's error page may echo the request's credentials back.
    private func scrubbed<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch var failure as TaskFailure {
            failure.message = scrubber.clean(failure.message)
            throw failure
        }
    }

    private func fetchAvailableEnd() async throws -> Int64? {
        let response = try await HTTPTransport.once(url("v0/metadata.get_dataset_range", [("dataset", dataset)]),
                                                    user: apiKey, timeout: timeout)
        try DatabentoErrors.check(response, what: "dataset range of \(dataset)")
        guard let object = try? JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any] else {
            throw TransientVendorError(message: "dataset range of \(dataset): the response is not JSON")
        }
        // Prefer the schema's own range: ohlcv-1m may end earlier than the dataset.
        let schemaEnd = ((object["schema"] as? [String: Any])?["ohlcv-1m"] as? [String: Any])?["end"] as? String
        guard let text = schemaEnd ?? object["end"] as? String, let end = UTCTime.parse(text) else {
            throw TransientVendorError(message: "dataset range of \(dataset): no 'end' in the response")
        }
        return UTCTime.floorToMinute(end)
    }

    package func fetch(symbol: String, start: Int64, end: Int64) async throws -> FetchResult {
        try await scrubbed {
            try await retry.run("\(symbol) \(UTCTime.iso(start)) … \(UTCTime.iso(end))") {
                try await fetchOnce(symbol: symbol, start: start, end: end)
            }
        }
    }

    /// One request (two when the first meets a moved `available_end`), validated whole.
    private func fetchOnce(symbol: String, start: Int64, end: Int64) async throws -> FetchResult {
        var end = end
        var clamped: Int64?
        for _ in 0..<2 {
            let query: [(String, String)] = [
                ("dataset", dataset), ("symbols", symbolRule.replacingOccurrences(of: "{root}", with: symbol)),
                ("stype_in", "continuous"), ("schema", "ohlcv-1m"), ("start", UTCTime.iso(start)), ("end", UTCTime.iso(end)),
                ("encoding", "csv"), ("compression", "none"), ("pretty_px", "false"), ("pretty_ts", "false"), ("map_symbols", "false"),
            ]
            let response = try await HTTPTransport.once(url("v0/timeseries.get_range", query), user: apiKey, timeout: timeout)
            if response.status == 422 {
                switch DatabentoErrors.case422(response.body) {
                case .endAfterAvailable(let available):
                    // Ask again for what exists; the rest is fetched by a later run.
                    guard let available, available > start, available < end else { return FetchResult(bars: [], clampedEnd: start) }
                    end = available
                    clamped = available
                    continue
                case .startAfterAvailable:
                    return FetchResult(bars: [], clampedEnd: start)
                case .other:
                    break
                }
            }
            try DatabentoErrors.check(response, what: "\(symbol) \(UTCTime.iso(start)) … \(UTCTime.iso(end))")
            do {
                let bars = try VendorCSV.parse(response.body, symbol: symbol, source: name, start: start, end: end,
                                               expectedLength: response.contentLength)
                return FetchResult(bars: bars, clampedEnd: clamped)
            } catch {
                throw TransientVendorError(message: "Databento returned an invalid body for \(symbol) \(UTCTime.iso(start)) … "
                                           + "\(UTCTime.iso(end)): \(error); nothing of it was stored")
            }
        }
        throw TaskFailure("Databento kept moving available_end for \(symbol); try again later")
    }
}

/// Turns Databento's error responses into failures a user can act on.
enum DatabentoErrors {
    enum Case422 {
        case endAfterAvailable(Int64?)
        case startAfterAvailable
        case other
    }

    static func case422(_ body: [UInt8]) -> Case422 {
        guard let object = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any] else { return .other }
        let detail = (object["detail"] as? [String: Any]) ?? object
        let payload = detail["payload"] as? [String: Any]
        switch detail["case"] as? String {
        case "data_end_after_available_end":
            return .endAfterAvailable((payload?["available_end"] as? String).flatMap(UTCTime.parse).map(UTCTime.floorToMinute))
        case "data_start_after_available_end":
            return .startAfterAvailable
        default:
            return .other
        }
    }

    static func message(_ body: [UInt8]) -> String {
        guard let object = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any] else {
            let text = String(decoding: body.prefix(200), as: UTF8.self)
            return text.contains("<html") || text.contains("<HTML") ? "an HTML error page" : text.replacingOccurrences(of: "\n", with: " ")
        }
        let detail = object["detail"]
        if let d = detail as? [String: Any], let m = d["message"] as? String { return String(m.prefix(300)) }
        if let d = detail as? String { return String(d.prefix(300)) }
        return String(decoding: body.prefix(200), as: UTF8.self)
    }

    static func check(_ response: HTTPResponse, what: String) throws {
        switch response.status {
        case 200..<300:
            return
        case 401, 403:
            throw TaskFailure("Databento refused the API key (HTTP \(response.status)) for \(what): check DATABENTO_API_KEY",
                              retryable: false)
        case 429:
            throw TransientVendorError(message: "Databento rate limit (HTTP 429) for \(what)", retryAfter: response.retryAfter)
        case 400..<500:
            throw TaskFailure("Databento rejected the request for \(what) (HTTP \(response.status)): \(message(response.body))",
                              retryable: false)
        default:
            throw TransientVendorError(message: "Databento failed for \(what) (HTTP \(response.status)): \(message(response.body))",
                                       retryAfter: response.retryAfter)
        }
    }
}
