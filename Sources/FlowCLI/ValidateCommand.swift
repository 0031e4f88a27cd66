import FlowCore
import Foundation

struct ValidateCommand: Subcommand {
    static let spec = CommandSpec(
        name: "validate", abstract: "Check workflow files like a compiler; with no names, every file in the workflows folder.",
        arguments: [.init(name: "workflow", help: "Workflow names or paths (default: all).", variadic: true)],
        options: GlobalOptions.options)

    var global: GlobalOptions
    var workflows: [String]

    init(_ arguments: ParsedArguments) {
        global = GlobalOptions(arguments)
        workflows = arguments.arguments("workflow")
    }

    func run() async throws {
        try LogSetup.bootstrap(global.logLevel)
        let project = Project(options: global)
        var paths: [String] = []
        if workflows.isEmpty {
            paths = project.workflowFiles()
            guard !paths.isEmpty else {
                throw CommandFailure(.notFound, "flow: no workflow files (*.yaml) in \(project.display(global.workflowsDirectory))")
            }
        } else {
            for name in workflows { paths.append(try project.locate(name)) }
        }
        var failures = 0
        var names: [String: String] = [:]
        for path in paths {
            do {
                let workflow = try project.load(path)
                if let other = names[workflow.name] {
                    failures += 1
                    Console.err("\(project.display(path)):1:1: error: workflow name '\(workflow.name)' is also used by \(project.display(other))\nnote: names identify a workflow's runs; give each file its own 'name:'")
                    continue
                }
                names[workflow.name] = path
                Console.out("\(project.display(path)): ok (\(workflow.tasks.count) task\(workflow.tasks.count == 1 ? "" : "s"))")
            } catch {
                failures += 1
                Console.err(error.message)
            }
        }
        if failures > 0 { throw FlowExit.invalidWorkflow }
    }
}

struct GraphCommand: Subcommand {
    static let spec = CommandSpec(
        name: "graph", abstract: "Print a workflow's dependency graph as Mermaid or Graphviz dot.",
        arguments: [.init(name: "workflow", help: "Workflow name or path.")],
        options: [.init(name: "format", value: "format", help: "mermaid (default) or dot.")] + GlobalOptions.options)

    enum Format: String, CaseIterable {
        case mermaid
        case dot
    }

    var global: GlobalOptions
    var workflow: String
    var format: Format

    init(_ arguments: ParsedArguments) throws(CommandFailure) {
        global = GlobalOptions(arguments)
        workflow = arguments.required("workflow")
        global = global.anchored(at: workflow)
        let text = arguments.value("format") ?? Format.mermaid.rawValue
        guard let format = Format(rawValue: text) else {
            throw ParsedArguments.usage(Self.spec, "--format takes mermaid or dot, not '\(text.prefix(20))'")
        }
        self.format = format
    }

    func run() async throws {
        try LogSetup.bootstrap(global.logLevel)
        let project = Project(options: global)
        let workflow = try project.load(try project.locate(self.workflow))
        Console.out(GraphRenderer.render(workflow, format: format))
    }
}

/// Renders the task graph for documentation tools.
enum GraphRenderer {
    static func render(_ workflow: Workflow, format: GraphCommand.Format) -> String {
        switch format {
        case .mermaid:
            // Mermaid ids cannot contain '-', so each task gets a safe id and its real name as label.
            func node(_ id: TaskID) -> String { "t_" + id.rawValue.replacingOccurrences(of: "-", with: "_") }
            var lines = ["flowchart TD"]
            for task in workflow.tasks {
                let label = task.uses == "shell" ? task.id.rawValue : "\(task.id.rawValue)<br/><small>\(task.uses)</small>"
                lines.append("    \(node(task.id))[\"\(label)\"]")
            }
            for task in workflow.tasks {
                for need in task.needs {
                    let style = task.condition != nil ? " -. if .-> " : " --> "
                    lines.append("    \(node(need))\(style)\(node(task.id))")
                }
            }
            return lines.joined(separator: "\n")
        case .dot:
            func quote(_ s: String) -> String { "\"" + s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\"" }
            var lines = ["digraph \(quote(workflow.name)) {", "    rankdir=LR;", "    node [shape=box];"]
            for task in workflow.tasks {
                lines.append("    \(quote(task.id.rawValue)) [label=\(quote(task.uses == "shell" ? task.id.rawValue : "\(task.id.rawValue)\n\(task.uses)"))];")
            }
            for task in workflow.tasks {
                for need in task.needs {
                    lines.append("    \(quote(need.rawValue)) -> \(quote(task.id.rawValue))\(task.condition != nil ? " [style=dashed]" : "");")
                }
            }
            lines.append("}")
            return lines.joined(separator: "\n")
        }
    }
}
