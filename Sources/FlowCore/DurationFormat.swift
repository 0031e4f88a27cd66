/// Parses and prints durations such as `500ms`, `5s`, `30m`, `1h30m`, `2d`.
package enum DurationFormat {
    package static func parse(_ text: String) -> Duration? {
        let s = text.trimmingBlanks
        guard !s.isEmpty, s.utf8.count <= 40 else { return nil }
        var totalMillis: Double = 0
        var number = ""
        var chars = Array(s)
        var i = 0
        var sawUnit = false
        while i < chars.count {
            let c = chars[i]
            if c.isASCII, c.isNumber || c == "." {
                number.append(c)
                i += 1
                continue
            }
            guard let value = Double(number) else { return nil }
            var unit = String(c)
            if c == "m", i + 1 < chars.count, chars[i + 1] == "s" { unit = "ms"; i += 1 }
            let factor: Double
            switch unit {
            case "ms": factor = 1
            case "s": factor = 1000
            case "m": factor = 60_000
            case "h": factor = 3_600_000
            case "d": factor = 86_400_000
            default: return nil
            }
            totalMillis += value * factor
            number = ""
            sawUnit = true
            i += 1
        }
        chars.removeAll()
        guard number.isEmpty, sawUnit, totalMillis.isFinite, totalMillis <= 366 * 86_400_000 else { return nil }
        return .milliseconds(Int64(totalMillis.rounded()))
    }

    /// A short human form: `850ms`, `4.2s`, `3m05s`, `1h02m`.
    package static func format(_ duration: Duration) -> String {
        let seconds = duration.seconds
        if seconds < 1 { return "\(Int((seconds * 1000).rounded()))ms" }
        if seconds < 60 {
            let tenths = (seconds * 10).rounded() / 10
            return tenths == tenths.rounded() ? "\(Int(tenths))s" : "\(tenths)s"
        }
        let total = Int(seconds.rounded())
        if total < 3600 { return "\(total / 60)m" + pad(total % 60) + "s" }
        return "\(total / 3600)h" + pad((total % 3600) / 60) + "m"
    }

    private static func pad(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
}
