/// Parses and validates a Databento CSV body (`ohlcv-1m`, `pretty_px=false`, `pretty_ts=false`).
///
/// The whole body is checked before any row is used: a body cut short, a wrong header or one bad
/// row rejects the chunk, so nothing of a damaged response is ever committed.
package enum VendorCSV {
    package static let header = "ts_event,rtype,publisher_id,instrument_id,open,high,low,close,volume"

    package struct Malformed: Error, CustomStringConvertible, Equatable, Sendable {
        package var line: Int
        package var reason: String

        package var description: String { line > 0 ? "line \(line): \(reason)" : reason }
    }

    /// Rows in [start, end) for `symbol`. `expectedLength` is the Content-Length, when the server sent one.
    package static func parse(_ body: [UInt8], symbol: String, source: String, start: Int64, end: Int64,
                              expectedLength: Int? = nil) throws(Malformed) -> [Bar] {
        if let expected = expectedLength, expected >= 0, expected != body.count {
            throw Malformed(line: 0, reason: "body is \(body.count) bytes but Content-Length said \(expected)")
        }
        guard !body.isEmpty else { throw Malformed(line: 0, reason: "empty body (no header)") }
        guard body.last == UInt8(ascii: "\n") else {
            throw Malformed(line: 0, reason: "body does not end with a newline: the response was cut short")
        }
        var bars: [Bar] = []
        var lineNumber = 0
        var lineStart = 0
        var previous: Int64 = .min
        for i in body.indices where body[i] == UInt8(ascii: "\n") {
            lineNumber += 1
            var lineEnd = i
            if lineEnd > lineStart, body[lineEnd - 1] == UInt8(ascii: "\r") { lineEnd -= 1 }
            let line = body[lineStart..<lineEnd]
            lineStart = i + 1
            if lineNumber == 1 {
                guard String(decoding: line, as: UTF8.self) == header else {
                    throw Malformed(line: 1, reason: "unexpected header '\(String(decoding: line.prefix(120), as: UTF8.self))'")
                }
                continue
            }
            if line.isEmpty { throw Malformed(line: lineNumber, reason: "empty line") }
            let bar = try parseRow(line, lineNumber: lineNumber, symbol: symbol, source: source)
            guard bar.ts >= start, bar.ts < end else {
                throw Malformed(line: lineNumber, reason: "bar at \(UTCTime.iso(bar.ts)) is outside the requested range")
            }
            guard bar.ts > previous else {
                throw Malformed(line: lineNumber, reason: bar.ts == previous ? "duplicate bar at \(UTCTime.iso(bar.ts))"
                                                                             : "bars out of order at \(UTCTime.iso(bar.ts))")
            }
            previous = bar.ts
            bars.append(bar)
        }
        return bars
    }

    private static func parseRow(_ line: ArraySlice<UInt8>, lineNumber: Int, symbol: String, source: String) throws(Malformed) -> Bar {
        var fields: [Int64] = []
        fields.reserveCapacity(9)
        var value: Int64 = 0
        var negative = false
        var digits = 0
        func fail(_ reason: String) -> Malformed { Malformed(line: lineNumber, reason: reason) }
        for byte in line + [UInt8(ascii: ",")] {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"):
                let (m, o1) = value.multipliedReportingOverflow(by: 10)
                let (a, o2) = m.addingReportingOverflow(Int64(byte - UInt8(ascii: "0")))
                guard !o1, !o2 else { throw fail("number too large in field \(fields.count + 1)") }
                value = a
                digits += 1
            case UInt8(ascii: "-") where digits == 0 && !negative:
                negative = true
            case UInt8(ascii: ","):
                guard digits > 0 else { throw fail("field \(fields.count + 1) is not an integer") }
                fields.append(negative ? -value : value)
                value = 0
                digits = 0
                negative = false
            default:
                throw fail("unexpected character '\(String(decoding: [byte], as: UTF8.self))' in field \(fields.count + 1)")
            }
        }
        guard fields.count == 9 else { throw fail("expected 9 fields, found \(fields.count)") }
        let tsNanos = fields[0]
        guard tsNanos >= 0, tsNanos % 60_000_000_000 == 0 else { throw fail("ts_event \(tsNanos) is not the start of a minute") }
        // Division by 1e9 is exact for prices on a tick grid; multiplying by 1e-9 is not.
        let (open, high, low, close) = (Double(fields[4]) / 1e9, Double(fields[5]) / 1e9, Double(fields[6]) / 1e9, Double(fields[7]) / 1e9)
        guard fields[4] > 0, fields[5] > 0, fields[6] > 0, fields[7] > 0 else { throw fail("prices must be positive") }
        guard fields[5] >= max(fields[4], fields[7]), fields[6] <= min(fields[4], fields[7]) else {
            throw fail("high/low do not bound open/close")
        }
        guard fields[8] >= 0 else { throw fail("negative volume") }
        return Bar(symbol: symbol, ts: tsNanos / 1_000_000_000, open: open, high: high, low: low, close: close,
                   volume: fields[8], instrumentID: fields[3], source: source)
    }

    /// Renders bars in the vendor format (for tests and the demo's CSV export).
    package static func render(_ bars: [Bar]) -> String {
        var out = header + "\n"
        for b in bars {
            func px(_ v: Double) -> String { String(Int64((v * 1e9).rounded())) }
            out += "\(b.ts * 1_000_000_000),33,1,\(b.instrumentID),\(px(b.open)),\(px(b.high)),\(px(b.low)),\(px(b.close)),\(b.volume)\n"
        }
        return out
    }
}
