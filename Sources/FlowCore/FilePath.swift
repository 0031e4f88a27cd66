import Foundation

/// Paths written in workflows: absolute as given, otherwise relative to a folder.
package enum FilePath {
    package static func resolve(_ path: String, in directory: String) -> String {
        path.hasPrefix("/") ? path : (directory as NSString).appendingPathComponent(path)
    }

    /// `path` made absolute against `directory` (default: the current directory) and normalised by its text alone:
    /// `.` and empty components dropped, `..` taking back the one before it, no trailing slash — what
    /// `URL(fileURLWithPath:relativeTo:).standardizedFileURL.path` gives, without Foundation's URL parsing,
    /// which cost about 700,000 instructions of every start.
    package static func absolute(_ path: String, in directory: String? = nil) -> String {
        let full = path.hasPrefix("/") ? path : (directory ?? currentDirectory()) + "/" + path
        // Bytes rather than `split` and `joined`, whose first uses look up conformances at run time (about
        // 400,000 instructions at every start).
        let bytes = Array(full.utf8)
        var result: [UInt8] = []
        var starts: [Int] = []  // where each kept component's slash is in `result`
        var index = 0
        while index < bytes.count {
            if bytes[index] == slash { index += 1; continue }
            var end = index
            while end < bytes.count, bytes[end] != slash { end += 1 }
            let length = end - index
            if length == 1, bytes[index] == dot {
                // "." names the folder itself
            } else if length == 2, bytes[index] == dot, bytes[index + 1] == dot {
                if let start = starts.popLast() { result.removeLast(result.count - start) }
            } else {
                starts.append(result.count)
                result.append(slash)
                result.append(contentsOf: bytes[index..<end])
            }
            index = end
        }
        return result.isEmpty ? "/" : String(decoding: result, as: UTF8.self)
    }

    private static let slash = UInt8(ascii: "/")
    private static let dot = UInt8(ascii: ".")

    /// The last component of `path` without its extension: `workflows/daily.yaml` → `daily`.
    /// The folder holding `path` ("." for a bare name, "/" for a file at the root).
    package static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    package static func stem(_ path: String) -> String {
        let name = path.split(separator: "/").last.map(String.init) ?? path
        guard let dot = name.lastIndex(of: "."), dot != name.startIndex, name.index(after: dot) != name.endIndex else { return name }
        return String(name[..<dot])
    }

    package static func currentDirectory() -> String {
        guard let buffer = getcwd(nil, 0) else { return FileManager.default.currentDirectoryPath }
        defer { free(buffer) }
        return String(cString: buffer)
    }
}
