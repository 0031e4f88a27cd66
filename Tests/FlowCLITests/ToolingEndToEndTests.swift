import Foundation
import FlowTestSupport
import Testing

extension EndToEnd {
    /// `flow schema` checked by a real JSON Schema validator (Python's jsonschema), and `flow completion` scripts
    /// loaded into real bash, zsh and fish.
    @Suite("flow schema and flow completion, end to end")
    struct ToolingEndToEndTests {
        static let invalidBySchema = [
            "unknown-top-key", "unknown-task-key", "retries-string", "retries-negative", "needs-scalar", "bad-task-id",
            "run-and-uses", "neither-run-nor-uses", "with-on-run", "unknown-with-key", "missing-with-key", "unknown-action",
            "schedule-bad-policy", "schedule-missing-cron", "http-post-bad-header", "env-reserved", "expression-in-run",
            "max-parallel-zero", "params-list", "bad-duration", "secrets-bad-names", "param-declaration", "matrix-empty", "matrix-bad-values",
        ]

        func validate(_ p: Project, _ files: [String]) async throws -> [String] {
            let schema = try await p.flow("schema")
            #expect(schema.status == 0)
            try p.dir.write("schema.json", schema.stdout)
            let result = try await FlowBinary.runProgram("/usr/bin/env", ["python3", Repository.fixtures + "/validate_schema.py",
                                                                          p.root + "/schema.json"] + files, in: p.root)
            #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
            return result.stdout.split(separator: "\n").map(String.init)
        }

        @Test("every shipped workflow and every valid fixture passes the schema (and flow validate); shape errors fail it")
        func schema() async throws {
            let p = Project()
            let valid = try FileManager.default.contentsOfDirectory(atPath: Repository.fixtures + "/valid").filter { $0.hasSuffix(".yaml") }
                .map { Repository.fixtures + "/valid/" + $0 }
            let shipped = try FileManager.default.contentsOfDirectory(atPath: Repository.root + "/workflows").filter { $0.hasSuffix(".yaml") }
                .map { Repository.root + "/workflows/" + $0 }
            #expect(valid.count >= 2 && shipped.count >= 2)
            for file in valid {
                let check = try await p.flow("validate", file)
                #expect(check.status == 0, "a 'valid' fixture must pass flow validate too: \(check.stderr)")
            }
            let verdicts = try await validate(p, shipped + valid)
            #expect(verdicts.count == shipped.count + valid.count)
            #expect(verdicts.allSatisfy { $0.hasPrefix("ok ") }, "\(verdicts)")
            let invalid = Self.invalidBySchema.map { Repository.fixtures + "/invalid/\($0).yaml" }
            let refused = try await validate(p, invalid)
            #expect(refused.count == invalid.count)
            #expect(refused.allSatisfy { $0.hasPrefix("invalid ") }, "\(refused.filter { !$0.hasPrefix("invalid ") })")
        }

        @Test("the schema names every built-in action and each one's inputs")
        func schemaActions() async throws {
            let p = Project()
            let text = try await p.flow("schema").stdout
            let schema = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
            let definitions = try #require(schema["definitions"] as? [String: Any])
            let task = try #require(definitions["task"] as? [String: Any])
            let properties = try #require(task["properties"] as? [String: Any])
            let uses = try #require((properties["uses"] as? [String: Any])?["enum"] as? [String])
            #expect(Set(["shell", "sql", "sqlite.health-check", "http.post", "market.backfill"]).isSubset(of: Set(uses)), "\(uses)")
            #expect(text.contains("\"url\"") && text.contains("\"bind\""))
        }

        func path(_ p: Project) -> String { (FlowBinary.path as NSString).deletingLastPathComponent + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin") }

        @Test("bash: commands, options, schedule actions and the project's workflow names complete")
        func bash() async throws {
            let p = Project()
            try p.workflow("daily-update", "tasks:\n  a:\n    run: echo a\n")
            try p.workflow("nightly", "tasks:\n  a:\n    run: echo a\n")
            let script = try await p.flow("completion", "bash").stdout
            try p.dir.write("c.bash", script)
            func complete(_ words: [String]) async throws -> [String] {
                let array = words.map { "'\($0)'" }.joined(separator: " ")
                let code = "source ./c.bash; COMP_WORDS=(\(array)); COMP_CWORD=\(words.count - 1); _flow; printf '%s\\n' \"${COMPREPLY[@]}\""
                let r = try await FlowBinary.runProgram("/bin/bash", ["-c", code], in: p.root, environment: ["PATH": path(p)])
                return r.stdout.split(separator: "\n").map(String.init).filter { !$0.isEmpty }
            }
            #expect(try await complete(["flow", "ru"]) == ["run"])
            #expect(try await complete(["flow", "sch"]) == ["schedule", "scheduler", "schema"])
            #expect(try await complete(["flow", "run", ""]) == ["daily-update", "nightly"])
            #expect(try await complete(["flow", "run", "ni"]) == ["nightly"])
            #expect(try await complete(["flow", "run", "nightly", "--k"]) == ["--keep-going"])
            #expect(try await complete(["flow", "schedule", "in"]) == ["install"])
            #expect(try await complete(["flow", "schedule", "tick", "d"]) == ["daily-update"])
            #expect(try await complete(["flow", "completion", "f"]) == ["fish"])
            #expect(try await complete(["flow", "logs", "1", "-"]).contains("--follow"))
        }

        @Test("fish: the same completions through fish's own complete -C")
        func fish() async throws {
            guard FileManager.default.isExecutableFile(atPath: "/usr/bin/fish") else { return }
            let p = Project()
            try p.workflow("nightly", "tasks:\n  a:\n    run: echo a\n")
            try p.dir.write("c.fish", try await p.flow("completion", "fish").stdout)
            func complete(_ line: String) async throws -> [String] {
                let r = try await FlowBinary.runProgram("/usr/bin/fish", ["--no-config", "-c", "source ./c.fish; complete -C '\(line)'"], in: p.root,
                                                        environment: ["PATH": path(p)])
                return r.stdout.split(separator: "\n").map { String($0.split(separator: "\t").first ?? "") }
            }
            #expect(try await complete("flow ru") == ["run"])
            #expect(try await complete("flow run ") == ["nightly"])
            #expect(try await complete("flow run nightly --fre") == ["--fresh"])
            #expect(try await complete("flow schedule ").contains("tick"))
            #expect(try await complete("flow schedule tick ") == ["nightly"])
        }

        @Test("zsh: the script loads, registers _flow, and offers commands and workflow names")
        func zsh() async throws {
            guard FileManager.default.isExecutableFile(atPath: "/usr/bin/zsh") else { return }
            let p = Project()
            try p.workflow("nightly", "tasks:\n  a:\n    run: echo a\n")
            try p.dir.write("c.zsh", try await p.flow("completion", "zsh").stdout)
            // compsys's builtins are replaced by ones that print what they were given.
            let code = """
                autoload -U compinit; compinit -u 2>/dev/null; source ./c.zsh
                print -r -- "registered ${_comps[flow]}"
                _describe() { local -a items; items=("${(@P)2}"); print -r -- "${items[@]%%:*}"; }
                _arguments() { print -r -- "arguments $*"; }
                words=(flow ru); CURRENT=2; _flow
                words=(flow run ''); CURRENT=3; _flow
                _flow_workflows
                """
            let r = try await FlowBinary.runProgram("/usr/bin/zsh", ["-f", "-c", code], in: p.root, environment: ["PATH": path(p)])
            #expect(r.status == 0, "\(r.stderr)")
            let lines = r.stdout.split(separator: "\n").map(String.init)
            #expect(lines.first == "registered _flow", "\(r.stdout)\(r.stderr)")
            #expect(lines.count >= 4)
            #expect(lines.dropFirst().first?.split(separator: " ").contains("run") == true, "\(lines)")
            #expect(lines.contains { $0.hasPrefix("arguments") && $0.contains("--fresh") && $0.contains("_flow_workflows") }, "\(lines)")
            #expect(lines.last == "nightly")
        }
    }
}
