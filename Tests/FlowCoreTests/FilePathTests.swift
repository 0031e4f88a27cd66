import FlowCore
import Foundation
import Testing

@Suite("file paths")
struct FilePathTests {
    static let paths = [
        "workflows", "workflows/", "./workflows", "a/b/../c", "a/./b//c", "../up", "../../x/y", "/abs/olute", "/abs/../x",
        "/a/b/c/../../d/", "/", "/..", "/../x", "a/..", "..", ".", "", "dir with space/f.yaml", "ünïcode/dåta.yaml",
        ".flow/state.db", "a//b///c", "x/y/..//z/.",
    ]

    @Test("absolute paths match Foundation's URL standardisation", arguments: paths)
    func absoluteMatchesURL(_ path: String) {
        let base = "/tmp/project/sub"
        // The current directory exists, so flow's URL saw it as a folder.
        let url = URL(fileURLWithPath: path, relativeTo: URL(fileURLWithPath: base, isDirectory: true)).standardizedFileURL.path
        #expect(FilePath.absolute(path, in: base) == url, "\(path)")
    }

    @Test("the current directory is the process's")
    func currentDirectory() {
        #expect(FilePath.currentDirectory() == FileManager.default.currentDirectoryPath)
        #expect(FilePath.absolute("x") == FileManager.default.currentDirectoryPath + "/x")
    }

    @Test("a workflow's default name is its file name without the extension, as URL gives it",
          arguments: ["workflows/daily.yaml", "/abs/w.yml", "a.b.yaml", "noext", "dir.d/file", ".hidden", "x/.hidden.yaml", "trailing."])
    func stemMatchesURL(_ path: String) {
        #expect(FilePath.stem(path) == URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent, "\(path)")
    }
}
