import FlowCore
import FlowTestSupport
import Foundation
import MarketData
import Testing

@Suite("Databento client against a local fake server")
struct DatabentoTests {
    static let dayStart = UTCTime.parse("2026-01-14T23:00:00Z") ?? 0
    static let dayEnd = UTCTime.parse("2026-01-15T23:00:00Z") ?? 0

    func source(_ fake: FakeDatabento, key: String? = nil, timeout: String = "2s", log: LogLines? = nil) throws -> DatabentoSource {
        try DatabentoSource(apiKey: key ?? fake.key, inputs: ["request_timeout": timeout],
                            env: ["DATABENTO_BASE_URL": fake.baseURL, "FLOW_VENDOR_RETRY_BASE": "10ms"],
                            run: RunID.random(in: 1...1_000_000_000), log: { log?.append($0) })
    }

    /// The fixture's rows for [start, end), parsed independently of the client.
    func fixtureBars(_ start: Int64, _ end: Int64) throws -> [Bar] {
        let data = try Data(contentsOf: URL(fileURLWithPath: Repository.fixtures + "/databento/MGC.ohlcv-1m.csv"))
        return try VendorCSV.parse([UInt8](data), symbol: "MGC", source: "databento", start: 0, end: .max)
            .filter { $0.ts >= start && $0.ts < end }
    }

    func failure(_ body: () async throws -> Void) async -> TaskFailure? {
        do {
            try await body()
            return nil
        } catch let f as TaskFailure {
            return f
        } catch {
            Issue.record("unexpected error \(error)")
            return nil
        }
    }

    @Test("fetches one trading day with the documented parameters and Basic auth")
    func happyPath() async throws {
        let fake = try await blocking { try FakeDatabento(availableEnd: "2026-01-16T23:00:00.000000000Z") }
        let result = try await source(fake).fetch(symbol: "MGC", start: Self.dayStart, end: Self.dayEnd)
        let expected = try fixtureBars(Self.dayStart, Self.dayEnd)
        #expect(result.bars.count > 1000)
        #expect(result.bars == expected)
        #expect(result.clampedEnd == nil)
        let request = try #require(fake.requests.last)
        #expect(request.path == "/v0/timeseries.get_range")
        #expect(request.query == [
            "dataset": "GLBX.MDP3", "symbols": "MGC.v.0", "stype_in": "continuous", "schema": "ohlcv-1m",
            "start": "2026-01-14T23:00:00Z", "end": "2026-01-15T23:00:00Z", "encoding": "csv", "compression": "none",
            "pretty_px": "false", "pretty_ts": "false", "map_symbols": "false",
        ])
        let end = try await source(fake).availableEnd(symbol: "MGC", now: 0)
        #expect(end == UTCTime.parse("2026-01-16T23:00:00Z"))
    }

    @Test("a wrong key fails at once without retrying and without showing the key")
    func unauthorized() async throws {
        let fake = try await blocking { try FakeDatabento(availableEnd: "2026-01-16T23:00:00Z") }
        let started = ContinuousClock.now
        let f = await failure { _ = try await source(fake, key: "db-WRONGKEY-secret").fetch(symbol: "MGC", start: Self.dayStart, end: Self.dayEnd) }
        #expect(ContinuousClock.now - started < .seconds(5), "a 401 with WWW-Authenticate must not hang")
        #expect(f?.isRetryable == false)
        #expect(f?.message.contains("refused the API key") == true)
        #expect(f?.message.contains("WRONGKEY") == false)
    }

    @Test("422 data_end_after_available_end clamps the request; data_start_after_available_end is nothing new")
    func availableEnd() async throws {
        let fake = try await blocking { try FakeDatabento(availableEnd: "2026-01-15T12:00:00.000000000Z") }
        let result = try await source(fake).fetch(symbol: "MGC", start: Self.dayStart, end: Self.dayEnd)
        let clamp = try #require(UTCTime.parse("2026-01-15T12:00:00Z"))
        #expect(result.clampedEnd == clamp)
        #expect(result.bars == (try fixtureBars(Self.dayStart, clamp)))
        let later = try await source(fake).fetch(symbol: "MGC", start: clamp + 3600, end: Self.dayEnd)
        #expect(later.bars.isEmpty)
        #expect(later.clampedEnd == clamp + 3600)
    }

    @Test("429 waits for Retry-After and then succeeds")
    func rateLimited() async throws {
        let fake = try await blocking { try FakeDatabento(availableEnd: "2026-01-16T23:00:00Z") }
        try fake.inject("429")
        let started = ContinuousClock.now
        let result = try await source(fake).fetch(symbol: "MGC", start: Self.dayStart, end: Self.dayEnd)
        #expect(ContinuousClock.now - started >= .milliseconds(900))
        #expect(!result.bars.isEmpty)
        #expect(fake.requests.filter { $0.path == "/v0/timeseries.get_range" }.count == 2)
    }

    @Test("cancelling a fetch stops a stalled transfer within about a second, as a cancellation")
    func cancelStalled() async throws {
        let fake = try await blocking { try FakeDatabento(availableEnd: "2026-01-16T23:00:00Z") }
        try fake.inject("stall")
        let client = try source(fake, timeout: "60s")
        let fetch = Task { try await client.fetch(symbol: "MGC", start: Self.dayStart, end: Self.dayEnd) }
        // Until the request has reached the server, a cancellation would not test the transfer's abort.
        let reached = await FlowBinary.eventually(timeout: 10) { fake.requests.contains { $0.path == "/v0/timeseries.get_range" } }
        #expect(reached)
        let cancelled = ContinuousClock.now
        fetch.cancel()
        do {
            _ = try await fetch.value
            Issue.record("a cancelled fetch returned bars")
        } catch {
            #expect(error is CancellationError, "\(error)")
        }
        #expect(ContinuousClock.now - cancelled < .seconds(5), "the transfer went on after the cancellation")
    }

    @Test("nothing listening is 'cannot connect', retryable, without the key or the query")
    func nothingListening() async throws {
        // A port that was free a moment ago: bound, then closed again.
        let port = try freePort()
        let client = try DatabentoSource(apiKey: "db-SECRETKEY", inputs: ["request_timeout": "5s"],
                                         env: ["DATABENTO_BASE_URL": "http://127.0.0.1:\(port)"])
        let f = await failure { _ = try await client.fetch(symbol: "MGC", start: Self.dayStart, end: Self.dayEnd) }
        let failure = try #require(f)
        #expect(failure.message.contains("cannot connect"), "\(failure.message)")
        #expect(failure.isRetryable)
        #expect(!failure.message.contains("SECRETKEY") && !failure.message.contains("symbols="), "\(failure.message)")
    }

    func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard bound else { throw TaskFailure("cannot bind a local port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    @Test("a passing server error, stall, drop or damaged body is retried within the request: the exact vendor rows, the problem logged",
          arguments: [("500", "HTTP 500"), ("502html", "an HTML error page"), ("stall", "timed out"), ("drop", ""),
                      ("truncate", "cut short"), ("badheader", "unexpected header"), ("malformed", "line 3"),
                      ("length", ""), ("429", "HTTP 429")])
    func passingFaults(_ fault: String, _ message: String) async throws {
        let fake = try await blocking { try FakeDatabento(availableEnd: "2026-01-16T23:00:00Z") }
        try fake.inject(fault)
        let log = LogLines()
        let result = try await source(fake, timeout: "1s", log: log).fetch(symbol: "MGC", start: Self.dayStart, end: Self.dayEnd)
        #expect(result.bars == (try fixtureBars(Self.dayStart, Self.dayEnd)))
        #expect(fake.requests.filter { $0.path == "/v0/timeseries.get_range" }.count == 2)
        #expect(log.lines.count == 1 && log.lines.allSatisfy { $0.contains("trying again") }, "\(log.lines)")
        if !message.isEmpty { #expect(log.lines.first?.contains(message) == true, "\(log.lines)") }
        #expect(!log.lines.joined().contains(fake.key))
    }

    @Test("a fault that persists fails the chunk as retryable after the request's tries, naming the problem",
          arguments: [("500", "HTTP 500"), ("truncate", "cut short"), ("drop", "")])
    func persistentFaults(_ fault: String, _ message: String) async throws {
        let fake = try await blocking { try FakeDatabento(availableEnd: "2026-01-16T23:00:00Z") }
        try fake.inject(fault, fault, fault, fault, fault, fault)
        let f = await failure { _ = try await source(fake, timeout: "1s").fetch(symbol: "MGC", start: Self.dayStart, end: Self.dayEnd) }
        let failure = try #require(f, "fault \(fault) was accepted")
        #expect(failure.isRetryable)
        #expect(failure.message.contains("gave up after 6 tries"), "\(failure.message)")
        if !message.isEmpty { #expect(failure.message.contains(message), "\(failure.message)") }
        #expect(!failure.message.contains(fake.key))
        #expect(fake.requests.filter { $0.path == "/v0/timeseries.get_range" }.count == 6)
    }
}

/// Lines a source logged, collected from any thread.
final class LogLines: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: [String] = []
    func append(_ line: String) { lock.withLock { stored.append(line) } }
    var lines: [String] { lock.withLock { stored } }
}
