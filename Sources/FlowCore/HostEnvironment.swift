import Foundation

/// flow's own environment. FoundationEssentials rebuilds the whole dictionary on every
/// `ProcessInfo.processInfo.environment` (about 0.4 million instructions a call, measured with callgrind), and
/// flow never changes its environment, so the dictionary is read once, straight from `environ`, and single
/// names go through `getenv`.
package enum HostEnvironment {
    package static let all: [String: String] = {
        var result: [String: String] = [:]
        var entry = environ
        while let pointer = entry.pointee {
            entry += 1
            let text = String(cString: pointer)
            // An entry without '=' names nothing; of two entries with one name the first counts, as for getenv.
            guard let equals = text.utf8.firstIndex(of: UInt8(ascii: "=")), equals != text.startIndex else { continue }
            let name = String(text[..<equals])
            if result[name] == nil { result[name] = String(text[text.utf8.index(after: equals)...]) }
        }
        return result
    }()

    package static func value(_ name: String) -> String? {
        getenv(name).map { String(cString: $0) }
    }
}
