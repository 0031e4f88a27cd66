import FlowCore
import FlowStore
import Foundation

/// Deletes old runs under a workflow's `retention:` (or the limits given): each run's rows in one transaction,
/// then, once that is committed, its log and scratch folders. A workflow's `NAME+missed` notification runs go
/// with it.
struct Pruner {
    var store: StateStore
    /// The state folder that holds `logs/` and `tmp/`.
    var stateDirectory: String

    struct Result {
        var runs: [RunRecord] = []
        var bytes: Int64 = 0
    }

    func prune(_ workflow: String, keepRuns: Int?, keepDays: Int?, now: Date, dryRun: Bool) throws(CommandFailure) -> Result {
        var result = Result()
        do {
            result.runs = try store.pruneCandidates(of: [workflow, workflow + "+missed"], keepRuns: keepRuns, keepDays: keepDays, now: now)
            for run in result.runs {
                let folders = ["logs", "tmp"].map { "\(stateDirectory)/\($0)/\(run.id)" }
                result.bytes += folders.reduce(0) { $0 + Self.size(of: $1) }
                guard !dryRun else { continue }
                try store.deleteRun(run.id)
                // After the commit: a crash between the two leaves files without rows, never rows without files.
                for folder in folders { try? FileManager.default.removeItem(atPath: folder) }
            }
        } catch {
            throw CommandFailure(.internalError, "flow: \(error)")
        }
        return result
    }

    static func size(of folder: String) -> Int64 {
        guard let names = FileManager.default.enumerator(atPath: folder)?.allObjects as? [String] else { return 0 }
        return names.reduce(Int64(0)) { total, name in
            total + ((try? FileManager.default.attributesOfItem(atPath: folder + "/" + name)[.size] as? NSNumber)?.int64Value ?? 0)
        }
    }

    static func bytes(_ count: Int64) -> String {
        count < 1024 * 1024 ? "\(count / 1024) KiB" : String(format: "%.1f MiB", Double(count) / 1_048_576)
    }
}

struct PruneCommand: Subcommand {
    static let spec = CommandSpec(
        name: "prune", abstract: "Delete old runs and their logs under each workflow's retention (or the limits given).",
        arguments: [.init(name: "workflow", help: "Only this workflow (default: every workflow of the project).", optional: true)],
        options: [
            .init(name: "keep-runs", value: "N", help: "Keep the newest N runs of each workflow (default: its retention.runs)."),
            .init(name: "keep-days", value: "N", help: "Keep no run older than N days (default: its retention.days)."),
            .init(name: "dry-run", help: "Say what would be deleted; delete nothing."),
        ] + GlobalOptions.options)

    var global: GlobalOptions
    var workflow: String?
    var keepRuns: Int?
    var keepDays: Int?
    var dryRun: Bool

    init(_ arguments: ParsedArguments) throws(CommandFailure) {
        global = GlobalOptions(arguments)
        workflow = arguments.argument("workflow")
        if let workflow { global = global.anchored(at: workflow) }
        keepRuns = try arguments.integer("keep-runs")
        keepDays = try arguments.integer("keep-days")
        dryRun = arguments.flag("dry-run")
        if let n = keepRuns, n < 1 { throw ParsedArguments.usage(Self.spec, "--keep-runs must be at least 1 (the newest run is always kept)") }
        if let n = keepDays, n < 1 { throw ParsedArguments.usage(Self.spec, "--keep-days must be at least 1") }
    }

    func run() async throws {
        try LogSetup.bootstrap(global.logLevel)
        let project = Project(options: global)
        guard let store = try project.existingStore() else { return Console.out("no runs yet: nothing to prune") }
        var workflows: [Workflow] = []
        if let workflow {
            workflows = [try project.load(try project.locate(workflow))]
        } else {
            workflows = project.workflowFiles().compactMap { try? project.load($0) }
        }
        let pruner = Pruner(store: store, stateDirectory: global.stateDirectory)
        let now = try RunSetup.clock()
        var total = Pruner.Result()
        for wf in workflows {
            let result = try pruner.prune(wf.name, keepRuns: keepRuns ?? wf.retention.runs, keepDays: keepDays ?? wf.retention.days,
                                          now: now, dryRun: dryRun)
            guard !result.runs.isEmpty else { continue }
            let ids = result.runs.map(\.id)
            let shown = ids.count > 10 ? "\(ids.prefix(10).map(String.init).joined(separator: ", ")), …" : ids.map(String.init).joined(separator: ", ")
            Console.out("\(wf.name): \(dryRun ? "would delete" : "deleted") \(ids.count) run\(ids.count == 1 ? "" : "s") (\(shown)), "
                        + "\(Pruner.bytes(result.bytes)) of logs")
            total.runs += result.runs
            total.bytes += result.bytes
        }
        Console.out(total.runs.isEmpty ? "nothing to prune" : "\(dryRun ? "would free" : "freed") \(Pruner.bytes(total.bytes)) of logs in \(total.runs.count) run\(total.runs.count == 1 ? "" : "s")")
    }
}
