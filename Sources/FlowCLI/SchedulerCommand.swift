import Dispatch
import FlowCore
import FlowPlan
import FlowSpec
import FlowStore
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// `flow scheduler`: the foreground daemon. Sleeps until the next tick of any scheduled workflow, runs a
/// scheduler pass (the same as `flow schedule tick`), and repeats. The clock is read again after every wake, so
/// a suspended machine or a clock that jumped is handled like downtime, by each schedule's catch-up policy.
struct SchedulerCommand: Subcommand {
    static let spec = CommandSpec(
        name: "scheduler", abstract: "Run scheduled workflows in the foreground: sleep until a tick is due, run it, repeat.",
        options: [
            .init(name: "until", value: "time", help: "Stop once the clock passes this ISO 8601 time (for tests and bounded runs)."),
            ExecutionOptions.grace,
            ExecutionOptions.plain,
        ] + GlobalOptions.options)

    var global: GlobalOptions
    var until: String?
    var grace: String
    var plain: Bool

    init(_ arguments: ParsedArguments) {
        global = GlobalOptions(arguments)
        until = arguments.value("until")
        grace = arguments.value("grace") ?? "5s"
        plain = arguments.flag("plain")
    }

    /// The daemon's clock: real time, or `FLOW_NOW` advancing `FLOW_TIME_SCALE` virtual seconds per real second.
    struct Clock {
        let start: Double
        let scale: Double
        let began = ContinuousClock.now

        init() throws(CommandFailure) {
            start = try RunSetup.clock().timeIntervalSince1970
            let text = HostEnvironment.value("FLOW_TIME_SCALE") ?? ""
            guard text.isEmpty || Double(text).map({ $0 > 0 }) == true else {
                throw CommandFailure(.usage, "flow: FLOW_TIME_SCALE='\(text.prefix(20))' is not a positive number of virtual seconds per second")
            }
            scale = Double(text) ?? 1
        }

        var now: Int64 {
            let elapsed = ContinuousClock.now - began
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            return Int64((start + seconds * scale).rounded(.down))
        }

        /// Real time until the clock reads `instant`.
        func realDelay(until instant: Int64) -> Double { max(0, Double(instant - now) / scale) }
    }

    func run() async throws {
        try LogSetup.bootstrap(global.logLevel)
        Console.configureForRun(plain: plain)
        let graceDuration = try ExecutionOptions.gracePeriod(grace)
        let stopAt = try ScheduleCommand.instant(until, option: "until", spec: Self.spec)
        let clock = try Clock()
        let project = Project(options: global)
        let store = try project.openStore()
        // One scheduler per state database.
        let lock: RunLease
        do {
            lock = try RunLease.acquire(workflow: "+scheduler", store: store)
        } catch {
            throw CommandFailure(.alreadyRunning, "flow: another flow scheduler is running for \(project.display(store.path)) "
                                 + "(it holds \(project.display(RunLease.lockPath(for: "+scheduler", store: store))))")
        }
        defer { lock.release() }
        let stop = StopSignal()
        Console.out("flow scheduler: watching \(project.display(global.workflowsDirectory)) (state \(project.display(store.path)))")
        while !stop.isSet {
            let now = clock.now
            if let stopAt, now >= stopAt { break }
            var failed = 0
            let pass = SchedulePass(project: project, store: store, now: now, gracePeriod: graceDuration)
            let scheduled = ScheduleCommand.scheduledWorkflows(project)
            for (workflow, path) in scheduled {
                guard !stop.isSet else { break }
                failed += try await pass.run(workflow, path: path).failed
            }
            if failed > 0 { Console.out("flow scheduler: \(failed) run\(failed == 1 ? "" : "s") did not succeed this pass") }
            // Sleep to the next tick of any workflow (files are read again at every wake), or to --until.
            var wake = nextTick(after: clock.now, scheduled.map(\.0))
            if let stopAt { wake = min(wake ?? stopAt, stopAt) }
            // Nothing scheduled: look again in a minute (a file may gain a schedule).
            let delay = wake.map { clock.realDelay(until: $0) } ?? 60 / clock.scale
            stop.wait(seconds: min(delay, 3_600))
        }
        if stop.isSet {
            Console.out("flow scheduler: stopped by \(stop.reason)")
            throw FlowExit.interrupted
        }
    }

    private func nextTick(after now: Int64, _ workflows: [Workflow]) -> Int64? {
        var next: Int64?
        for workflow in workflows {
            guard let schedule = workflow.schedule, let zone = ZoneNames.zone(named: schedule.timeZone),
                  let tick = CronSchedule(schedule.expressions, timeZone: zone).ticks(after: now, count: 1).first else { continue }
            next = min(next ?? tick.utc, tick.utc)
        }
        return next
    }
}

/// SIGTERM, SIGINT or SIGHUP to the daemon: it stops after the current pass (a running run is interrupted by its
/// own signal handling and resumed by the next pass), and a sleep ends at once.
final class StopSignal: @unchecked Sendable {
    private let semaphore = DispatchSemaphore(value: 0)
    private let queue = DispatchQueue(label: "flow.scheduler.signals")
    private var sources: [DispatchSourceSignal] = []
    private let state = NSLock()
    private var signalName: String?

    init() {
        for number in [SIGINT, SIGTERM, SIGHUP] {
            SignalDisposition.ignoreForDispatch(number)
            let source = DispatchSource.makeSignalSource(signal: number, queue: queue)
            source.setEventHandler { [weak self] in
                guard let self else { return }
                self.state.withLock { self.signalName = self.signalName ?? ProcessExit.signalName(number) }
                self.semaphore.signal()
            }
            source.resume()
            sources.append(source)
        }
    }

    var isSet: Bool { state.withLock { signalName != nil } }
    var reason: String { state.withLock { signalName ?? "?" } }

    func wait(seconds: Double) {
        guard !isSet, seconds > 0 else { return }
        _ = semaphore.wait(timeout: .now() + seconds)
    }
}
