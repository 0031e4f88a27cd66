/// A validated workflow: what a YAML file means once every key, reference and cycle is checked.
package struct Workflow: Sendable {
    package var name: String
    package var description: String?
    /// The file it came from, as given to the loader.
    package var path: String
    /// Parameter defaults in file order.
    package var params: [(name: String, value: String)]
    package var env: [(name: String, value: Template)]
    /// Params declared `secret: true`: kept as a keyed hash, masked wherever they would show.
    package var secretParams: Set<String> = []
    /// `secrets:`: environment variable names whose values only reach tasks through `secrets.NAME`.
    package var secrets: [String] = []
    /// `env_file:`, relative to the project folder: where secrets not in flow's environment are read from.
    package var envFile: String?
    package var maxParallel: Int
    /// When it runs by itself; nil for a workflow that runs only when asked.
    package var schedule: Schedule?
    /// How much history `flow prune` and the scheduler keep.
    package var retention = Retention()
    /// The text it was loaded from (line breaks as LF), so that a run expands its `foreach` tasks from the file
    /// it started with.
    package var source: String = ""
    /// Tasks in file order; `index(of:)` finds one by id.
    package private(set) var tasks: [TaskSpec]
    private var positions: [TaskID: Int]
    /// For each task, the index of each task it needs, in `needs` order; nil for a name no task has. Looked up
    /// once here: the validator and the planner both walk every edge, and a lookup hashes the name.
    package private(set) var needIndices: [[Int?]]

    package init(name: String, description: String? = nil, path: String,
                 params: [(name: String, value: String)] = [], env: [(name: String, value: Template)] = [],
                 maxParallel: Int = 4, schedule: Schedule? = nil, tasks: [TaskSpec]) {
        self.name = name
        self.schedule = schedule
        self.description = description
        self.path = path
        self.params = params
        self.env = env
        self.maxParallel = maxParallel
        self.tasks = tasks
        var positions = [TaskID: Int](minimumCapacity: tasks.count)
        for (i, task) in tasks.enumerated() { positions[task.id] = i }
        self.positions = positions
        needIndices = tasks.map { task in task.needs.map { positions[$0] } }
    }

    package func index(of id: TaskID) -> Int? { positions[id] }

    /// Sets (or adds) a `with:` value of the task at `index`: the composition root pins what a task's
    /// fingerprint must cover beyond its own text (a child workflow's definition).
    package mutating func setInput(_ name: String, _ value: Template, ofTaskAt index: Int) {
        guard tasks.indices.contains(index) else { return }
        if let at = tasks[index].with.firstIndex(where: { $0.name == name }) { tasks[index].with[at].value = value } else {
            tasks[index].with.append((name, value))
        }
    }

    /// The same workflow with only the tasks at `indices` (their `needs` must stay among them).
    package func keeping(_ indices: Set<Int>) -> Workflow {
        var copy = self
        copy.tasks = tasks.indices.filter(indices.contains).map { tasks[$0] }
        var positions = [TaskID: Int](minimumCapacity: copy.tasks.count)
        for (i, task) in copy.tasks.enumerated() { positions[task.id] = i }
        copy.positions = positions
        copy.needIndices = copy.tasks.map { task in task.needs.map { positions[$0] } }
        return copy
    }

    /// Foreach tasks whose list is not known yet, and everything downstream of them: what cannot run yet.
    package var waitingForItems: Set<Int> {
        guard tasks.contains(where: { $0.foreach != nil }) else { return [] }
        let graph = TaskGraph(self)
        var waiting = Set<Int>()
        for (i, task) in tasks.enumerated() where task.foreach != nil {
            waiting.insert(i)
            waiting.formUnion(graph.downstream(of: i))
        }
        return waiting
    }

    package func task(_ id: TaskID) -> TaskSpec? { positions[id].map { tasks[$0] } }

    package var paramDefaults: [String: String] {
        Dictionary(params.map { ($0.name, $0.value) }, uniquingKeysWith: { _, last in last })
    }
}

/// `retention:` — the newest `runs` runs are kept, and none older than `days` days (nil: no limit of that kind).
package struct Retention: Sendable, Hashable {
    package static let defaultRuns = 1_000
    package static let defaultDays = 365

    package var runs: Int? = Retention.defaultRuns
    package var days: Int? = Retention.defaultDays

    package init(runs: Int? = Retention.defaultRuns, days: Int? = Retention.defaultDays) {
        self.runs = runs
        self.days = days
    }
}

/// One task of a workflow. A `run:` task is the `shell` action with its script in `with.run`.
package struct TaskSpec: Sendable {
    package var id: TaskID
    package var location: SourceLocation
    package var needs: [TaskID]
    /// The action name, `shell` for `run:` tasks.
    package var uses: String
    package var with: [(name: String, value: Template)]
    package var env: [(name: String, value: Template)]
    package var condition: Template?
    package var retry: RetryPolicy
    package var timeout: Duration?
    package var workingDirectory: Template?
    package var alwaysRun: Bool
    package var continueOnError: Bool
    /// For an instance of a `matrix:` task: that task's id, which `needs`, `--only` and `max_parallel` use.
    package var group: TaskID? = nil
    /// `max_parallel` of a matrix task: at most this many of its instances run at once.
    package var groupMaxParallel: Int? = nil
    /// `foreach:` of a task whose list is not known yet: it stands for its instances until the run has the
    /// upstream outputs the list comes from (`ForeachItem`), and never runs itself.
    package var foreach: Template? = nil

    package init(id: TaskID, location: SourceLocation, needs: [TaskID] = [], uses: String,
                 with: [(name: String, value: Template)] = [], env: [(name: String, value: Template)] = [],
                 condition: Template? = nil, retry: RetryPolicy = RetryPolicy(), timeout: Duration? = nil,
                 workingDirectory: Template? = nil, alwaysRun: Bool = false, continueOnError: Bool = false) {
        self.id = id
        self.location = location
        self.needs = needs
        self.uses = uses
        self.with = with
        self.env = env
        self.condition = condition
        self.retry = retry
        self.timeout = timeout
        self.workingDirectory = workingDirectory
        self.alwaysRun = alwaysRun
        self.continueOnError = continueOnError
    }

    /// Every template the task holds, for reference checks.
    package var templates: [Template] {
        with.map(\.value) + env.map(\.value) + [condition, workingDirectory].compactMap { $0 }
    }

    /// Whether its condition uses `failure()`, `always()` or `cancelled()`: it is decided once its needs have
    /// ended whatever way, instead of being skipped when an upstream task fails.
    package var runsAfterFailure: Bool {
        condition?.references.contains { if case .status(let f) = $0 { f.runsAfterFailure } else { false } } ?? false
    }

    /// Whether its inputs, environment or folder read how the run is going (`tasks.ID.status`, `tasks.ID.error`,
    /// `run.summary_json`): known only when it starts.
    package var readsRunProgress: Bool {
        (with.map(\.value) + env.map(\.value) + [workingDirectory].compactMap { $0 })
            .contains { $0.references.contains(where: \.readsRunProgress) }
    }

    /// The upstream tasks whose outputs this task reads.
    package var outputDependencies: Set<TaskID> {
        var ids = Set<TaskID>()
        for template in templates {
            for reference in template.references { ids.formUnion(reference.outputTasks) }
        }
        return ids
    }
}

/// How often a task is tried again and how long to wait in between.
package struct RetryPolicy: Sendable, Hashable {
    /// Extra attempts after the first.
    package var retries: Int
    package var delay: Duration
    package var maxDelay: Duration

    package init(retries: Int = 0, delay: Duration = .seconds(5), maxDelay: Duration = .seconds(300)) {
        self.retries = retries
        self.delay = delay
        self.maxDelay = maxDelay
    }

    /// The wait before attempt `attempt` (2 is the first retry): doubles each time, capped, with
    /// ±20% jitter so retries of parallel tasks do not hit a service in lockstep.
    package func delay(beforeAttempt attempt: Int, jitter: Double) -> Duration {
        let exponent = max(0, attempt - 2)
        let base = delay.seconds * Double(1 << min(exponent, 30))
        let capped = min(base, max(maxDelay.seconds, delay.seconds))
        let jittered = capped * (1 + 0.2 * max(-1, min(1, jitter)))
        return .milliseconds(Int64((jittered * 1000).rounded()))
    }
}

extension Duration {
    /// The duration in seconds as a floating-point number.
    package var seconds: Double {
        let (s, atto) = components
        return Double(s) + Double(atto) / 1e18
    }
}
