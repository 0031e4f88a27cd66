import FlowCore

/// A syntax error inside `${{ }}`, at a character offset from the start of the expression text.
package struct ExpressionError: Error, Equatable, Sendable {
    package var message: String
    package var offset: Int
    package var note: String?
}

/// Parses the text between `${{` and `}}`.
///
/// Grammar: `or := and ('||' and)*`, `and := cmp ('&&' cmp)*`, `cmp := unary (op unary)?`,
/// `unary := '!' unary | primary`, `primary := literal | reference | function '(' ')' | '(' or ')'`.
package struct ExpressionParser {
    private enum Token: Equatable {
        case identifierPath([String])
        case string(String)
        case number(Double)
        case op(String)
        case end
    }

    private var tokens: [(token: Token, offset: Int)] = []
    private var position = 0
    private var depth = 0
    private static let maxDepth = 64
    private static let maxLength = 4096

    package static func parse(_ text: String) throws(ExpressionError) -> FlowExpression {
        guard text.utf8.count <= maxLength else {
            throw ExpressionError(message: "expression longer than \(maxLength) characters", offset: 0)
        }
        var parser = ExpressionParser()
        parser.tokens = try tokenize(Array(text))
        let expression = try parser.parseOr()
        if case let (token, offset) = parser.tokens[parser.position], token != .end {
            throw ExpressionError(message: "unexpected \(describe(token)) after the end of the expression", offset: offset)
        }
        return expression
    }

    private static func describe(_ token: Token) -> String {
        switch token {
        case .identifierPath(let parts): return "'\(parts.joined(separator: "."))'"
        case .string(let s): return "string '\(s)'"
        case .number(let n): return "number \(Value.number(n))"
        case .op(let o): return "'\(o)'"
        case .end: return "end of expression"
        }
    }

    private static func tokenize(_ chars: [Character]) throws(ExpressionError) -> [(token: Token, offset: Int)] {
        var out: [(token: Token, offset: Int)] = []
        var i = 0
        func isIdentStart(_ c: Character) -> Bool { c.isASCII && (c.isLetter || c == "_") }
        func isIdent(_ c: Character) -> Bool { c.isASCII && (c.isLetter || c.isNumber || c == "_" || c == "-") }
        while i < chars.count {
            let c = chars[i]
            let start = i
            if c == " " || c == "\t" || c == "\n" || c == "\r" { i += 1; continue }
            if c == "'" || c == "\"" {
                var s = ""
                i += 1
                var closed = false
                while i < chars.count {
                    if chars[i] == c {
                        if c == "'", i + 1 < chars.count, chars[i + 1] == "'" { s.append("'"); i += 2; continue }
                        closed = true
                        i += 1
                        break
                    }
                    s.append(chars[i])
                    i += 1
                }
                guard closed else { throw ExpressionError(message: "unterminated string literal", offset: start) }
                out.append((.string(s), start))
                continue
            }
            if c.isASCII, c.isNumber || (c == "-" && i + 1 < chars.count && chars[i + 1].isASCII && chars[i + 1].isNumber) {
                var s = String(c)
                i += 1
                while i < chars.count, chars[i].isASCII, chars[i].isNumber || chars[i] == "." || chars[i] == "e" || chars[i] == "E" {
                    s.append(chars[i])
                    i += 1
                }
                guard let n = Double(s) else { throw ExpressionError(message: "invalid number '\(s)'", offset: start) }
                out.append((.number(n), start))
                continue
            }
            if isIdentStart(c) {
                var parts: [String] = []
                var current = ""
                while i < chars.count {
                    if isIdent(chars[i]) {
                        current.append(chars[i])
                        i += 1
                    } else if chars[i] == "[", !current.isEmpty {
                        // A matrix instance: `tasks.backfill[symbol=MGC, tf=1m]`, kept without blanks.
                        guard let close = chars[i...].firstIndex(of: "]") else {
                            throw ExpressionError(message: "'[' without ']'", offset: i, note: "an instance is named as tasks.ID[name=value,...]")
                        }
                        current += "[" + String(chars[(i + 1)..<close]).filter { $0 != " " && $0 != "\t" } + "]"
                        i = close + 1
                    } else if chars[i] == ".", i + 1 < chars.count, isIdentStart(chars[i + 1]) || chars[i + 1].isNumber {
                        parts.append(current)
                        current = ""
                        i += 1
                    } else {
                        break
                    }
                }
                parts.append(current)
                out.append((.identifierPath(parts), start))
                continue
            }
            let two = i + 1 < chars.count ? String([c, chars[i + 1]]) : ""
            if ["==", "!=", "<=", ">=", "&&", "||"].contains(two) {
                out.append((.op(two), start))
                i += 2
                continue
            }
            if "!<>()".contains(c) {
                out.append((.op(String(c)), start))
                i += 1
                continue
            }
            if c == "=" {
                throw ExpressionError(message: "unexpected '='", offset: start, note: "compare with '=='")
            }
            throw ExpressionError(message: "unexpected character '\(c)'", offset: start)
        }
        out.append((.end, chars.count))
        return out
    }

    private var current: (token: Token, offset: Int) { tokens[position] }

    private mutating func parseOr() throws(ExpressionError) -> FlowExpression {
        var lhs = try parseAnd()
        while current.token == .op("||") {
            position += 1
            lhs = .binary(.or, lhs, try parseAnd())
        }
        return lhs
    }

    private mutating func parseAnd() throws(ExpressionError) -> FlowExpression {
        var lhs = try parseComparison()
        while current.token == .op("&&") {
            position += 1
            lhs = .binary(.and, lhs, try parseComparison())
        }
        return lhs
    }

    private mutating func parseComparison() throws(ExpressionError) -> FlowExpression {
        let lhs = try parseUnary()
        if case .op(let o) = current.token, let op = FlowExpression.BinaryOperator(rawValue: o), op != .and, op != .or {
            position += 1
            let rhs = try parseUnary()
            if case .op(let next) = current.token, let nextOp = FlowExpression.BinaryOperator(rawValue: next), nextOp != .and, nextOp != .or {
                throw ExpressionError(message: "comparisons cannot be chained", offset: current.offset,
                                      note: "combine them with '&&' or add parentheses")
            }
            return .binary(op, lhs, rhs)
        }
        return lhs
    }

    private mutating func parseUnary() throws(ExpressionError) -> FlowExpression {
        depth += 1
        defer { depth -= 1 }
        guard depth <= ExpressionParser.maxDepth else {
            throw ExpressionError(message: "expression nested deeper than \(ExpressionParser.maxDepth) levels", offset: current.offset)
        }
        if current.token == .op("!") {
            position += 1
            return .not(try parseUnary())
        }
        return try parsePrimary()
    }

    private mutating func parsePrimary() throws(ExpressionError) -> FlowExpression {
        let (token, offset) = current
        position += 1
        switch token {
        case .string(let s): return .literal(.string(s))
        case .number(let n): return .literal(.number(n))
        case .op("("):
            depth += 1
            defer { depth -= 1 }
            guard depth <= ExpressionParser.maxDepth else {
                throw ExpressionError(message: "expression nested deeper than \(ExpressionParser.maxDepth) levels", offset: offset)
            }
            let inner = try parseOr()
            guard current.token == .op(")") else {
                throw ExpressionError(message: "expected ')' to close the '(' at offset \(offset + 1)", offset: current.offset)
            }
            position += 1
            return inner
        case .identifierPath(let parts):
            if current.token == .op("(") { return try call(parts, offset: offset) }
            return try reference(parts, offset: offset)
        case .end:
            throw ExpressionError(message: "expected a value", offset: offset)
        case .op(let o):
            throw ExpressionError(message: "unexpected '\(o)'", offset: offset)
        }
    }

    /// A status function: `success()`, `failure()`, `always()`, `cancelled()`; no other function exists.
    private mutating func call(_ parts: [String], offset: Int) throws(ExpressionError) -> FlowExpression {
        let name = parts.joined(separator: ".")
        // `fromJSON(x)`, as in GitHub Actions: values are text, so it is `x` itself; `foreach:` parses the JSON.
        if parts == ["fromJSON"] {
            position += 1
            let inner = try parseOr()
            guard current.token == .op(")") else {
                throw ExpressionError(message: "'fromJSON()' takes one value, then ')'", offset: current.offset)
            }
            position += 1
            return inner
        }
        let known = StatusFunction.allCases.map(\.rawValue) + ["fromJSON"]
        guard parts.count == 1, let function = StatusFunction(rawValue: name) else {
            throw ExpressionError(message: "unknown function '\(name)()'", offset: offset,
                                  note: Suggestion.closest(to: name, in: known).map { "did you mean '\($0)()'?" }
                                      ?? "the functions are " + known.map { "'\($0)()'" }.joined(separator: ", "))
        }
        position += 1
        guard current.token == .op(")") else {
            throw ExpressionError(message: "'\(name)()' takes no arguments", offset: current.offset)
        }
        position += 1
        return .reference(.status(function))
    }

    private func reference(_ parts: [String], offset: Int) throws(ExpressionError) -> FlowExpression {
        switch parts[0] {
        case "true" where parts.count == 1: return .literal(.bool(true))
        case "false" where parts.count == 1: return .literal(.bool(false))
        case "null" where parts.count == 1: return .literal(.null)
        case "params":
            guard parts.count == 2 else {
                throw ExpressionError(message: "'params' takes one name, as in 'params.NAME'", offset: offset)
            }
            return .reference(.param(parts[1]))
        case "env":
            guard parts.count == 2 else {
                throw ExpressionError(message: "'env' takes one name, as in 'env.NAME'", offset: offset)
            }
            return .reference(.env(parts[1]))
        case "foreach":
            guard parts == ["foreach", "index"] || (parts.count >= 2 && parts.count <= 3 && parts[1] == "item") else {
                throw ExpressionError(message: "a foreach task reads 'foreach.item', 'foreach.item.KEY' or 'foreach.index'", offset: offset)
            }
            return .reference(.foreach(Array(parts.dropFirst())))
        case "matrix":
            guard parts.count == 2 else {
                throw ExpressionError(message: "'matrix' takes one name, as in 'matrix.NAME'", offset: offset)
            }
            return .reference(.matrix(parts[1]))
        case "secrets":
            guard parts.count == 2 else {
                throw ExpressionError(message: "'secrets' takes one name, as in 'secrets.NAME'", offset: offset)
            }
            return .reference(.secret(parts[1]))
        case "tasks":
            if parts.count == 3, parts[2] == "status" { return .reference(.taskStatus(TaskID(parts[1]))) }
            if parts.count == 3, parts[2] == "error" { return .reference(.taskError(TaskID(parts[1]))) }
            if parts.count == 3, parts[2] == "outputs" { return .reference(.taskOutputs(TaskID(parts[1]))) }
            // `tasks.ID.outputs.TASK.KEY`: a child workflow's output, read through a `uses: workflow` task.
            guard parts.count >= 4, parts[2] == "outputs" else {
                throw ExpressionError(message: "a task is read as 'tasks.ID.outputs.KEY', 'tasks.ID.outputs', 'tasks.ID.status' or 'tasks.ID.error'",
                                      offset: offset)
            }
            return .reference(.taskOutput(TaskID(parts[1]), parts[3...].joined(separator: ".")))
        case "run":
            if parts == ["run", "id"] { return .reference(.runID) }
            if parts == ["run", "started_at"] { return .reference(.runStartedAt) }
            if parts == ["run", "summary_json"] { return .reference(.runSummary) }
            if parts.count == 2, let field = RunScheduleField(rawValue: parts[1]) { return .reference(.runSchedule(field)) }
            let known = ["id", "started_at", "summary_json"] + RunScheduleField.allCases.map(\.rawValue)
            let property = parts.dropFirst().joined(separator: ".")
            throw ExpressionError(message: "unknown run property '\(property)'", offset: offset,
                                  note: Suggestion.closest(to: property, in: known).map { "did you mean 'run.\($0)'?" }
                                      ?? "a run has " + known.map { "'run.\($0)'" }.joined(separator: ", "))
        default:
            let roots = ["params", "tasks", "env", "secrets", "matrix", "foreach", "run", "true", "false", "null"]
            if let function = Suggestion.closest(to: parts[0], in: StatusFunction.allCases.map(\.rawValue)), parts.count == 1 {
                throw ExpressionError(message: "unknown name '\(parts[0])'", offset: offset, note: "did you mean '\(function)()'?")
            }
            let hint = Suggestion.closest(to: parts[0], in: roots).map { "did you mean '\($0)'?" }
                ?? "expressions can read 'params', 'tasks', 'env', 'secrets' and 'run'"
            throw ExpressionError(message: "unknown name '\(parts[0])'", offset: offset, note: hint)
        }
    }
}

/// Splits a string into text and `${{ }}` expressions.
package enum TemplateParser {
    package struct Failure: Error, Sendable {
        package var message: String
        /// Character offset from the start of the string.
        package var offset: Int
        package var note: String?
    }

    package static func parse(_ text: String) throws(Failure) -> [Template.Part] {
        var parts: [Template.Part] = []
        let chars = Array(text)
        var literal = ""
        var i = 0
        while i < chars.count {
            if chars[i] == "$", i + 2 < chars.count, chars[i + 1] == "{", chars[i + 2] == "{" {
                let open = i
                var j = i + 3
                var quote: Character?
                var close: Int?
                while j < chars.count {
                    let c = chars[j]
                    if let q = quote {
                        if c == q { quote = nil }
                    } else if c == "'" || c == "\"" {
                        quote = c
                    } else if c == "}", j + 1 < chars.count, chars[j + 1] == "}" {
                        close = j
                        break
                    }
                    j += 1
                }
                guard let end = close else {
                    throw Failure(message: "unterminated '${{': no matching '}}'", offset: open)
                }
                let inner = String(chars[(open + 3)..<end])
                guard !inner.trimmingBlanks.isEmpty else {
                    throw Failure(message: "empty expression '${{ }}'", offset: open)
                }
                do {
                    let expression = try ExpressionParser.parse(inner)
                    if !literal.isEmpty { parts.append(.text(literal)); literal = "" }
                    parts.append(.expression(expression))
                } catch {
                    throw Failure(message: error.message, offset: open + 3 + error.offset, note: error.note)
                }
                i = end + 2
                continue
            }
            literal.append(chars[i])
            i += 1
        }
        if !literal.isEmpty { parts.append(.text(literal)) }
        return parts
    }
}

import Foundation
