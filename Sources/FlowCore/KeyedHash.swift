/// HMAC-SHA256 (RFC 2104): how a secret param is kept. The key is the project's own (`secret.key` in its state
/// folder), so the state database alone does not let anyone test guesses of the value.
package enum KeyedHash {
    /// What the state database holds instead of a secret param's value.
    package static let prefix = "hmac-sha256:"

    package static func hmacSHA256(key: [UInt8], _ message: String) -> String {
        var key = key
        if key.count > 64 {
            var h = SHA256()
            h.update(key)
            key = h.finalizeBytes()
        }
        key += [UInt8](repeating: 0, count: 64 - key.count)
        var inner = SHA256()
        inner.update(key.map { $0 ^ 0x36 })
        inner.update(message.utf8)
        var outer = SHA256()
        outer.update(key.map { $0 ^ 0x5c })
        outer.update(inner.finalizeBytes())
        return outer.finalize()
    }

    /// `hmac-sha256:HEX` of `value`.
    package static func stored(_ value: String, key: [UInt8]) -> String {
        prefix + hmacSHA256(key: key, value)
    }
}
