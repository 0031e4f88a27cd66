import FlowCore
import FlowProcess
import FlowSpec
import FlowStore
import FlowTasks
import Foundation
import MarketData
import Foundation

/// The composition root: builds the action registry and loader, finds workflows, opens the store.
struct Project {
    let options: GlobalOptions
    let groups: ProcessGroups
    let registry: ActionRegistry

    init(options: GlobalOptions) {
        self.options = options
        let groups = ProcessGroups()
        self.groups = groups
        self.registry = ActionRegistry(BuiltinActions.all + MarketDataActions.all)
    }

    var loader: WorkflowLoader { WorkflowLoader(actions: registry.signatures) }

    var actionVersions: [String: String] { registry.actions.mapValues(\.version) }

    /// The file a name refers to: a path when it looks like one, else `<workflows>/<name>.yaml` (or `.yml`).
    func locate(_ name: String) throws(CommandFailure) -> String {
        let fm = FileManager.default
        if name.contains("/") || name.hasSuffix(".yaml") || name.hasSuffix(".yml") {
            let path = FilePath.absolute(name)
            guard fm.fileExists(atPath: path) else { throw CommandFailure(.notFound, "flow: workflow file '\(name)' not found") }
            return path
        }
        guard TaskID.isValid(name.lowercased()) || name.allSatisfy({ $0.isLetter || $0.isNumber || "._-".contains($0) }) else {
            throw CommandFailure(.usage, "flow: '\(name)' is not a workflow name")
        }
        for ext in ["yaml", "yml"] {
            let path = "\(options.workflowsDirectory)/\(name).\(ext)"
            if fm.fileExists(atPath: path) { return path }
        }
        let known = workflowFiles().map { ($0 as NSString).lastPathComponent.replacingOccurrences(of: ".yaml", with: "").replacingOccurrences(of: ".yml", with: "") }
        var message = "flow: no workflow '\(name)' in \(display(options.workflowsDirectory))"
        if let s = Suggestion.closest(to: name, in: known) { message += "\nnote: did you mean '\(s)'?" }
        else if !known.isEmpty { message += "\nnote: workflows: \(known.sorted().joined(separator: ", "))" }
        throw CommandFailure(.notFound, message)
    }

    /// Every workflow file in the workflows folder, sorted.
    func workflowFiles() -> [String] {
        let dir = options.workflowsDirectory
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: dir) else { return [] }
        return names.filter { $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") }.sorted().map { "\(dir)/\($0)" }
    }

    /// Loads and validates a workflow, or fails with its diagnostics (exit 65).
    func load(_ path: String) throws(CommandFailure) -> Workflow {
        // A file name's control characters never reach the terminal raw.
        let shown = Console.escaped(display(path))
        let (outcome, source) = loader.load(path: path)
        switch outcome {
        case .success(let workflow):
            var w = workflow
            w.path = path
            return w
        case .failure(let diagnostics):
            let renamed = diagnostics.map { d -> Diagnostic in
                var d = d
                d.location.file = shown
                return d
            }
            let renderer = DiagnosticRenderer(sources: [shown: source])
            let errors = renamed.filter { $0.severity == .error }.count
            let text = renderer.render(renamed) + "flow: \(errors) error\(errors == 1 ? "" : "s") in \(shown)"
            throw CommandFailure(.invalidWorkflow, text)
        }
    }

    /// Refuses a workflow whose `name:` another file also uses — in its workflows folder, or as the file the
    /// latest run of that name came from — since a name identifies a workflow's runs and one file would resume
    /// the other's run. Only files whose text holds the name are loaded.
    func checkNameIsOwn(_ workflow: Workflow, latestRunPath: String?) throws(CommandFailure) {
        var others = workflowFiles().filter { $0 != workflow.path }
        if let latestRunPath, latestRunPath != workflow.path, !others.contains(latestRunPath),
           FileManager.default.fileExists(atPath: latestRunPath) {
            others.append(latestRunPath)
        }
        for other in others {
            guard FilePath.stem(other) == workflow.name
                    || ((try? String(contentsOfFile: other, encoding: .utf8))?.contains(workflow.name) ?? false),
                  case .success(let found) = loader.load(path: other).outcome, found.name == workflow.name else { continue }
            throw CommandFailure(.invalidWorkflow, """
                flow: workflow name '\(workflow.name)' of \(display(workflow.path)) is also used by \(display(other))
                note: a name identifies a workflow's runs and history; give each file its own 'name:' (or remove one)
                """)
        }
    }

    /// Opens the state database; a damaged or unreadable one is reported, never replaced.
    func openStore() throws(CommandFailure) -> StateStore {
        do {
            return try StateStore(path: options.statePath)
        } catch {
            throw CommandFailure(.internalError, "flow: \(error)")
        }
    }

    /// Opens the state database only if it exists: read-only commands must not create one.
    func existingStore() throws(CommandFailure) -> StateStore? {
        guard FileManager.default.fileExists(atPath: options.statePath) else { return nil }
        return try openStore()
    }

    /// A path as the user would like to read it: relative to the current folder when inside it.
    func display(_ path: String) -> String {
        let cwd = FileManager.default.currentDirectoryPath
        if path.hasPrefix(cwd + "/") { return String(path.dropFirst(cwd.count + 1)) }
        return path
    }
}
