import Foundation

/// A fresh folder under the system temp dir, removed when the value is released.
package final class TemporaryDirectory: @unchecked Sendable {
    package let path: String

    package init(_ prefix: String = "flow-test") {
        let base = FileManager.default.temporaryDirectory.path
        path = "\(base)/\(prefix)-\(UUID().uuidString.prefix(8))"
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    package func url(_ relative: String) -> URL { URL(fileURLWithPath: "\(path)/\(relative)") }

    /// Writes a file (creating folders) and returns its path.
    @discardableResult
    package func write(_ relative: String, _ text: String) throws -> String {
        let file = "\(path)/\(relative)"
        try FileManager.default.createDirectory(atPath: (file as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try text.write(toFile: file, atomically: true, encoding: .utf8)
        return file
    }

    package func read(_ relative: String) -> String? {
        try? String(contentsOfFile: "\(path)/\(relative)", encoding: .utf8)
    }

    package func exists(_ relative: String) -> Bool {
        FileManager.default.fileExists(atPath: "\(path)/\(relative)")
    }

    /// Lines of a file, empty when it does not exist.
    package func lines(_ relative: String) -> [String] {
        (read(relative) ?? "").split(separator: "\n").map(String.init)
    }
}

/// Where the repository's files are, found from this source file's location.
package enum Repository {
    package static var root: String {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }

    package static var fixtures: String { root + "/Tests/Fixtures" }
}
