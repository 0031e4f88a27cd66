import FlowCore
import FlowPlan
import FlowProcess
import Dispatch
import FlowEngine

import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Turns SIGINT, SIGTERM and SIGHUP — and a closed stdout (`flow run X | head -1`) — into an interrupt of the
/// run that is recorded like any other end: the run and its attempts end `interrupted`.
///
/// Installed before the lease is taken, so no task can start before a Ctrl-C is heard. The first signal stops
/// the tasks gracefully (SIGTERM, then SIGKILL after the grace period); the second kills every task group at
/// once and lets the engine record the ends it then sees; a third, for a run whose recording is stuck, marks
/// the run interrupted directly in the state database and exits 130. Tasks run in their own process groups,
/// so a terminal's Ctrl-C reaches only flow; flow passes it on.
final class SignalForwarder: @unchecked Sendable {
    // Only touched on `queue`; DispatchSource handlers need a class to hold state.
    private var sources: [DispatchSourceSignal] = []
    private var received = 0
    private let queue = DispatchQueue(label: "flow.signals")
    private let interruption = Interruption()
    private let groups: ProcessGroups

    init(groups: ProcessGroups) {
        self.groups = groups
    }

    /// Whether an interrupt arrived, even before there was a run to stop.
    var isInterrupted: Bool { interruption.isRequested }

    /// Listens for the signals and for stdout closing. `lastResort` records the run interrupted when even the
    /// engine cannot; it runs on the signal queue, just before `exit(130)`.
    func install(lastResort: @escaping @Sendable () -> Void) {
        for signalNumber in [SIGINT, SIGTERM, SIGHUP] {
            SignalDisposition.ignoreForDispatch(signalNumber)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: queue)
            source.setEventHandler { [weak self] in
                self?.received(ProcessExit.signalName(signalNumber), lastResort: lastResort)
            }
            source.resume()
            sources.append(source)
        }
        Console.onStdoutClosed { [weak self] in
            guard let self else { return }
            self.queue.async { self.received("a closed stdout (EPIPE)", quiet: true, lastResort: lastResort) }
        }
    }

    /// Hands over the run to stop; an interrupt that came before it stops it at once.
    func attach(_ execution: Task<RunOutcome, Never>) {
        interruption.attach { execution.cancel() }
    }

    private func received(_ what: String, quiet: Bool = false, lastResort: @Sendable () -> Void) {
        received += 1
        switch received {
        case 1:
            Console.err("flow: received \(what); stopping running tasks (again to kill at once)")
            interruption.request()
        case 2 where !quiet:
            Console.err("flow: killing all tasks now and recording the run interrupted (again to exit at once)")
            groups.signalAll(SIGKILL)
        case 2:
            break
        default:
            guard !quiet else { return }
            Console.err("flow: exiting now; run recorded interrupted")
            groups.signalAll(SIGKILL)
            lastResort()
            exit(FlowExit.interrupted.rawValue)
        }
    }
}

/// A stop request that may come before or after the thing it stops exists.
final class Interruption: Sendable {
    private let state = Mutex<(requested: Bool, stop: (@Sendable () -> Void)?)>((false, nil))

    var isRequested: Bool { state.withLock { $0.requested } }

    func request() {
        let stop = state.withLock { s -> (@Sendable () -> Void)? in
            s.requested = true
            return s.stop
        }
        stop?()
    }

    func attach(_ stop: @escaping @Sendable () -> Void) {
        let now = state.withLock { s -> Bool in
            s.stop = stop
            return s.requested
        }
        if now { stop() }
    }
}

/// Signals handled through dispatch sources must be ignored first — and only once: on Linux, libdispatch
/// installs its own handler when the first source for a signal is made, and a later `signal(n, SIG_IGN)` (the
/// next run's forwarder in `flow scheduler`) would replace that handler, silently deafening every source.
enum SignalDisposition {
    private static let ignored = Mutex<Set<Int32>>([])

    static func ignoreForDispatch(_ number: Int32) {
        ignored.withLock { set in
            guard set.insert(number).inserted else { return }
            signal(number, SIG_IGN)
        }
    }
}
