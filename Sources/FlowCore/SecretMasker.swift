#if canImport(Glibc)
import Glibc
#endif

/// Replaces secret values wherever flow writes or keeps text: log lines, outputs, errors, checkpoints. Built once
/// per run from the values of its secrets; an empty masker (no secret has a value) changes nothing and costs
/// one branch.
package struct SecretMasker: Sendable, Hashable {
    package static let none = SecretMasker(entries: [])

    struct Entry: Sendable, Hashable {
        var pattern: [UInt8]
        var replacement: [UInt8]
    }

    /// Longest pattern first, so that of two matches starting at one place the longer wins.
    private(set) var entries: [Entry]
    /// The longest pattern's length: a stream holds back at most this many bytes less one.
    private(set) var longest: Int

    private init(entries: [Entry]) {
        var unique: [Entry] = []
        for entry in entries where !entry.pattern.isEmpty && !unique.contains(where: { $0.pattern == entry.pattern }) {
            unique.append(entry)
        }
        self.entries = unique.sorted { $0.pattern.count > $1.pattern.count }
        longest = self.entries.first?.pattern.count ?? 0
    }

    /// Every non-empty value as written, and as it reads URL-encoded and in base64 (at each of the three ways it
    /// can fall inside a longer base64 text, as in an `Authorization: Basic` header), and each line of a
    /// multi-line value on its own.
    package init(secrets: some Sequence<String>, replacement: String = "***") {
        var entries: [Entry] = []
        let with = Array(replacement.utf8)
        for secret in secrets where !secret.isEmpty {
            for form in SecretMasker.forms(of: secret) { entries.append(Entry(pattern: form, replacement: with)) }
        }
        self.init(entries: entries)
    }

    /// Exactly these texts, each by its own replacement, nothing derived: for fingerprints, where a secret
    /// param stands for its keyed hash.
    package init(replacing pairs: [(value: String, replacement: String)]) {
        self.init(entries: pairs.filter { !$0.value.isEmpty }.map { Entry(pattern: Array($0.value.utf8), replacement: Array($0.replacement.utf8)) })
    }

    package var isEmpty: Bool { entries.isEmpty }

    /// Both maskers' patterns.
    package func merging(_ other: SecretMasker) -> SecretMasker {
        SecretMasker(entries: entries + other.entries)
    }

    package func mask(_ text: String) -> String {
        guard !entries.isEmpty, text.utf8.count >= (entries.last?.pattern.count ?? 0) else { return text }
        var out: [UInt8] = []
        let changed = Array(text.utf8).withUnsafeBytes { replace(in: $0, from: 0, into: &out, final: true) } != nil
        return changed ? String(decoding: out, as: UTF8.self) : text
    }

    package func mask(_ values: [String: String]) -> [String: String] {
        entries.isEmpty ? values : values.mapValues(mask)
    }

    /// Whether `text` holds a secret.
    package func reveals(_ text: String) -> Bool {
        !entries.isEmpty && mask(text) != text
    }

    /// Appends `bytes[start...]` to `out` with every match replaced. Unless `final`, a tail that could be the
    /// start of a match is not appended: the returned index is where the caller must resume (with more bytes
    /// after it). Nil when nothing was replaced and nothing held back (`out` is then untouched, for `mask`).
    func replace(in bytes: UnsafeRawBufferPointer, from start: Int, into out: inout [UInt8], final: Bool) -> Int? {
        guard let base = bytes.baseAddress else { return nil }
        let end = bytes.count
        var position = start
        // The next match of each pattern at or after `position`; found again only once passed.
        var next = [Int](repeating: -1, count: entries.count)
        var replaced = false
        while position < end {
            var best = Int.max
            var bestEntry = -1
            for (index, entry) in entries.enumerated() {
                if next[index] < position && next[index] != Int.max {
                    next[index] = SecretMasker.find(entry.pattern, in: base, from: position, to: end)
                }
                if next[index] < best {
                    best = next[index]
                    bestEntry = index
                }
            }
            guard bestEntry >= 0 else { break }
            if !replaced {
                out.reserveCapacity(out.count + end - start)
                replaced = true
            }
            out.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[position..<best]))
            out.append(contentsOf: entries[bestEntry].replacement)
            position = best + entries[bestEntry].pattern.count
        }
        let held = final ? 0 : heldBack(bytes, from: position)
        guard replaced || held > 0 || start > 0 else { return nil }
        out.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[position..<(end - held)]))
        return end - held
    }

    /// How many bytes at the end of `bytes[from...]` are the first bytes of some pattern.
    private func heldBack(_ bytes: UnsafeRawBufferPointer, from start: Int) -> Int {
        guard let base = bytes.baseAddress else { return 0 }
        let available = bytes.count - start
        var best = 0
        for entry in entries {
            var length = min(entry.pattern.count - 1, available)
            while length > best {
                if entry.pattern.withUnsafeBytes({ $0.baseAddress.map { memcmp($0, base + (bytes.count - length), length) == 0 } ?? false }) {
                    best = length
                    break
                }
                length -= 1
            }
        }
        return best
    }

    /// memchr for the first byte, memcmp for the rest (Glibc's memmem needs _GNU_SOURCE, which Swift's module
    /// does not define).
    private static func find(_ pattern: [UInt8], in base: UnsafeRawPointer, from: Int, to end: Int) -> Int {
        pattern.withUnsafeBytes { needle -> Int in
            guard let first = needle.first, let rest = needle.baseAddress else { return Int.max }
            var position = from
            let lastStart = end - needle.count
            while position <= lastStart {
                guard let hit = memchr(base + position, Int32(first), lastStart - position + 1) else { return Int.max }
                let at = base.distance(to: UnsafeRawPointer(hit))
                if memcmp(base + at, rest, needle.count) == 0 { return at }
                position = at + 1
            }
            return Int.max
        }
    }

    // MARK: forms of a secret

    static func forms(of secret: String) -> [[UInt8]] {
        let bytes = Array(secret.utf8)
        var forms = [bytes]
        let lines = secret.split(whereSeparator: { $0 == "\n" || $0 == "\r\n" || $0 == "\r" })
        if lines.count > 1 { forms += lines.map { Array($0.utf8) }.filter { $0.count >= 4 } }
        guard bytes.count >= 4 else { return forms }
        // Encoders keep different characters as they are: RFC 3986's unreserved ones, letters and digits only,
        // or none; with upper- or lower-case hex.
        for keep in [PercentKeep.unreserved, .alphanumerics, .nothing] {
            forms.append(percentEncoded(bytes, keep: keep, upper: true))
            forms.append(percentEncoded(bytes, keep: keep, upper: false))
        }
        if bytes.contains(UInt8(ascii: " ")) {
            forms.append(percentEncoded(bytes, keep: .unreserved, upper: true, spaceAsPlus: true))
        }
        for offset in 0..<3 {
            let stable = base64Stable(bytes, offset: offset)
            if stable.count >= 4 { forms.append(stable) }
        }
        return forms
    }

    enum PercentKeep { case unreserved, alphanumerics, nothing }

    private static func percentEncoded(_ bytes: [UInt8], keep: PercentKeep, upper: Bool, spaceAsPlus: Bool = false) -> [UInt8] {
        let digits = Array((upper ? "0123456789ABCDEF" : "0123456789abcdef").utf8)
        var out: [UInt8] = []
        for byte in bytes {
            let alphanumeric = (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) || (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte)
                || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
            let kept: Bool
            switch keep {
            case .unreserved: kept = alphanumeric || "-._~".utf8.contains(byte)
            case .alphanumerics: kept = alphanumeric
            case .nothing: kept = false
            }
            if kept {
                out.append(byte)
            } else if byte == UInt8(ascii: " ") && spaceAsPlus {
                out.append(UInt8(ascii: "+"))
            } else {
                out += [UInt8(ascii: "%"), digits[Int(byte >> 4)], digits[Int(byte & 0xf)]]
            }
        }
        return out
    }

    /// The base64 characters that depend only on `bytes` when they follow `offset` other bytes inside a longer
    /// text: each character carries 6 bits, so the first and last few also carry bits of the neighbours.
    static func base64Stable(_ bytes: [UInt8], offset: Int) -> [UInt8] {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
        let padded = [UInt8](repeating: 0, count: offset) + bytes
        var chars: [UInt8] = []
        var index = 0
        while index < padded.count {
            let b0 = padded[index]
            let b1 = index + 1 < padded.count ? padded[index + 1] : 0
            let b2 = index + 2 < padded.count ? padded[index + 2] : 0
            let word = UInt32(b0) << 16 | UInt32(b1) << 8 | UInt32(b2)
            for k in 0..<4 { chars.append(alphabet[Int((word >> UInt32(18 - 6 * k)) & 0x3f)]) }
            index += 3
        }
        let first = (8 * offset + 5) / 6
        let last = (8 * padded.count) / 6
        guard last > first else { return [] }
        return Array(chars[first..<last])
    }
}

/// Masks a byte stream that arrives in pieces: a secret split across two writes is still found, because a tail
/// that could begin one waits for the next piece.
package struct MaskingStream {
    package let masker: SecretMasker
    private var carry: [UInt8] = []

    package init(_ masker: SecretMasker) { self.masker = masker }

    /// The bytes of `chunk` (after what was held back) that are safe to write now.
    package mutating func feed(_ chunk: UnsafeRawBufferPointer, into out: inout [UInt8]) {
        guard !carry.isEmpty else { return take(chunk, into: &out) }
        var joined = carry
        joined.append(contentsOf: chunk)
        joined.withUnsafeBytes { take($0, into: &out) }
    }

    private mutating func take(_ bytes: UnsafeRawBufferPointer, into out: inout [UInt8]) {
        if let used = masker.replace(in: bytes, from: 0, into: &out, final: false) {
            carry = Array(UnsafeRawBufferPointer(rebasing: bytes[used...]))
        } else {
            carry = []
            out.append(contentsOf: bytes)
        }
    }

    /// What was held back, masked: the stream has ended.
    package mutating func finish(into out: inout [UInt8]) {
        guard !carry.isEmpty else { return }
        let rest = carry
        carry = []
        rest.withUnsafeBytes { bytes in
            if masker.replace(in: bytes, from: 0, into: &out, final: true) == nil { out.append(contentsOf: bytes) }
        }
    }
}
