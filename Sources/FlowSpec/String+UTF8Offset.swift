#if canImport(Glibc)
import Glibc
#endif

extension String {
    /// Where `needle` first starts, in UTF-8 bytes, searched on the string's own storage with `memchr` for
    /// candidates: Foundation's `range(of:)` and the generic `contains` on the UTF-8 view cost tens of
    /// instructions a byte, on every workflow file and every `run:` script.
    func utf8Offset(of needle: String) -> Int? {
        var text = self
        var needle = needle
        return text.withUTF8 { haystack in
            needle.withUTF8 { pattern in
                guard let first = pattern.first, let base = haystack.baseAddress, let wanted = pattern.baseAddress,
                      haystack.count >= pattern.count else { return nil }
                let last = haystack.count - pattern.count
                var start = 0
                while start <= last {
                    guard let hit = memchr(base + start, Int32(first), last - start + 1) else { return nil }
                    let offset = base.distance(to: hit.assumingMemoryBound(to: UInt8.self))
                    if memcmp(base + offset, wanted, pattern.count) == 0 { return offset }
                    start = offset + 1
                }
                return nil
            }
        }
    }
}
