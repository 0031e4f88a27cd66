import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Runs `Tests/Fixtures/fake_databento.py` on 127.0.0.1 for the life of the value.
package final class FakeDatabento: @unchecked Sendable {
    package let key: String
    package let state = TemporaryDirectory("fake-databento")
    private let process = Process()
    package private(set) var port = 0

    package var baseURL: String { "http://127.0.0.1:\(port)" }

    /// `availableEnd` is what the fake's dataset range reports, ISO 8601.
    package init(key: String = "db-TESTKEY-0123456789abcdef", data: String = Repository.fixtures + "/databento/MGC.ohlcv-1m.csv",
                 availableEnd: String) throws {
        self.key = key
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", Repository.fixtures + "/fake_databento.py", key, data, availableEnd, state.path]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        try process.run()
        // The first line is the port.
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
