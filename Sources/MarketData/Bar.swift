import Foundation

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
    package static func iso(_ seconds: Int64) -> String {
        var t = time_t(seconds)
        var parts = tm()
        gmtime_r(&t, &parts)
        return String(format: "%04d-%02d-%02dT%02d:%02d:%02dZ", Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1, Int(parts.tm_mday),
                      Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec))
    }

    /// Parses `2026-01-16T00:00:00Z`, with optional fractional seconds or `+00:00`, or a bare date `2026-01-16`.
    package static func parse(_ text: String) -> Int64? {
        let t = text.trimmingCharacters(in: .whitespaces)
        let f = ISO8601DateFormatter()
        for options: ISO8601DateFormatter.Options in [[.withInternetDateTime], [.withInternetDateTime, .withFractionalSeconds], [.withFullDate]] {
            f.formatOptions = options
            if let d = f.date(from: t) { return Int64(d.timeIntervalSince1970.rounded(.down)) }
        }
        return nil
    }

    package static func floorToMinute(_ seconds: Int64) -> Int64 { seconds - ((seconds % 60) + 60) % 60 }
}

#if canImport(Glibc)
import Glibc
#endif
