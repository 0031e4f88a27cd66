/// One element of a `foreach:` list: a string (or number, or boolean, as its text) or an object of such values.
package enum ForeachItem: Sendable, Hashable {
    case text(String)
    case object([String: String])

    /// What `${{ foreach.item }}` is: the text, or the object as JSON.
    package var shown: String {
        switch self {
        case .text(let text): return text
        case .object(let fields): return JSONWriter.object(fields.mapValues(JSONWriter.Item.string))
        }
    }

    /// `${{ foreach.item.KEY }}`: a field of an object item; empty otherwise.
    package func field(_ key: String) -> String {
        if case .object(let fields) = self { return fields[key] ?? "" }
        return ""
    }

    /// The most items one foreach may have.
    package static let limit = 10_000
}
