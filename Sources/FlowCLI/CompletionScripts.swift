import FlowCore

/// The three scripts. Each command's options come from its spec; a command whose first argument is a workflow
/// completes workflow names, `schedule` its actions first.
enum CompletionScripts {
    static func takesWorkflow(_ spec: CommandSpec) -> Bool {
        spec.arguments.contains { $0.name == "workflow" }
    }

    static func words(_ spec: CommandSpec) -> [String] {
        spec.allOptions.flatMap { option in ["--" + option.name] + (option.short.map { ["-\($0)"] } ?? []) }
    }

    /// Options whose value is a path.
    static let pathOptions = ["--workflows", "--state"]

    /// Single quotes for every shell's word lists; help texts keep to their own characters.
    static func quoted(_ text: String) -> String { "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'" }

    static func bash(_ commands: [CommandSpec]) -> String {
        var cases = ""
        for spec in commands {
            let actions = spec.name == "schedule" ? ScheduleCommand.actions : spec.name == "completion" ? CompletionCommand.shells : []
            let extra = actions.isEmpty ? "" : "actions=\"\(actions.joined(separator: " "))\"; "
            cases += "        \(spec.name)) opts=\"\(words(spec).joined(separator: " "))\"; \(extra)workflow=\(takesWorkflow(spec) ? 1 : 0) ;;\n"
        }
        let names = commands.map(\.name).joined(separator: " ")
        return """
            # flow completion for bash. Load it with: source <(flow completion bash)
            # or save it: flow completion bash > ~/.local/share/bash-completion/completions/flow
            _flow() {
                local cur prev command opts="" actions="" workflow=0
                cur="${COMP_WORDS[COMP_CWORD]}"
                prev="${COMP_WORDS[COMP_CWORD-1]}"
                if [ "$COMP_CWORD" -eq 1 ]; then
                    COMPREPLY=($(compgen -W "\(names) help --help --version" -- "$cur"))
                    return
                fi
                command="${COMP_WORDS[1]}"
                case "$command" in
            \(cases)        help) COMPREPLY=($(compgen -W "\(names)" -- "$cur")); return ;;
                    *) return ;;
                esac
                case "$prev" in
                    \(pathOptions.joined(separator: "|"))) COMPREPLY=($(compgen -f -- "$cur")); return ;;
                esac
                if [[ "$cur" == -* ]]; then
                    COMPREPLY=($(compgen -W "$opts" -- "$cur"))
                    return
                fi
                if [ -n "$actions" ] && [ "$COMP_CWORD" -eq 2 ]; then
                    COMPREPLY=($(compgen -W "$actions" -- "$cur"))
                    return
                fi
                if [ "$workflow" = 1 ]; then
                    COMPREPLY=($(compgen -W "$(command flow completion --names 2>/dev/null)" -- "$cur"))
                fi
            }
            complete -F _flow flow
            """
    }

    static func zsh(_ commands: [CommandSpec]) -> String {
        func help(_ text: String) -> String {
            text.replacingOccurrences(of: "'", with: "'\\''").replacingOccurrences(of: "[", with: "(").replacingOccurrences(of: "]", with: ")")
                .replacingOccurrences(of: ":", with: "\\:")
        }
        var described = ""
        for spec in commands { described += "        '\(spec.name):\(help(spec.abstract))'\n" }
        var cases = ""
        for spec in commands {
            var specs: [String] = []
            for option in spec.allOptions {
                let value = option.value.map { ":\($0):" + (pathOptions.contains("--" + option.name) ? "_files" : " ") } ?? ""
                let body = "[\(help(option.help))]\(value)"
                if let short = option.short {
                    specs.append("'\(option.repeatable ? "*" : "(-\(short) --\(option.name))")'{-\(short),--\(option.name)}'\(body)'")
                } else {
                    specs.append("'--\(option.name)\(option.value == nil ? "" : "=")\(body)'")
                }
            }
            if spec.name == "schedule" {
                specs.append("'1:action:(\(ScheduleCommand.actions.joined(separator: " ")))'")
                specs.append("'*:workflow:_flow_workflows'")
            } else if spec.name == "completion" {
                specs.append("'1:shell:(\(CompletionCommand.shells.joined(separator: " ")))'")
            } else if takesWorkflow(spec) {
                specs.append("'*:workflow:_flow_workflows'")
            }
            cases += "        \(spec.name)) _arguments -s \(specs.joined(separator: " ")) ;;\n"
        }
        return """
            #compdef flow
            # flow completion for zsh. Load it with: source <(flow completion zsh)
            # or save it as _flow in a folder of $fpath.
            _flow_workflows() {
                local -a names
                names=(${(f)"$(command flow completion --names 2>/dev/null)"})
                _describe 'workflow' names
            }
            _flow() {
                local -a commands
                commands=(
            \(described)    )
                if (( CURRENT == 2 )); then
                    _describe 'command' commands
                    return
                fi
                local command=$words[2]
                shift words
                (( CURRENT-- ))
                case $command in
            \(cases)        help) _describe 'command' commands ;;
                esac
            }
            if [[ $zsh_eval_context[-1] == loadautofunc ]]; then
                _flow "$@"
            else
                compdef _flow flow
            fi
            """
    }

    static func fish(_ commands: [CommandSpec]) -> String {
        var lines = [
            "# flow completion for fish. Load it with: flow completion fish | source",
            "# or save it: flow completion fish > ~/.config/fish/completions/flow.fish",
            "complete -c flow -f",
        ]
        let names = commands.map(\.name).joined(separator: " ")
        for spec in commands {
            lines.append("complete -c flow -n __fish_use_subcommand -a \(spec.name) -d \(quoted(spec.abstract))")
        }
        lines.append("complete -c flow -n '__fish_seen_subcommand_from help' -a \(quoted(names))")
        for spec in commands {
            let when = "'__fish_seen_subcommand_from \(spec.name)'"
            for option in spec.allOptions {
                var line = "complete -c flow -n \(when) -l \(option.name)"
                if let short = option.short { line += " -s \(short)" }
                if option.value != nil { line += pathOptions.contains("--" + option.name) ? " -r -F" : " -r" }
                lines.append(line + " -d \(quoted(option.help))")
            }
            if spec.name == "schedule" {
                let action = "__fish_seen_subcommand_from " + ScheduleCommand.actions.joined(separator: " ")
                lines.append("complete -c flow -n \(quoted("__fish_seen_subcommand_from schedule; and not \(action)")) -a \(quoted(ScheduleCommand.actions.joined(separator: " ")))")
                lines.append("complete -c flow -n \(quoted("__fish_seen_subcommand_from schedule; and \(action)")) -a '(command flow completion --names 2>/dev/null)'")
            } else if spec.name == "completion" {
                lines.append("complete -c flow -n \(when) -a \(quoted(CompletionCommand.shells.joined(separator: " ")))")
            } else if takesWorkflow(spec) {
                lines.append("complete -c flow -n \(when) -a '(command flow completion --names 2>/dev/null)'")
            }
        }
        return lines.joined(separator: "\n")
    }
}
