import FlowCore

/// Deterministic synthetic bars for running without a vendor account.
///
/// Each bar is a pure function of symbol and minute — integer arithmetic only, so every machine and
/// every fetch of the same range gives identical rows — and exists only in CME Globex hours.
package struct DemoSource: BarSource {
    package var name: String { "demo" }
    private let hours = GlobexHours()

    package init() {}

    /// The longest window the demo source generates in one run: two years of synthetic minutes (about 0.7 M bars
    /// a symbol). A clock set far ahead (`FLOW_NOW=9999-12-31`) or a start far back would otherwise write
    /// gigabytes of made-up data.
    package static let maxWindow: Int64 = 2 * 366 * 86_400

    /// Refuses a window past `maxWindow`, saying how to ask for less.
    package static func checkWindow(symbol: String, start: Int64, end: Int64) throws {
        guard end - start > maxWindow else { return }
        throw TaskFailure("the demo source makes at most 2 years of synthetic bars per run, and \(symbol) would need "
                          + "\(UTCTime.iso(start)) … \(UTCTime.iso(end)); check FLOW_NOW and the start, or use a real source",
                          retryable: false)
    }

    package func availableEnd(symbol: String, now: Int64) async throws -> Int64? {
        UTCTime.floorToMinute(now)
    }

    package func fetch(symbol: String, start: Int64, end: Int64) async throws -> FetchResult {
        FetchResult(bars: bars(symbol: symbol, start: start, end: end))
    }

    package func bars(symbol: String, start: Int64, end: Int64) -> [Bar] {
        var out: [Bar] = []
        let seed = DemoSource.hash(symbol)
        let base = 15_000 + Int64(seed % 10_000)          // ticks of 0.1: 1500.0 ... 2499.9
        let instrument = 40_000_000 + Int64(seed % 1_000_000)
        var ts = UTCTime.floorToMinute(start)
        if ts < start { ts += 60 }
        out.reserveCapacity(Int(max(0, (end - ts) / 60)))
        while ts < end {
            if hours.isOpen(ts) {
                let minute = ts / 60
                let open = price(minute, base: base, seed: seed)
                let close = price(minute + 1, base: base, seed: seed)
                let high = max(open, close) + Int64(DemoSource.mix(seed, minute, 1) % 4)
                let low = min(open, close) - Int64(DemoSource.mix(seed, minute, 2) % 4)
                let volume = 1 + Int64(DemoSource.mix(seed, minute, 3) % 120)
                out.append(Bar(symbol: symbol, ts: ts, open: Double(open) / 10, high: Double(high) / 10, low: Double(low) / 10,
                               close: Double(close) / 10, volume: volume, instrumentID: instrument, source: "demo"))
            }
            ts += 60
        }
        return out
    }

    /// Price in ticks at the start of `minute`: two triangle waves plus bounded noise.
    private func price(_ minute: Int64, base: Int64, seed: UInt64) -> Int64 {
        base + DemoSource.triangle(minute, period: 7_200, amplitude: 400) + DemoSource.triangle(minute + Int64(seed % 97), period: 390, amplitude: 60)
            + Int64(DemoSource.mix(seed, minute, 0) % 9) - 4
    }

    static func triangle(_ x: Int64, period: Int64, amplitude: Int64) -> Int64 {
        let phase = ((x % period) + period) % period
        let half = period / 2
        let rising = phase < half ? phase : period - phase
        return rising * 2 * amplitude / period - amplitude / 2
    }

    /// SplitMix64 of (seed, minute, lane).
    static func mix(_ seed: UInt64, _ minute: Int64, _ lane: UInt64) -> UInt64 {
        var z = seed &+ UInt64(bitPattern: minute) &* 0x9E37_79B9_7F4A_7C15 &+ lane &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// FNV-1a of the symbol: stable across runs and platforms, unlike `Hasher`.
    static func hash(_ text: String) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 {
            h ^= UInt64(byte)
            h = h &* 0x100_0000_01b3
        }
        return h
    }
}
