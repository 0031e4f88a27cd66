import FlowCore
import Foundation

/// Reading the `with:` values the market actions share.
extension TaskContext {
    /// `with: db:` resolved against the working directory.
    var databasePath: String {
        get throws {
            let db = try input("db")
            guard !db.isEmpty else { throw TaskFailure("'db' is empty", retryable: false) }
            return resolve(db)
        }
    }

    var symbols: [String] {
        get throws { try SymbolList.parse(try input("symbols")) }
    }

    var tradingCalendar: TradingCalendar {
        get throws {
            do {
                return try TradingCalendar(timeZone: inputs["timezone"].flatMap { $0.isEmpty ? nil : $0 } ?? "Australia/Brisbane",
                                           dayStart: inputs["day_start"].flatMap { $0.isEmpty ? nil : $0 } ?? "09:00")
            } catch {
                throw TaskFailure("\(error)", retryable: false)
            }
        }
    }

    var nowSeconds: Int64 { Int64(now.timeIntervalSince1970.rounded(.down)) }

    /// The environment a source sees: flow's own (without the workflow's secrets), then the workflow's and
    /// task's `env:`.
    var sourceEnvironment: [String: String] {
        var env = inherited
        for (k, v) in self.env { env[k] = v }
        return env
    }

    /// The source named by `with: source:` (default `auto`); its notice, if any, goes to the log.
    func chooseSource() throws -> SourceSelector.Choice {
        let choice = try SourceSelector.choose(inputs["source"].flatMap { $0.isEmpty ? nil : $0 } ?? "auto", inputs: inputs,
                                               env: sourceEnvironment, workingDirectory: workingDirectory, run: runID,
                                               log: { [log] in log.write($0) })
        if let notice = choice.notice { log.write(notice) }
        return choice
    }

    /// An optional ISO 8601 input; empty means absent.
    func time(_ name: String) throws -> Int64? {
        guard let text = inputs[name], !text.isEmpty else { return nil }
        guard let ts = UTCTime.parse(text) else {
            throw TaskFailure("'\(name)' = '\(text.prefix(40))' is not an ISO 8601 time such as 2026-01-16T00:00:00Z", retryable: false)
        }
        return ts
    }
}

/// The `with:` keys the market actions share.
enum MarketInputs {
    static let database = [
        ActionInput("db", required: true, "market database path"),
        ActionInput("symbols", required: true, "comma list of symbols, e.g. MGC,GC"),
    ]
    static let calendar = [
        ActionInput("timezone", "IANA time zone of the trading day (default Australia/Brisbane)"),
        ActionInput("day_start", "local time a trading day starts (default 09:00)"),
    ]
}

/// The `with:` keys every source-using action accepts.
enum SourceInputs {
    static let all: [ActionInput] = [
        ActionInput("source", "auto (default), databento, demo or csv"),
        ActionInput("dataset", "Databento dataset (default GLBX.MDP3)"),
        ActionInput("symbol_rule", "how a symbol becomes the requested contract (default {root}.v.0)"),
        ActionInput("csv_dir", "folder of Databento CSV files for source csv"),
        ActionInput("request_timeout", "per-request timeout (default 60s)"),
    ]
}
