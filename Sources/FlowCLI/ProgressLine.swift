#if canImport(Glibc)
import Glibc
#endif
import FlowCore
import FlowProcess

/// One progress line as bytes: "[ 3/10] word     task-id   detail".
struct ProgressLine {
    private(set) var bytes: [UInt8] = []
    private let color: Bool

    init(color: Bool) {
        self.color = color
        bytes.reserveCapacity(96)
    }

    /// "[ done/total]" with `done` padded to the width of `total`, and a space.
    mutating func counter(done: Int, total: Int) {
        bytes.append(UInt8(ascii: "["))
        for _ in 0..<max(0, ProgressLine.digitCount(total) - ProgressLine.digitCount(done)) { bytes.append(UInt8(ascii: " ")) }
        number(done)
        bytes.append(UInt8(ascii: "/"))
        number(total)
        bytes.append(contentsOf: "] ".utf8)
    }

    /// A status word, coloured on a terminal, padded to nine columns (at least one space).
    mutating func word(_ word: String, _ code: String) {
        if color { bytes.append(contentsOf: "\u{1B}[\(code)m".utf8) }
        bytes.append(contentsOf: word.utf8)
        if color { bytes.append(contentsOf: "\u{1B}[0m".utf8) }
        let used = word.count
        for _ in 0..<max(1, 9 - used) { bytes.append(UInt8(ascii: " ")) }
    }

    /// A matrix instance as `backfill (symbol=MGC)`.
    mutating func id(_ id: TaskID, width: Int) {
        let shown = id.displayName
        bytes.append(contentsOf: shown.utf8)
        let length = shown.count
        if length < width { for _ in length..<width { bytes.append(UInt8(ascii: " ")) } }
    }

    mutating func text(_ text: String) {
        bytes.append(contentsOf: text.utf8)
    }

    private mutating func number(_ n: Int) {
        bytes.append(contentsOf: String(n).utf8)
    }

    private static func digitCount(_ n: Int) -> Int {
        var count = 1, n = n
        while n >= 10 { n /= 10; count += 1 }
        return count
    }

    var text: String { String(decoding: bytes, as: UTF8.self) }
}
