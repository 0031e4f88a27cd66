import Foundation

/// A value an expression produces: outputs and params are strings, literals may be numbers or booleans.
package enum Value: Sendable, Hashable, CustomStringConvertible {
    case string(String)
    case number(Double)
    case bool(Bool)
    /// An absent value: the output of a skipped task, an unset env variable.
    case null

    /// The text a value becomes when it is interpolated or handed to a task.
    package var description: String {
        switch self {
        case .string(let s): return s
        case .bool(let b): return b ? "true" : "false"
        case .null: return ""
        case .number(let n):
            if n.rounded() == n, abs(n) < 1e15 { return String(Int64(n)) }
            return String(n)
        }
    }

    /// Truthiness for `if:` and `!`. Unlike GitHub Actions, the strings "false" and "0" are false,
    /// because task outputs are text and `has_gap=false` must not read as true.
    package var isTruthy: Bool {
        switch self {
        case .null: return false
        case .bool(let b): return b
        case .number(let n): return n != 0 && !n.isNaN
        case .string(let s):
            let t = s.trimmingBlanks.lowercased()
            return !(t.isEmpty || t == "false" || t == "0")
        }
    }

    /// The number a value reads as, when it reads as one.
    package var numericValue: Double? {
        switch self {
        case .number(let n): return n
        case .bool(let b): return b ? 1 : 0
        case .string(let s): return Double(s.trimmingBlanks)
        case .null: return nil
        }
    }

    /// Equality that compares numbers numerically and everything else by its text, so
    /// `outputs.count == 3` holds when the output is the string "3".
    package func looselyEquals(_ other: Value) -> Bool {
        switch (self, other) {
        case (.null, .null): return true
        case (.null, _), (_, .null): return false
        case (.bool(let a), .bool(let b)): return a == b
        case (.bool(let a), .string(let s)), (.string(let s), .bool(let a)):
            return s.lowercased() == (a ? "true" : "false")
        default:
            if let a = numericValue, let b = other.numericValue,
               !(isStringLike && other.isStringLike) || (a.isFinite && b.isFinite) {
                return a == b
            }
            return description == other.description
        }
    }

    private var isStringLike: Bool {
        if case .string = self { return true }
        return false
    }

    /// Ordering for `<` and `>`: numeric when both read as numbers, otherwise by text.
    package func compare(_ other: Value) -> ComparisonResult {
        if let a = numericValue, let b = other.numericValue {
            return a < b ? .orderedAscending : (a > b ? .orderedDescending : .orderedSame)
        }
        let a = description, b = other.description
        return a < b ? .orderedAscending : (a > b ? .orderedDescending : .orderedSame)
    }
}
