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
        self.registry = ActionRegistry(BuiltinActions.all + MarketDataActions.all
            + [WorkflowAction(workflowsDirectory: options.workflowsDirectory, statePath: options.statePath)])
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
    func load(_ path: String) throws(CommandFailure) -> Workflow { try load(path, calledFrom: []) }

    /// `calledFrom`: the workflows whose `uses: workflow` tasks lead here, outermost first.
    private func load(_ path: String, calledFrom chain: [String]) throws(CommandFailure) -> Workflow {
        // A file name's control characters never reach the terminal raw.
        let shown = Console.escaped(display(path))
        let (outcome, source) = loader.load(path: path)
        switch outcome {
        case .success(let workflow):
            var w = workflow
            w.path = path
            try checkCalls(&w, chain: chain + [w.name], shown: shown)
            return w
        case .failure(let diagnostics):
            throw Self.invalid(diagnostics, source: source, shown: shown)
        }
    }

    /// A workflow's diagnostics as the failure a command exits 65 with: each located in `shown` (the file as
    /// the user names it), rendered with its source line, then `last` (default: how many errors, where).
    static func invalid(_ diagnostics: [Diagnostic], source: String, shown: String, last: String? = nil) -> CommandFailure {
        let renamed = diagnostics.map { d -> Diagnostic in
            var d = d
            d.location.file = shown
            return d
        }
        let errors = renamed.filter { $0.severity == .error }.count
        let text = DiagnosticRenderer(sources: [shown: source]).render(renamed)
            + (last ?? "flow: \(errors) error\(errors == 1 ? "" : "s") in \(shown)")
        return CommandFailure(.invalidWorkflow, text)
    }

    /// Each `uses: workflow` task names, written out, a valid workflow of this project that declares the params
    /// it is given and does not lead back to one of `chain` (a cycle, named in full).
    /// Each such task also gets the input `workflow_digest`, a hash of the child's text (and its own children's),
    /// so its fingerprint changes with the child's definition: a resumed parent runs a changed child again.
    private func checkCalls(_ workflow: inout Workflow, chain: [String], shown: String) throws(CommandFailure) {
        var diagnostics: [Diagnostic] = []
        for (index, task) in workflow.tasks.enumerated() where task.uses == "workflow" {
            guard let value = task.with.first(where: { $0.name == "workflow" })?.value else { continue }
            let location = value.location ?? task.location
            guard value.references.isEmpty else {
                diagnostics.append(.error(at: location, "the workflow task '\(task.id)' runs is written out, not computed",
                                          notes: ["flow checks the child workflow (and that no cycle leads back here) before anything runs"]))
                continue
            }
            let name = value.description
            // A name, never a path (a workflow of this project) nor an option to the child `flow run`.
            guard WorkflowLoader.isValidName(name) else {
                diagnostics.append(.error(at: location, "'\(String(name.prefix(64)))' is not a workflow name",
                                          notes: ["name a workflow of this project's workflows folder: letters, digits, '.', '_' and '-', starting with a letter or digit"]))
                continue
            }
            if let start = chain.firstIndex(of: name) {
                diagnostics.append(.error(at: location, "workflow cycle: \((chain[start...] + [name]).joined(separator: " -> "))",
                                          notes: ["task '\(task.id)' of '\(workflow.name)' runs '\(name)', which leads back here; remove one of these calls"]))
                continue
            }
            let childPath: String
            do {
                childPath = try locate(name)
            } catch {
                diagnostics.append(.error(at: location, "task '\(task.id)' runs workflow '\(name)', which is not in \(display(options.workflowsDirectory))",
                                          notes: error.message.split(separator: "\n").dropFirst().map { String($0.dropFirst("note: ".count)) }))
                continue
            }
            // An invalid child, or a cycle further in, is reported as that file's own diagnostics.
            let child = try load(childPath, calledFrom: chain)
            var digest = SHA256()
            digest.update(child.source)
            for inner in child.tasks where inner.uses == "workflow" {
                digest.update(inner.with.first { $0.name == WorkflowAction.digestInput }?.value.description ?? "")
            }
            workflow.setInput(WorkflowAction.digestInput, Template(literal: digest.finalize()), ofTaskAt: index)
            let declared = child.params.map(\.name)
            for (key, _) in task.with where key.hasPrefix("params.") {
                let param = String(key.dropFirst("params.".count))
                guard !declared.contains(param) else { continue }
                var notes = Suggestion.closest(to: param, in: declared).map { ["did you mean '\($0)'?"] } ?? []
                notes.append(declared.isEmpty ? "'\(name)' declares no params" : "'\(name)' params: \(declared.joined(separator: ", "))")
                diagnostics.append(.error(at: location, "workflow '\(name)' has no parameter '\(param)'", notes: notes))
            }
        }
        guard !diagnostics.isEmpty else { return }
        throw Self.invalid(diagnostics, source: workflow.source, shown: shown)
    }

    /// `workflow` loaded again from the text it was loaded from, with the lists of its foreach tasks a run now
    /// knows: those tasks become their instances.
    func expand(_ workflow: Workflow, foreachItems: [TaskID: [ForeachItem]]) throws(CommandFailure) -> Workflow {
        switch loader.load(text: workflow.source, file: workflow.path, defaultName: FilePath.stem(workflow.path), foreachItems: foreachItems) {
        case .success(let expanded):
            var w = expanded
            w.path = workflow.path
            try checkCalls(&w, chain: [w.name], shown: Console.escaped(display(workflow.path)))
            return w
        case .failure(let diagnostics):
            let shown = Console.escaped(display(workflow.path))
            throw Self.invalid(diagnostics, source: workflow.source, shown: shown,
                               last: "flow: the foreach lists of \(shown) make an invalid workflow")
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
