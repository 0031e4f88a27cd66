/// The log of one attempt, as an action sees it: a file that the attempt's processes write to directly (its
/// `path`), and that flow and in-process actions append lines to. The process module owns the real one.
package protocol AttemptLog: Sendable {
    var path: String { get }
    /// Appends `line` (a newline is added if missing) as one write, so lines of concurrent writers never mix.
    func write(_ line: String)
    /// Its last `count` lines, each cut at `width` characters: what a failure report shows of it.
    func tail(_ count: Int, width: Int) -> [String]
}

extension AttemptLog {
    /// The last `count` lines of `text`, each cut at `width` characters, without a trailing empty line.
    package static func lastLines(of text: String, _ count: Int, width: Int) -> [String] {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        if lines.last?.isEmpty == true { lines.removeLast() }
        return lines.suffix(count).map { line in
            let clean = line.hasSuffix("\r") ? line.dropLast() : line[...]
            return clean.count > width ? String(clean.prefix(width)) + "…" : String(clean)
        }
    }
}

/// An attempt's log as an action of a run with secrets sees it: every line masked before it is written.
package struct MaskedLog: AttemptLog {
    package let base: any AttemptLog
    package let masker: SecretMasker

    package init(_ base: any AttemptLog, _ masker: SecretMasker) {
        self.base = base
        self.masker = masker
    }

    package var path: String { base.path }

    package func write(_ line: String) { base.write(masker.mask(line)) }

    package func tail(_ count: Int, width: Int) -> [String] { base.tail(count, width: width) }
}
