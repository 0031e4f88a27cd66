import FlowCore
import FlowPlan
import FlowProcess
import FlowSpec
import FlowStore
import FlowWeb
import Foundation
import Synchronization

/// What the web view (and `flow report --html`) reads, from the same state database, workflows folder and
/// documents as the CLI: every `/api/` answer is the text the matching `--json` command prints. Reads only;
/// every method opens the state database for its own short read, never holding a connection between requests.
package struct WebBackend: Sendable {
    /// A page or document, or why there is none (a 404 with a message).
    package enum Failure: Error, Sendable {
        case notFound(String)
        case failed(String)
    }

    private let options: GlobalOptions

    package init(workflows: String?, state: String?) {
        options = GlobalOptions(workflows: workflows, state: state)
    }

    private var project: Project { Project(options: options) }

    package var projectDirectory: String { options.projectDirectory }
    package var workflowsDirectory: String { options.workflowsDirectory }
    package var statePath: String { options.statePath }
    /// Attempt logs live under here; nothing outside it is ever read for a log.
    package var logRoot: String { FilePath.absolute(options.stateDirectory + "/logs") }

    private func store() throws(Failure) -> StateStore? {
        do { return try project.existingStore() } catch { throw Failure.failed(error.message) }
    }

    private func workflow(_ name: String) throws(Failure) -> (Workflow, String) {
        guard WorkflowLoader.isValidName(name) else { throw Failure.notFound("no workflow '\(name)'") }
        do {
            let path = try project.locate(name)
            return (try project.load(path), path)
        } catch {
            throw error.exit == .invalidWorkflow ? Failure.failed(error.message) : Failure.notFound("no workflow '\(name)'")
        }
    }

    private func json<T: Encodable>(_ value: T) throws(Failure) -> String {
        do { return try JSONDocument.text(value) } catch { throw Failure.failed(error.message) }
    }

    // MARK: workflows

    package func workflowRows() throws(Failure) -> [WorkflowRow] {
        let project = project
        let entries: [ListCommand.Entry]
        do { entries = try ListCommand.entries(project) } catch { throw Failure.failed(error.message) }
        let store = try store()
        let latest = (try? store?.latestRuns()) ?? [:]
        return zip(project.workflowFiles(), entries).map { path, entry in
            var row = WorkflowRow(name: entry.name, file: entry.path, description: entry.description, taskCount: entry.tasks ?? 0)
            if !entry.valid {
                do { _ = try project.load(path) } catch { row.error = error.message }
            }
            row.lastRun = latest[entry.name]
            if let schedule = entry.schedule {
                row.schedule = schedule.cron.joined(separator: " | ") + " (\(schedule.timezone))"
                row.nextTick = schedule.nextTick
                row.lastTick = ListCommand.lastTickText(schedule)
            }
            return row
        }
    }

    package func workflowsJSON() throws(Failure) -> String {
        do { return try json(ListCommand.Document(workflows: try ListCommand.entries(project))) } catch let e as Failure { throw e } catch {
            throw Failure.failed("\(error)")
        }
    }

    // MARK: runs of a workflow

    package struct RunsPage: Sendable {
        package var workflow: String
        package var runs: [RunRecord]
        package var failing: [RunID: String]
        package var older: RunID?
        package var scheduled: Bool
        package var hasData: Bool
    }

    package static let pageSize = 50

    package func runs(of name: String, before: RunID?) throws(Failure) -> RunsPage {
        let (wf, _) = try workflow(name)
        var runs: [RunRecord] = []
        var failing: [RunID: String] = [:]
        if let store = try store() {
            do {
                runs = try store.history(of: wf.name, limit: Self.pageSize + 1, before: before)
                for run in runs.prefix(Self.pageSize) where run.status == .failed {
                    let failed = try store.taskStates(of: run.id).values.filter { $0.status == .failed || $0.status == .timedOut }
                        .min { ($0.finishedAt ?? .distantFuture) < ($1.finishedAt ?? .distantFuture) }
                    if let failed { failing[run.id] = failed.task.rawValue }
                }
            } catch {
                throw Failure.failed("\(error)")
            }
        }
        let older = runs.count > Self.pageSize ? runs[Self.pageSize - 1].id : nil
        return RunsPage(workflow: wf.name, runs: Array(runs.prefix(Self.pageSize)), failing: failing, older: older,
                        scheduled: wf.schedule != nil, hasData: marketDatabase(of: wf) != nil)
    }

    package func runsJSON(of name: String, before: RunID?) throws(Failure) -> String {
        let (wf, _) = try workflow(name)
        guard let store = try store() else { return try json(HistoryCommand.Document(workflow: wf.name, runs: [])) }
        do {
            let runs = try store.history(of: wf.name, limit: Self.pageSize, before: before)
            return try json(HistoryCommand.Document(workflow: wf.name, runs: try HistoryCommand.entries(runs, store: store)))
        } catch let e as Failure { throw e } catch { throw Failure.failed("\(error)") }
    }

    // MARK: one run

    package func runView(_ id: RunID) throws(Failure) -> RunView {
        guard let store = try store() else { throw Failure.notFound("no run \(id)") }
        do {
            guard let record = try store.run(id) else { throw Failure.notFound("no run \(id)") }
            let states = try store.taskStates(of: id)
            let attempts = try store.attempts(of: id)
            var needs: [TaskID: [TaskID]] = [:]
            var order: [TaskID] = []
            // The graph is the file's as it is now; the run's own tasks are kept whatever the file says.
            if let wf = WebBackend.loaded(record.workflowPath, project: project) {
                // A foreach task the run expanded is drawn as its instances, each with the task's needs.
                var instances: [TaskID: [TaskID]] = [:]
                for task in wf.tasks where task.foreach != nil && states[task.id] == nil {
                    let ids = task.id.instances(among: states.keys)
                    if !ids.isEmpty { instances[task.id] = ids }
                }
                for task in wf.tasks {
                    let taskNeeds = task.needs.flatMap { instances[$0] ?? [$0] }
                    for id in instances[task.id] ?? [task.id] { needs[id] = taskNeeds }
                    order += instances[task.id] ?? [task.id]
                }
            }
            var view = RunView(run: record, states: states, attempts: attempts, needs: needs, order: order)
            view.run.status = ShownStatus(record, store: store).status
            view.children = try store.childRuns(of: id).map { (task: $0.parent?.task ?? TaskID("?"), run: $0.id, workflow: $0.workflow) }
            return view
        } catch let e as Failure { throw e } catch { throw Failure.failed("\(error)") }
    }

    package func runJSON(_ id: RunID) throws(Failure) -> String {
        guard let store = try store() else { throw Failure.notFound("no run \(id)") }
        do {
            guard let record = try store.run(id) else { throw Failure.notFound("no run \(id)") }
            let states = try store.taskStates(of: id)
            var order: [TaskID] = []
            if let wf = WebBackend.loaded(record.workflowPath, project: project) { order = wf.tasks.map(\.id).filter { states[$0] != nil } }
            let listed = Set(order)
            for key in states.keys.sorted() where !listed.contains(key) { order.append(key) }
            return try json(StatusCommand.document(record, shown: ShownStatus(record, store: store), states: states, order: order,
                                                   children: try HistoryCommand.children(of: id, store: store)))
        } catch let e as Failure { throw e } catch { throw Failure.failed("\(error)") }
    }

    /// Each task's status and the run's, for the live page.
    package func runStatuses(_ id: RunID) throws(Failure) -> (run: RunStatus, tasks: [String: String], attempts: [AttemptRecord]) {
        guard let store = try store() else { throw Failure.notFound("no run \(id)") }
        do {
            guard let record = try store.run(id) else { throw Failure.notFound("no run \(id)") }
            let tasks = try store.taskStates(of: id).reduce(into: [String: String]()) { $0[$1.key.rawValue] = $1.value.status.rawValue }
            return (ShownStatus(record, store: store).status, tasks, try store.attempts(of: id))
        } catch let e as Failure { throw e } catch { throw Failure.failed("\(error)") }
    }

    /// The log file of one attempt, only if it is a regular file inside the logs folder once every symbolic link
    /// is resolved: a path in the database, a `..` or a link cannot make the server read anything else.
    package func logPath(run: RunID, task: String, attempt: Int) throws(Failure) -> (path: String, record: AttemptRecord) {
        guard TaskID.isValid(task) else { throw Failure.notFound("no task '\(task)'") }
        guard let store = try store() else { throw Failure.notFound("no run \(run)") }
        let attempts: [AttemptRecord]
        do { attempts = try store.attempts(of: run, task: TaskID(task)) } catch { throw Failure.failed("\(error)") }
        guard let record = attempts.first(where: { $0.attempt == attempt }) else { throw Failure.notFound("no attempt \(attempt) of '\(task)'") }
        guard let path = record.logPath else { return ("", record) }
        let root = (logRoot as NSString).resolvingSymlinksInPath
        let real = (FilePath.absolute(path) as NSString).resolvingSymlinksInPath
        guard real.hasPrefix(root + "/") else { throw Failure.notFound("no log") }
        var info = stat()
        if lstat(real, &info) == 0, (info.st_mode & S_IFMT) != S_IFREG { throw Failure.notFound("no log") }
        return (real, record)
    }

    /// Workflow files parsed once per version (path, size, modification time): a 10,000-task file takes tens of
    /// milliseconds to load, and its run page is asked for again and again while the run goes.
    private static let cache = Mutex<[String: (stamp: String, workflow: Workflow)]>([:])

    static func loaded(_ path: String, project: Project) -> Workflow? {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path) else { return nil }
        let stamp = "\((attributes[.size] as? NSNumber)?.intValue ?? -1) \((attributes[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0)"
        if let hit = cache.withLock({ $0[path] }), hit.stamp == stamp { return hit.workflow }
        guard let workflow = try? project.load(path) else { return nil }
        cache.withLock { cache in
            if cache.count > 64 { cache.removeAll() }
            cache[path] = (stamp, workflow)
        }
        return workflow
    }

    // MARK: ledger and data

    private func ledgerRows(of name: String) throws(Failure) -> (String, [ScheduleCommand.LedgerRow]) {
        let (wf, _) = try workflow(name)
        do { return (wf.name, try ScheduleCommand.ledgerRows(wf, store: try project.existingStore())) } catch { throw Failure.failed(error.message) }
    }

    package func ledger(of name: String) throws(Failure) -> (workflow: String, entries: [(tick: String, local: String, status: String, run: RunID?, runStatus: String?)]) {
        let (workflow, rows) = try ledgerRows(of: name)
        return (workflow, rows.map { ($0.tickUtc, $0.local, $0.status, $0.runId, $0.runStatus) })
    }

    package func ledgerJSON(of name: String) throws(Failure) -> String {
        let (workflow, rows) = try ledgerRows(of: name)
        return try json(ScheduleCommand.LedgerDocument(workflow: workflow, ticks: rows))
    }

    /// The market database a workflow keeps (its `db` parameter, when its tasks use the market actions).
    private func marketDatabase(of wf: Workflow) -> String? {
        guard wf.tasks.contains(where: { $0.uses.hasPrefix("market.") }), let db = wf.paramDefaults["db"], !db.isEmpty else { return nil }
        return FilePath.resolve(db, in: options.projectDirectory)
    }

    package func data(of name: String) throws(Failure) -> MarketDataView? {
        let (wf, _) = try workflow(name)
        guard let path = marketDatabase(of: wf) else { throw Failure.notFound("'\(wf.name)' keeps no market database") }
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        do { return try MarketDataView.read(path) } catch { throw Failure.failed("cannot read \(path): \(error)") }
    }

    // MARK: actions

    /// The flow binary beside this one, which the actions start (`flow run`, `flow resume`).
    package static func flowBinary() -> String {
        FilePath.directory(of: ProcessTable.executablePath()) + "/flow"
    }

    /// Starts `flow ARGUMENTS` in the project, detached, its output in the state folder's `serve.log`.
    package func start(_ arguments: [String]) throws(Failure) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.flowBinary())
        process.arguments = arguments + ["--workflows", options.workflowsDirectory, "--state", options.statePath, "--plain"]
        process.currentDirectoryURL = URL(fileURLWithPath: options.projectDirectory)
        let log = FilePath.directory(of: options.statePath) + "/serve.log"
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        if let handle = FileHandle(forWritingAtPath: log) {
            handle.seekToEndOfFile()
            process.standardOutput = handle
            process.standardError = handle
        }
        process.standardInput = FileHandle.nullDevice
        do { try process.run() } catch { throw Failure.failed("cannot start flow: \(error)") }
    }

    package func runWorkflow(_ name: String) throws(Failure) {
        let (wf, path) = try workflow(name)
        _ = wf
        try start(["run", path])
    }

    package func resume(_ id: RunID) throws(Failure) {
        let view = try runView(id)
        guard view.run.status.isResumable else { throw Failure.failed("run \(id) is \(view.run.status.rawValue): only a failed or interrupted run resumes") }
        try start(["resume", String(id)])
    }

    /// SIGINT to the run's runner, as Ctrl-C: running tasks are stopped and the run recorded interrupted.
    package func stop(_ id: RunID) throws(Failure) {
        guard let store = try store() else { throw Failure.notFound("no run \(id)") }
        let record: RunRecord?
        do { record = try store.run(id) } catch { throw Failure.failed("\(error)") }
        guard let record else { throw Failure.notFound("no run \(id)") }
        guard record.status == .running, let pid = record.pid, store.runnerIsAlive(record, processStart: ProcessTable.startTime) else {
            throw Failure.failed("run \(id) is not running")
        }
        kill(pid, SIGINT)
    }
}

extension CommandFailure {
    package var text: String { message }
}

private extension Error {
    var message: String { (self as? CommandFailure)?.message ?? "\(self)" }
}
