import Foundation

/// Paths written in workflows: absolute as given, otherwise relative to a folder.
package enum FilePath {
    package static func resolve(_ path: String, in directory: String) -> String {
        path.hasPrefix("/") ? path : (directory as NSString).appendingPathComponent(path)
    }
}
