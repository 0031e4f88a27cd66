import FlowCore
import Foundation

/// Turns a workflow file into a `Workflow`, or into every diagnostic it deserves, sorted by position.
package struct WorkflowLoader: Sendable {
    /// The built-in actions' signatures, to check `uses:` and `with:`.
    package var actions: [String: ActionSignature]

    package init(actions: [String: ActionSignature]) {
        self.actions = actions
    }

    package enum Outcome: Sendable {
        case success(Workflow)
        case failure([Diagnostic])
    }

    /// Reads and loads a file; the file name in diagnostics is `path` as given.
    package func load(path: String) -> (outcome: Outcome, source: String) {
        let start = SourceLocation(file: path, line: 1, column: 1)
        guard let handle = FileHandle(forReadingAtPath: path) else {
            return (.failure([.error(at: start, "cannot read workflow file")]), "")
        }
        defer { try? handle.close() }
        // Read one byte past the bound so an oversized file is refused without reading all of it.
        let data = (try? handle.read(upToCount: YAMLReader.maxBytes + 1)) ?? Data()
        guard data.count <= YAMLReader.maxBytes else {
            return (.failure([.error(at: start, "workflow file is larger than \(YAMLReader.maxBytes / 1024) KiB")]), "")
        }
        let stem = FilePath.stem(path)
        switch SourceText.decode(data, file: path) {
        case .failure(let diagnostic):
            return (.failure([diagnostic]), "")
        case .success(let text):
            return (load(text: text, file: path, defaultName: stem), WorkflowLoader.normalizeLineBreaks(text))
        }
    }

    /// Loads workflow text already in memory.
    /// `foreachItems`: the lists a run knows, by foreach task; those tasks become their instances.
    package func load(text original: String, file: String, defaultName: String,
                      foreachItems: [TaskID: [ForeachItem]] = [:]) -> Outcome {
        let text = WorkflowLoader.normalizeLineBreaks(original)
        var builder = WorkflowBuilder(file: file, source: text, actions: actions)
        builder.foreachItems = foreachItems
        let root: YAMLNode?
        do {
            root = try YAMLReader(file: file, text: text).read()
        } catch {
            return .failure([error.diagnostic])
        }
        var workflow = builder.build(root, defaultName: defaultName)
        workflow?.source = text
        if let workflow, builder.diagnostics.isEmpty {
            var validator = WorkflowValidator(workflow: workflow, actions: actions, references: builder.references,
                                              needLocations: builder.needLocations)
            validator.validate()
            if validator.diagnostics.isEmpty { return .success(workflow) }
            return .failure(validator.diagnostics.sorted())
        }
        var diagnostics = builder.diagnostics
        if let workflow {
            // Structural errors already found; still report reference and graph errors in the same pass.
            var validator = WorkflowValidator(workflow: workflow, actions: actions, references: builder.references,
                                              needLocations: builder.needLocations)
            validator.validate()
            diagnostics += validator.diagnostics
        }
        return .failure(Array(Set(diagnostics)).sorted())
    }
}

extension WorkflowLoader {
    /// CRLF and lone CR become LF: libyaml counts all three as line breaks, and positions must match the
    /// lines the renderer and the reference locator split on.
    package static func normalizeLineBreaks(_ text: String) -> String {
        guard text.utf8Offset(of: "\r") != nil else { return text }
        return text.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\r", with: "\n")
    }
}

/// Checks and decodes the bytes of a workflow file.
enum SourceText {
    enum Decoded {
        case success(String)
        case failure(Diagnostic)
    }

    static func decode(_ data: Data, file: String) -> Decoded {
        var bytes = [UInt8](data)
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes.removeFirst(3) }
        var line = 1, column = 1
        var i = 0
        while i < bytes.count {
            let b = bytes[i]
            if b == 0 {
                return .failure(.error(at: SourceLocation(file: file, line: line, column: column),
                                       "workflow file contains a NUL byte; is it a binary file?"))
            }
            let length: Int
            switch b {
            case 0x00..<0x80: length = 1
            case 0xC2..<0xE0: length = 2
            case 0xE0..<0xF0: length = 3
            case 0xF0..<0xF5: length = 4
            default: length = 0
            }
            var valid = length > 0 && i + length <= bytes.count
            if valid {
                for k in 1..<length where bytes[i + k] & 0xC0 != 0x80 { valid = false }
            }
            if valid, length == 3 {
                let cp = (UInt32(b & 0x0F) << 12) | (UInt32(bytes[i + 1] & 0x3F) << 6) | UInt32(bytes[i + 2] & 0x3F)
                valid = cp >= 0x800 && !(0xD800...0xDFFF).contains(cp)
            }
            if valid, length == 4 {
                let cp = (UInt32(b & 0x07) << 18) | (UInt32(bytes[i + 1] & 0x3F) << 12)
                    | (UInt32(bytes[i + 2] & 0x3F) << 6) | UInt32(bytes[i + 3] & 0x3F)
                valid = cp >= 0x10000 && cp <= 0x10FFFF
            }
            guard valid else {
                return .failure(.error(at: SourceLocation(file: file, line: line, column: column),
                                       "workflow file is not valid UTF-8 (byte 0x\(String(b, radix: 16)))",
                                       notes: ["save the file as UTF-8"]))
            }
            if b == UInt8(ascii: "\n") { line += 1; column = 1 } else { column += 1 }
            i += length
        }
        return .success(String(decoding: bytes, as: UTF8.self))
    }
}

extension WorkflowLoader {
    /// Whether `name` is a workflow name flow accepts (letters, digits, '.', '_', '-'; at most 64).
    package static func isValidName(_ name: String) -> Bool { WorkflowBuilder.isValidWorkflowName(name) }
}
