import FlowCore
import Foundation
import Testing

@Suite("ISO 8601 timestamps")
struct ISOTimeTests {
    /// Foundation's ICU-backed formatter is the reference the hand-written one must agree with.
    static func reference(_ options: ISO8601DateFormatter.Options) -> ISO8601DateFormatter {
        let f = ISO8601DateFormatter()
        f.formatOptions = options
        return f
    }

    @Test("formats and parses like ISO8601DateFormatter across 1900-2200, leap days and month ends included")
    func agreesWithFoundation() {
        let reference = Self.reference([.withInternetDateTime])
        var generator = SystemRandomNumberGenerator()
        var samples: [Int64] = [0, -1, 951_782_400, 951_868_799, 4_107_542_400, -2_208_988_800, 1_709_164_800]
        for _ in 0..<5000 { samples.append(Int64.random(in: -2_208_988_800...7_258_118_399, using: &generator)) }
        for seconds in samples {
            let date = Date(timeIntervalSince1970: TimeInterval(seconds))
            let expected = reference.string(from: date)
            #expect(ISOTime.format(seconds) == expected, "\(seconds)")
            #expect(ISOTime.parse(expected) == TimeInterval(seconds), "\(expected)")
        }
    }

    @Test("accepts offsets, fractions, lower-case separators and bare dates", arguments: [
        ("2026-01-16T09:30:00Z", 1_768_555_800.0),
        ("2026-01-16t09:30:00z", 1_768_555_800.0),
        ("  2026-01-16T09:30:00Z ", 1_768_555_800.0),
        ("2026-01-16T19:30:00+10:00", 1_768_555_800.0),
        ("2026-01-16T04:30:00-0500", 1_768_555_800.0),
        ("2026-01-16T09:30:00.250Z", 1_768_555_800.25),
        ("2026-01-16", 1_768_521_600.0),
        ("2024-02-29", 1_709_164_800.0),
    ])
    func accepts(_ text: String, _ seconds: Double) {
        #expect(ISOTime.parse(text) == seconds)
    }

    @Test("rejects what is not a real instant", arguments: [
        "", "2026", "2026-1-16", "2026-01-16T09:30Z", "2026-01-16T09:30:00", "2026-02-30", "2025-02-29", "2026-13-01",
        "2026-00-10", "2026-01-00", "2026-01-16T24:00:00Z", "2026-01-16T09:60:00Z", "2026-01-16T09:30:60Z",
        "2026-01-16T09:30:00.Z", "2026-01-16T09:30:00+1000x", "2026-01-16 09:30:00Z", "２０２６-01-16", "2026-01-16T09:30:00Z extra",
    ])
    func rejects(_ text: String) {
        #expect(ISOTime.parse(text) == nil)
    }
}
