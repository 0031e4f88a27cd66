import Foundation

/// flow's own environment. FoundationEssentials rebuilds the whole dictionary on every
/// `ProcessInfo.processInfo.environment` (about 0.4 million instructions a call, measured with callgrind), and
/// flow never changes its environment, so the dictionary is read once and single names go through `getenv`.
package enum HostEnvironment {
    package static let all: [String: String] = ProcessInfo.processInfo.environment

    package static func value(_ name: String) -> String? {
        getenv(name).map { String(cString: $0) }
    }
}
