import FlowCore
import Foundation

/// `flow completion bash|zsh|fish`: a completion script for commands, their options and workflow names, made
/// from the same command specs the parser uses. Workflow names come from `flow completion --names` at
/// completion time (the file stems of the workflows folder, nothing loaded).
struct CompletionCommand: Subcommand {
    static let shells = ["bash", "zsh", "fish"]

    static let spec = CommandSpec(
        name: "completion", abstract: "Print a shell completion script: flow completion bash|zsh|fish.",
        arguments: [.init(name: "shell", help: "bash, zsh or fish.", optional: true)],
        options: [.init(name: "names", help: "Print the workflow names of this project, one per line (what the scripts complete).")]
            + GlobalOptions.options)

    var global: GlobalOptions
    var shell: String?
    var listWorkflows: Bool

    init(_ arguments: ParsedArguments) {
        global = GlobalOptions(arguments)
        shell = arguments.argument("shell")
        listWorkflows = arguments.flag("names")
    }

    func run() async throws {
        if listWorkflows {
            let names = Project(options: global).workflowFiles().map(FilePath.stem).filter(WorkflowNames.isCompletable).sorted()
            if !names.isEmpty { Console.out(names.joined(separator: "\n")) }
            return
        }
        guard let shell, Self.shells.contains(shell) else {
            throw ParsedArguments.usage(Self.spec, "name a shell: " + Self.shells.joined(separator: ", "))
        }
        let commands = FlowCommand.subcommands.map { $0.spec }
        switch shell {
        case "bash": Console.out(CompletionScripts.bash(commands))
        case "zsh": Console.out(CompletionScripts.zsh(commands))
        default: Console.out(CompletionScripts.fish(commands))
        }
    }
}

enum WorkflowNames {
    /// Only names a shell can offer as one word: anything else would need quoting in every shell's way.
    static func isCompletable(_ name: String) -> Bool {
        !name.isEmpty && name.unicodeScalars.allSatisfy { $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || "._-".unicodeScalars.contains($0)) }
    }
}
