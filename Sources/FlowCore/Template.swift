/// A string value from the workflow file with `${{ }}` expressions inside.
package struct Template: Sendable, Hashable, CustomStringConvertible {
    package enum Part: Sendable, Hashable {
        case text(String)
        case expression(FlowExpression)
    }

    package var parts: [Part]
    package var location: SourceLocation?

    package init(parts: [Part], location: SourceLocation? = nil) {
        self.parts = parts
        self.location = location
    }

    package init(literal: String, location: SourceLocation? = nil) {
        self.init(parts: literal.isEmpty ? [] : [.text(literal)], location: location)
    }

    /// The template with each reference `transform` answers for replaced by that expression.
    package func replacing(_ transform: (Reference) -> FlowExpression?) -> Template {
        Template(parts: parts.map { part in
            if case .expression(let e) = part { return .expression(e.replacing(transform)) }
            return part
        }, location: location)
    }

    package var references: [Reference] {
        parts.flatMap { part -> [Reference] in
            if case .expression(let e) = part { return e.references }
            return []
        }
    }

    /// The source form, used in fingerprints and `flow plan`.
    package var description: String {
        parts.map { part in
            switch part {
            case .text(let t): return t
            case .expression(let e): return "${{ \(e) }}"
            }
        }.joined()
    }

    /// The text after substituting every expression's value; an absent value becomes "".
    package func render(in scope: EvaluationScope) -> String {
        var out = ""
        for part in parts {
            switch part {
            case .text(let t): out += t
            case .expression(let e): out += e.evaluate(in: scope).description
            }
        }
        return out
    }

    /// A template that is exactly one expression yields that expression's value (so `if:` sees a bool).
    package func evaluate(in scope: EvaluationScope) -> Value {
        if parts.count == 1, case .expression(let e) = parts[0] { return e.evaluate(in: scope) }
        return .string(render(in: scope))
    }
}
