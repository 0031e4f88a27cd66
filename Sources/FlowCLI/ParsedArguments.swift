import FlowCore

/// What the command line gave one command: option values by long name, flags, and positional arguments.
struct ParsedArguments: Sendable {
    let spec: CommandSpec
    private(set) var values: [String: [String]] = [:]
    private(set) var flags: Set<String> = []
    private(set) var positional: [String: [String]] = [:]
    private(set) var wantsHelp = false

    /// Parses `arguments` (the words after the command's name) against `spec`.
    init(_ arguments: some Sequence<String>, for spec: CommandSpec) throws(CommandFailure) {
        self.spec = spec
        var words: [String] = []
        var iterator = arguments.makeIterator()
        var optionsEnded = false
        while let word = iterator.next() {
            if optionsEnded || word == "-" || !word.hasPrefix("-") {
                words.append(word)
                continue
            }
            if word == "--" {
                optionsEnded = true
                continue
            }
            let (option, attached) = try Self.option(for: word, in: spec)
            if option.name == CommandSpec.help.name {
                wantsHelp = true
                continue
            }
            guard option.value != nil else {
                if attached != nil { throw Self.usage(spec, "--\(option.name) takes no value") }
                flags.insert(option.name)
                continue
            }
            guard let value = attached ?? iterator.next() else {
                throw Self.usage(spec, "--\(option.name) needs a value <\(option.value ?? "value")>")
            }
            if !option.repeatable, values[option.name] != nil {
                throw Self.usage(spec, "--\(option.name) given more than once")
            }
            values[option.name, default: []].append(value)
        }
        guard !wantsHelp else { return }
        var remaining = words[...]
        for argument in spec.arguments {
            if argument.variadic {
                positional[argument.name] = Array(remaining)
                remaining = []
            } else if let word = remaining.popFirst() {
                positional[argument.name] = [word]
            } else if !argument.optional {
                throw Self.usage(spec, "missing <\(argument.name)>")
            }
        }
        if let extra = remaining.first {
            throw Self.usage(spec, "unexpected argument '\(extra.prefix(64))'")
        }
    }

    /// The option `word` names, and a value attached to it (`--name=value`, `-pvalue`).
    private static func option(for word: String, in spec: CommandSpec) throws(CommandFailure) -> (CommandSpec.Option, String?) {
        if word.hasPrefix("--") {
            let body = word.dropFirst(2)
            let name = body.prefix { $0 != "=" }
            let attached = name.count < body.count ? String(body.dropFirst(name.count + 1)) : nil
            if let option = spec.allOptions.first(where: { $0.name == name }) { return (option, attached) }
            var message = "unknown option '--\(name.prefix(64))'"
            if let close = Suggestion.closest(to: String(name), in: spec.allOptions.map(\.name)) {
                message += " (did you mean '--\(close)'?)"
            }
            throw usage(spec, message)
        }
        let letter = word.dropFirst().first
        guard let option = spec.allOptions.first(where: { $0.short != nil && $0.short == letter }) else {
            throw usage(spec, "unknown option '\(word.prefix(64))'")
        }
        let rest = word.dropFirst(2)
        return (option, rest.isEmpty ? nil : String(rest))
    }

    static func usage(_ spec: CommandSpec, _ message: String) -> CommandFailure {
        CommandFailure(.usage, "flow \(spec.name): \(message)\nusage: \(spec.usage)\nsee 'flow \(spec.name) --help'")
    }

    func value(_ name: String) -> String? { values[name]?.last }
    func values(_ name: String) -> [String] { values[name] ?? [] }
    func flag(_ name: String) -> Bool { flags.contains(name) }
    func argument(_ name: String) -> String? { positional[name]?.first }
    func arguments(_ name: String) -> [String] { positional[name] ?? [] }

    /// A whole number option, or a usage error naming it.
    func integer(_ name: String) throws(CommandFailure) -> Int? {
        guard let text = value(name) else { return nil }
        guard let number = Int(text) else {
            throw Self.usage(spec, "--\(name) takes a whole number, not '\(text.prefix(20))'")
        }
        return number
    }

    /// A required argument; the parser has already checked it is there.
    func required(_ name: String) -> String { argument(name) ?? "" }
}
