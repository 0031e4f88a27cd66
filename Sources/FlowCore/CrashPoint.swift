import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Named places where the fault suite kills flow on purpose (`FLOW_CRASH_AT=name`), like a `kill -9`
/// landing at exactly the worst moment. Unset, a check costs one comparison.
package enum CrashPoint {
    /// Read once: a process either crashes at one named point or never.
    private static let armed: String? = HostEnvironment.value("FLOW_CRASH_AT").flatMap { $0.isEmpty ? nil : $0 }

    /// Dies by SIGKILL here when `FLOW_CRASH_AT` names this point.
    package static func hit(_ name: String) {
        guard let armed, armed == name else { return }
        kill(getpid(), SIGKILL)
    }
}
