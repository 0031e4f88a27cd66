/// A command's arguments and options, as data: the parser, the usage line and the help text all come from it.
///
/// flow parses its command line itself rather than through swift-argument-parser: that library's property
/// wrappers instantiate generic metadata by mangled name at every start, and each first conformance check
/// scans all of the static binary's conformance records — 16 M instructions, 44% of a one-task `flow run`
/// (docs/PERFORMANCE.md).
struct CommandSpec: Sendable {
    struct Argument: Sendable {
        var name: String
        var help: String
        var optional = false
        /// Takes every remaining argument (zero or more).
        var variadic = false
    }

    struct Option: Sendable {
        /// The long name, without `--`.
        var name: String
        var short: Character? = nil
        /// The value's placeholder; nil for a flag.
        var value: String? = nil
        var repeatable = false
        var help: String
    }

    var name: String
    var abstract: String
    var arguments: [Argument] = []
    var options: [Option] = []

    static let help = Option(name: "help", short: "h", help: "Show this help.")
    /// `--json`, the same on every command that prints a document.
    static let json = Option(name: "json", help: "Print a JSON document.")

    /// `-p/--param NAME=VALUE`, repeatable; `help` says what it does for the command.
    static func param(_ help: String) -> Option {
        Option(name: "param", short: "p", value: "name=value", repeatable: true, help: help)
    }

    /// The options this command accepts, `--help` included.
    var allOptions: [Option] { options + [Self.help] }

    var usage: String {
        var parts = ["flow", name]
        for argument in arguments {
            let placeholder = "<\(argument.name)>" + (argument.variadic ? " ..." : "")
            parts.append(argument.optional || argument.variadic ? "[\(placeholder)]" : placeholder)
        }
        if !options.isEmpty { parts.append("[options]") }
        return parts.joined(separator: " ")
    }

    var helpText: String {
        var lines = ["OVERVIEW: \(abstract)", "", "USAGE: \(usage)"]
        if !arguments.isEmpty {
            lines += ["", "ARGUMENTS:"]
            lines += Self.columns(arguments.map { ("<\($0.name)>", $0.help) })
        }
        lines += ["", "OPTIONS:"]
        lines += Self.columns(allOptions.map { option in
            var left = option.short.map { "-\($0), " } ?? "    "
            left += "--\(option.name)"
            if let value = option.value { left += " <\(value)>" }
            guard option.repeatable else { return (left, option.help) }
            return (left, option.help.hasSuffix(".") ? option.help.dropLast() + " (repeatable)." : option.help + " (repeatable)")
        })
        return lines.joined(separator: "\n")
    }

    /// Two aligned columns, the way `--help` output usually looks.
    static func columns(_ rows: [(String, String)]) -> [String] {
        let width = min(30, (rows.map(\.0.count).max() ?? 0) + 2)
        return rows.map { left, right in
            let pad = left.count < width ? String(repeating: " ", count: width - left.count) : "\n  " + String(repeating: " ", count: width)
            return "  " + left + pad + right
        }
    }
}
