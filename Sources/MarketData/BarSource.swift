import FlowCore

/// Where bars come from: the vendor's API, files, or the offline demo.
package protocol BarSource: Sendable {
    /// `databento`, `csv` or `demo`; stored in each bar's `source` column.
    var name: String { get }
    /// The end (exclusive, Unix seconds) of what the source can deliver for `symbol` now.
    func availableEnd(symbol: String, now: Int64) async throws -> Int64?
    /// Bars of `symbol` in [start, end), validated whole. Throws `TaskFailure` on errors.
    func fetch(symbol: String, start: Int64, end: Int64) async throws -> FetchResult
}

/// What one request returned.
package struct FetchResult: Sendable {
    package var bars: [Bar]
    /// When the source had less than asked for: the end it clamped to (Databento's `available_end`).
    package var clampedEnd: Int64?

    package init(bars: [Bar], clampedEnd: Int64? = nil) {
        self.bars = bars
        self.clampedEnd = clampedEnd
    }
}

/// Chooses the source named by `with: source:`.
package enum SourceSelector {
    package struct Choice: Sendable {
        package var source: any BarSource
        /// A one-line notice for the log and the report, e.g. that demo data is in use.
        package var notice: String?
    }

    package static func choose(_ name: String, inputs: [String: String], env: [String: String], workingDirectory: String,
                               run: RunID = 0, log: @escaping @Sendable (String) -> Void = { _ in }) throws -> Choice {
        let key = env["DATABENTO_API_KEY"].flatMap { $0.isEmpty ? nil : $0 }
        switch name {
        case "auto":
            if let key { return Choice(source: try DatabentoSource(apiKey: key, inputs: inputs, env: env, run: run, log: log), notice: nil) }
            return Choice(source: DemoSource(),
                          notice: "no DATABENTO_API_KEY: using the offline demo source (synthetic bars, labelled 'demo'); set DATABENTO_API_KEY to fetch real data")
        case "databento":
            guard let key else {
                throw TaskFailure("source 'databento' needs the DATABENTO_API_KEY environment variable", retryable: false)
            }
            return Choice(source: try DatabentoSource(apiKey: key, inputs: inputs, env: env, run: run, log: log), notice: nil)
        case "demo":
            return Choice(source: DemoSource(), notice: "using the offline demo source: synthetic bars labelled 'demo'")
        case "csv":
            guard let dir = inputs["csv_dir"], !dir.isEmpty else {
                throw TaskFailure("source 'csv' needs 'csv_dir': the folder of Databento CSV files", retryable: false)
            }
            let path = FilePath.resolve(dir, in: workingDirectory)
            return Choice(source: try CSVFolderSource(folder: path), notice: nil)
        default:
            throw TaskFailure("unknown source '\(name)'; use auto, databento, demo or csv", retryable: false)
        }
    }
}
