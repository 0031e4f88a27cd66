import Foundation

/// Removes a secret from text that came from outside (a vendor's error body, a proxy's page) in every form it
/// travels in — plain, URL-encoded, base64 (of the key and of the `key:` Basic-auth pair) — and caps the text's
/// length, before it reaches a log, an error, the state database or `status --json`.
package struct SecretScrubber: Sendable {
    package static let maxLength = 500
    private let forms: [String]

    package init(secret: String) {
        guard !secret.isEmpty else {
            forms = []
            return
        }
        var forms: Set<String> = [secret]
        for allowed in [CharacterSet.alphanumerics, .urlQueryAllowed, .urlUserAllowed, .urlPathAllowed] {
            if let encoded = secret.addingPercentEncoding(withAllowedCharacters: allowed) { forms.insert(encoded) }
        }
        for raw in [secret, secret + ":"] {
            let base64 = Data(raw.utf8).base64EncodedString()
            forms.insert(base64)
            // Without padding, and as it appears inside longer base64 text.
            forms.insert(String(base64.prefix { $0 != "=" }))
        }
        // Longest first, so a form that contains another is replaced whole.
        self.forms = forms.filter { $0.count >= 4 }.sorted { $0.count > $1.count }
    }

    package func clean(_ text: String) -> String {
        var out = text
        for form in forms {
            out = out.replacingOccurrences(of: form, with: "[redacted]")
            // Percent-encoding is case-insensitive in its hex digits.
            if form.contains("%") { out = out.replacingOccurrences(of: form, with: "[redacted]", options: .caseInsensitive) }
        }
        if out.count > SecretScrubber.maxLength { out = String(out.prefix(SecretScrubber.maxLength)) + "… (cut)" }
        return out
    }
}
