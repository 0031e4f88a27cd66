import Foundation
import FlowCore

/// One 1-minute OHLCV bar as stored in `bars_1m`.
package struct Bar: Sendable, Hashable {
    package var symbol: String
    /// Unix seconds at the start of the minute.
    package var ts: Int64
    package var open: Double
    package var high: Double
    package var low: Double
    package var close: Double
    package var volume: Int64
    package var instrumentID: Int64
    package var source: String

    package init(symbol: String, ts: Int64, open: Double, high: Double, low: Double, close: Double, volume: Int64,
                 instrumentID: Int64, source: String) {
        self.symbol = symbol
        self.ts = ts
        self.open = open
        self.high = high
        self.low = low
        self.close = close
        self.volume = volume
        self.instrumentID = instrumentID
        self.source = source
    }
}

/// ISO 8601 in UTC, second precision: the form every `start`/`end` output and request uses.
package enum UTCTime {
    package static func iso(_ seconds: Int64) -> String { ISOTime.format(seconds) }

    /// Parses `2026-01-16T00:00:00Z`, with optional fractional seconds (dropped) or an offset, or a bare date
    /// `2026-01-16`.
    package static func parse(_ text: String) -> Int64? {
        ISOTime.parse(text).map { Int64($0.rounded(.down)) }
    }

    package static func floorToMinute(_ seconds: Int64) -> Int64 { seconds - ((seconds % 60) + 60) % 60 }
}
