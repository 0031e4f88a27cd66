/// One problem found in a workflow, rendered compiler-style by `DiagnosticRenderer`.
package struct Diagnostic: Sendable, Hashable, Comparable {
    package enum Severity: String, Sendable, Hashable {
        case error
        case warning
    }

    package var severity: Severity
    package var location: SourceLocation
    package var message: String
    /// Follow-up lines such as "did you mean 'needs'?".
    package var notes: [String]

    package init(_ severity: Severity = .error, at location: SourceLocation, _ message: String, notes: [String] = []) {
        self.severity = severity
        self.location = location
        self.message = message
        self.notes = notes
    }

    package static func error(at location: SourceLocation, _ message: String, notes: [String] = []) -> Diagnostic {
        Diagnostic(.error, at: location, message, notes: notes)
    }

    package static func < (lhs: Diagnostic, rhs: Diagnostic) -> Bool {
        if lhs.location != rhs.location { return lhs.location < rhs.location }
        return lhs.message < rhs.message
    }
}

/// Renders diagnostics as `file:line:col: error: message`, the source line, a caret and notes.
package struct DiagnosticRenderer: Sendable {
    /// The text of each file, split into lines, so the offending line can be echoed.
    package var sources: [String: [Substring]]

    package init(sources: [String: String] = [:]) {
        self.sources = sources.mapValues { $0.split(separator: "\n", omittingEmptySubsequences: false) }
    }

    package func render(_ diagnostic: Diagnostic) -> String {
        var out = "\(diagnostic.location): \(diagnostic.severity.rawValue): \(diagnostic.message)\n"
        if let lines = sources[diagnostic.location.file],
           diagnostic.location.line >= 1, diagnostic.location.line <= lines.count {
            var line = String(lines[diagnostic.location.line - 1])
            if line.hasSuffix("\r") { line.removeLast() }
            line = String(line.map { $0 == "\t" ? " " : $0 })
            if line.count <= 200 {
                out += "    \(line)\n"
                let caret = String(repeating: " ", count: max(0, diagnostic.location.column - 1)) + "^"
                out += "    \(caret)\n"
            }
        }
        for note in diagnostic.notes {
            out += "note: \(note)\n"
        }
        return out
    }

    package func render(_ diagnostics: [Diagnostic]) -> String {
        diagnostics.sorted().map(render).joined()
    }
}

/// Suggests the closest candidate to a misspelt name, the way compilers say "did you mean".
package enum Suggestion {
    package static func closest(to word: String, in candidates: some Sequence<String>) -> String? {
        var best: (String, Int)?
        for candidate in candidates {
            let distance = editDistance(word.lowercased(), candidate.lowercased())
            let limit = max(1, min(3, candidate.count / 3 + 1))
            guard distance <= limit else { continue }
            if let current = best, distance >= current.1 { continue }
            best = (candidate, distance)
        }
        return best?.0
    }

    package static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a.utf8), b = Array(b.utf8)
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        if a.count > 64 || b.count > 64 { return max(a.count, b.count) }
        var previous = Array(0...b.count)
        var current = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            current[0] = i
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            }
            swap(&previous, &current)
        }
        return previous[b.count]
    }
}
