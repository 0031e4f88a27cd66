import Dispatch
import FlowTasks
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Turns SIGINT, SIGTERM and SIGHUP into a graceful interrupt of the run; a second one kills at once.
///
/// Tasks run in their own process groups, so a terminal's Ctrl-C reaches only flow; flow passes it on.
final class SignalForwarder: @unchecked Sendable {
    // Only touched on `queue`; DispatchSource handlers need a class to hold state.
    private var sources: [DispatchSourceSignal] = []
    private var received = 0
    private let queue = DispatchQueue(label: "flow.signals")

    /// Installs the handlers: `onFirst` starts a graceful stop, the second signal kills every group and exits 130.
    func install(groups: ProcessGroups, onFirst: @escaping @Sendable (Int32) -> Void) {
        for signalNumber in [SIGINT, SIGTERM, SIGHUP] {
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: queue)
            source.setEventHandler { [weak self] in
                guard let self else { return }
                self.received += 1
                if self.received == 1 {
                    Console.err("flow: received \(ProcessRunner.signalName(signalNumber)); stopping running tasks (again to kill at once)")
                    onFirst(signalNumber)
                } else {
                    Console.err("flow: killing all tasks now")
                    groups.signalAll(SIGKILL)
                    exit(FlowExit.interrupted.rawValue)
                }
            }
            source.resume()
            sources.append(source)
        }
    }
}
