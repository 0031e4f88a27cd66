import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Runs `Tests/Fixtures/fake_databento.py` on 127.0.0.1 for the life of the value.
package final class FakeDatabento: @unchecked Sendable {
    package let key: String
    package let state = TemporaryDirectory("fake-databento")
    private let server: LoopbackServer

    package var port: Int { server.port }
    package var baseURL: String { server.baseURL }

    /// `availableEnd` is what the fake's dataset range reports, ISO 8601.
    package init(key: String = "db-TESTKEY-0123456789abcdef", data: String = Repository.fixtures + "/databento/MGC.ohlcv-1m.csv",
                 availableEnd: String) throws {
        self.key = key
        server = try LoopbackServer(script: "fake_databento.py", arguments: [key, data, availableEnd, state.path])
    }

    /// Faults for the next get_range requests, in order: 401 429 500 502html stall drop truncate badheader malformed length.
    package func inject(_ faults: String...) throws {
        try state.write("faults", faults.joined(separator: "\n") + "\n")
    }

    /// Every request the fake received: path and query.
    package var requests: [(path: String, query: [String: String])] {
        state.lines("requests.log").compactMap { line in
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  let path = object["path"] as? String else { return nil }
            return (path, object["query"] as? [String: String] ?? [:])
        }
    }
}
