import FlowCore
import Foundation

/// Bars from Databento CSV files in a folder (batch downloads), one symbol per file:
/// `SYMBOL*.csv` (for example `MGC.ohlcv-1m.2026-01.csv`).
package struct CSVFolderSource: BarSource {
    package var name: String { "csv" }
    let folder: String

    package init(folder: String) throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw TaskFailure("csv_dir '\(folder)' is not a folder", retryable: false)
        }
        self.folder = folder
    }

    func files(for symbol: String) throws -> [String] {
        let names = try FileManager.default.contentsOfDirectory(atPath: folder)
        return names.filter { $0.hasPrefix(symbol + ".") && $0.hasSuffix(".csv") }.sorted().map { "\(folder)/\($0)" }
    }

    /// Every valid row of every file of `symbol`; a malformed file fails with its name and line.
    func allBars(symbol: String) throws -> [Bar] {
        var bars: [Bar] = []
        for file in try files(for: symbol) {
            guard let data = FileManager.default.contents(atPath: file) else {
                throw TaskFailure("cannot read '\(file)'", retryable: false)
            }
            do {
                bars += try VendorCSV.parse([UInt8](data), symbol: symbol, source: name, start: 0, end: .max)
            } catch {
                throw TaskFailure("'\(file)' is not a valid Databento CSV file: \(error)", retryable: false)
            }
        }
        return bars.sorted { $0.ts < $1.ts }
    }

    package func availableEnd(symbol: String, now: Int64) async throws -> Int64? {
        try allBars(symbol: symbol).last.map { $0.ts + 60 }
    }

    package func fetch(symbol: String, start: Int64, end: Int64) async throws -> FetchResult {
        FetchResult(bars: try allBars(symbol: symbol).filter { $0.ts >= start && $0.ts < end })
    }
}
