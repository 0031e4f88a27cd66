import FlowCore
import FlowHTTP
import Foundation

/// `http.post`: POSTs a JSON body (by default the run's summary) to a URL, for alerts and webhooks. Bounded:
/// a timeout per request and a few retries with backoff for what may pass (no connection, a timeout, 408, 429,
/// 5xx); any other status fails at once. The URL's path, query and credentials and every header value are
/// secrets as far as flow knows: logs and errors name only the scheme, host and port, and text from the server
/// is scrubbed of them.
package struct HTTPPostAction: InProcessAction {
    /// Most retries one task may ask for, and the longest wait a server's Retry-After may impose.
    static let maxRetries = 10
    static let maxRetryAfter: Double = 60

    /// How long to wait before a retry; a test makes it instant.
    let pause: @Sendable (Duration) async throws -> Void

    package init() {
        pause = { try await Task.sleep(for: $0) }
    }

    init(pause: @escaping @Sendable (Duration) async throws -> Void) {
        self.pause = pause
    }

    package var signature: ActionSignature {
        ActionSignature(name: "http.post", summary: "POSTs a JSON body to a URL (alerts, webhooks)", inputs: [
            ActionInput("url", required: true, "http:// or https:// URL; its path, query and credentials never reach a log"),
            ActionInput("body", "the JSON to send (default: the run's summary, $FLOW_RUN_SUMMARY)"),
            ActionInput("headers", kind: .headers, "extra request headers, NAME: value; values never reach a log"),
            ActionInput("timeout", "per request (default 10s)"),
            ActionInput("retries", "extra requests after one that may pass, 0-10 (default 2)"),
            ActionInput("retry_delay", "wait before the first retry, doubled after each (default 1s)"),
        ], outputs: ["status", "attempts"])
    }

    package var version: String { "1" }

    package func run(_ context: TaskContext) async throws -> [String: String] {
        let target = try HTTPPostAction.target(try context.input("url"))
        let headers = try HTTPPostAction.headers(context.inputs)
        let body = context.inputs["body"] ?? context.env["FLOW_RUN_SUMMARY"] ?? "{}"
        guard (try? JSONSerialization.jsonObject(with: Data(body.utf8), options: [.fragmentsAllowed])) != nil else {
            throw TaskFailure("'body' is not JSON: \(body.utf8.count) bytes that do not parse; send a JSON document "
                              + "(for text, a JSON string: '\"...\"')", retryable: false)
        }
        let timeout = try HTTPPostAction.duration(context.inputs["timeout"], name: "timeout", default: .seconds(10))
        let delay = try HTTPPostAction.duration(context.inputs["retry_delay"], name: "retry_delay", default: .seconds(1))
        let retries = try HTTPPostAction.retries(context.inputs["retries"])
        let scrubbers = ([target.secretPart] + headers.filter(\.given).map(\.value)).map(SecretScrubber.init(secret:))
        func scrub(_ text: String) -> String { scrubbers.reduce(text) { $1.clean($0) } }

        let request = HTTPRequest(url: target.url, headers: headers.map { "\($0.name): \($0.value)" }, body: Array(body.utf8),
                                  timeout: timeout.seconds)
        var attempt = 0
        while true {
            attempt += 1
            try Task.checkCancellation()
            let started = ContinuousClock.now
            context.log.write("http.post: POST \(target.shown) (\(body.utf8.count) bytes), request \(attempt) of \(retries + 1)")
            let result = await HTTPClient.send(request)
            let elapsed = DurationFormat.format(ContinuousClock.now - started)
            let problem: String
            var wait = delay * (1 << min(attempt - 1, 20))
            switch result {
            case .success(let response) where (200..<300).contains(response.status):
                context.log.write("http.post: HTTP \(response.status) in \(elapsed)")
                return ["status": String(response.status), "attempts": String(attempt)]
            case .success(let response):
                let text = scrub(String(decoding: response.body.prefix(2000), as: UTF8.self))
                    .split(whereSeparator: \.isNewline).joined(separator: " ")
                problem = "HTTP \(response.status)" + (text.isEmpty ? "" : ": \(text.prefix(200))")
                context.log.write("http.post: \(problem) in \(elapsed)")
                guard HTTPPostAction.mayPass(status: response.status) else {
                    throw TaskFailure("POST to \(target.shown) failed: \(problem)", retryable: false)
                }
                if let after = response.retryAfter { wait = max(wait, .milliseconds(Int64(min(after, HTTPPostAction.maxRetryAfter) * 1000))) }
            case .failure(.cancelled):
                throw CancellationError()
            case .failure(.noLibcurl):
                throw TaskFailure("http.post needs libcurl, which could not be loaded: install it (apt-get install libcurl4)",
                                  retryable: false)
            case .failure(let failure):
                problem = failure.description
                context.log.write("http.post: \(problem) after \(elapsed)")
            }
            guard attempt <= retries else {
                throw TaskFailure("POST to \(target.shown) failed: \(problem)" + (retries > 0 ? " (after \(attempt) requests)" : ""))
            }
            context.log.write("http.post: trying again in \(DurationFormat.format(wait))")
            try await pause(wait)
        }
    }

    /// What may pass if asked again: a timeout, too many requests, a server's trouble.
    static func mayPass(status: Int) -> Bool {
        status == 408 || status == 429 || (500..<600).contains(status)
    }

    struct Target {
        var url: URL
        /// `https://host:port/…`: what logs and errors say.
        var shown: String
        /// Everything after the host, credentials included: a webhook's path is its password.
        var secretPart: String
    }

    static func target(_ text: String) throws -> Target {
        let refuse = { (why: String) in TaskFailure("'url' \(why)", retryable: false) }
        guard !text.isEmpty else { throw refuse("is empty (is the variable it reads set?)") }
        guard !text.unicodeScalars.contains(where: { $0.value < 0x21 || $0.value == 0x7F }) else {
            throw refuse("contains spaces or control characters")
        }
        guard let components = URLComponents(string: text), let url = components.url else { throw refuse("is not a URL") }
        let scheme = components.scheme?.lowercased() ?? ""
        guard scheme == "http" || scheme == "https" else {
            throw refuse(scheme.isEmpty ? "has no scheme: start it with https://" : "must be http:// or https://, not \(scheme)://")
        }
        guard let host = components.host, !host.isEmpty else { throw refuse("has no host") }
        let port = components.port.map { ":\($0)" } ?? ""
        let hasMore = !(components.percentEncodedPath.isEmpty || components.percentEncodedPath == "/")
            || components.percentEncodedQuery != nil || components.user != nil
        var secret = components.percentEncodedPath
        if let query = components.percentEncodedQuery { secret += "?" + query }
        if let user = components.percentEncodedUser { secret += " " + user + ":" + (components.percentEncodedPassword ?? "") }
        return Target(url: url, shown: "\(scheme)://\(host)\(port)/" + (hasMore ? "…" : ""), secretPart: secret)
    }

    /// `headers.NAME` inputs, checked: a name is an HTTP token, a value holds no line break or control character
    /// (so no value can add a header of its own). Errors name the header, never its value.
    static func headers(_ inputs: [String: String]) throws -> [(name: String, value: String, given: Bool)] {
        let tokenCharacters = Set("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
        var out: [(name: String, value: String, given: Bool)] = []
        for (key, value) in inputs.sorted(by: { $0.key < $1.key }) where key.hasPrefix("headers.") {
            let name = String(key.dropFirst("headers.".count))
            guard !name.isEmpty, name.allSatisfy(tokenCharacters.contains) else {
                throw TaskFailure("header name '\(name)' is not an HTTP header name (letters, digits and !#$%&'*+-.^_`|~)",
                                  retryable: false)
            }
            guard !value.unicodeScalars.contains(where: { ($0.value < 0x20 && $0 != "\t") || $0.value == 0x7F }) else {
                throw TaskFailure("the value of header '\(name)' contains a line break or control character", retryable: false)
            }
            out.append((name, value, true))
        }
        if !out.contains(where: { $0.name.lowercased() == "content-type" }) {
            out.insert(("Content-Type", "application/json", false), at: 0)
        }
        return out
    }

    static func duration(_ text: String?, name: String, default value: Duration) throws -> Duration {
        guard let text, !text.isEmpty else { return value }
        guard let duration = DurationFormat.parse(text), duration > .zero, duration <= .seconds(3600) else {
            throw TaskFailure("'\(name)' must be a duration from 1ms to 1h, such as 10s, not '\(text)'", retryable: false)
        }
        return duration
    }

    static func retries(_ text: String?) throws -> Int {
        guard let text, !text.isEmpty else { return 2 }
        guard let n = Int(text), (0...maxRetries).contains(n) else {
            throw TaskFailure("'retries' must be a whole number from 0 to \(maxRetries), not '\(text)'", retryable: false)
        }
        return n
    }
}
