import FlowCore
import FlowSpec
import Foundation

/// `flow schema`: the workflow file's JSON Schema, for editors (docs/workflow-syntax.md#editor-completion).
struct SchemaCommand: Subcommand {
    static let spec = CommandSpec(
        name: "schema", abstract: "Print the JSON Schema of workflow files, for an editor's completion and checks.",
        options: GlobalOptions.options)

    var global: GlobalOptions

    init(_ arguments: ParsedArguments) {
        global = GlobalOptions(arguments)
    }

    func run() async throws {
        let project = Project(options: global)
        Console.out(WorkflowSchema.schema(actions: project.registry.signatures).printed())
    }
}
