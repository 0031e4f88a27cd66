import Foundation
import FlowTestSupport
import Testing

extension EndToEnd {
    /// The smaller defects found by a new user, each through the real binary.
    @Suite("small things found on the way, end to end")
    struct SmallThingsEndToEndTests {
        @Test("'if: ${{ a }} == 1' is a validation error whose hint puts the comparison inside")
        func textOutsideCondition() async throws {
            let p = Project()
            try p.workflow("c", "params:\n  a: \"2\"\ntasks:\n  t:\n    if: ${{ params.a }} == 1\n    run: touch RAN\n")
            let result = try await p.flow("run", "c")
            #expect(result.status == 65)
            #expect(result.stderr.contains("c.yaml:5:9: error: 'if' of task 't' has text outside '${{ }}', so it is always true"), "\(result.stderr)")
            #expect(result.stderr.contains("if: ${{ params.a == 1 }}"))
            #expect(!p.dir.exists("RAN"))
        }

        @Test("a workflow file whose stem is not a valid name, control characters included, is reported by validate and list")
        func invalidStems() async throws {
            let p = Project()
            try p.workflow("ok", "tasks:\n  a:\n    run: \"true\"\n")
            try p.workflow("has space", "tasks:\n  a:\n    run: \"true\"\n")
            try p.workflow("bell\u{07}", "tasks:\n  a:\n    run: \"true\"\n")
            let validate = try await p.flow("validate")
            #expect(validate.status == 65)
            #expect(validate.stderr.contains("the file name 'has space' is not a valid workflow name"), "\(validate.stderr)")
            #expect(validate.stderr.contains("the file name 'bell?' is not a valid workflow name"), "\(validate.stderr)")
            #expect(!validate.stderr.contains("\u{07}") && !validate.stdout.contains("\u{07}"), "a control character reached the terminal")
            let list = try await p.flow("list")
            #expect(list.stdout.contains("invalid (flow validate 'workflows/has space.yaml')"), "\(list.stdout)")
            #expect(!list.stdout.contains("\u{07}"))
            #expect(try await p.flow("run", "bell\u{07}").status != 0)
        }

        @Test("NO_COLOR counts only when it is not empty")
        func noColor() async throws {
            let p = Project()
            try p.workflow("w", "tasks:\n  a:\n    run: \"true\"\n")
            func viaTerminal(_ noColor: String) async throws -> String {
                let command = "NO_COLOR='\(noColor)' '\(FlowBinary.path)' run w --fresh"
                let r = try await FlowBinary.runProgram("/usr/bin/script", ["-qec", command, "/dev/null"], in: p.root)
                return r.stdout
            }
            #expect(try await viaTerminal("").contains("\u{1B}["), "an empty NO_COLOR turned colour off")
            #expect(try await !viaTerminal("1").contains("\u{1B}["))
        }

        @Test("'cannot connect' names the URL with its port")
        func connectErrorKeepsPort() async throws {
            let p = try Project.dailyUpdate(retryDelay: "10ms")
            let result = try await p.flow("run", "daily-update", env: [
                "DATABENTO_API_KEY": "db-X", "DATABENTO_BASE_URL": "http://127.0.0.1:9", "FLOW_VENDOR_RETRY_BASE": "1ms",
                "FLOW_NOW": "2026-01-17T00:00:00Z",
            ])
            #expect(result.status == 1)
            #expect(result.stdout.contains("127.0.0.1:9/v0/metadata.get_dataset_range: cannot connect"), "\(result.stdout)")
        }

        @Test("'flow help help' works, and 'flow resume' does not advertise --fresh, which it does not take")
        func helpAndResume() async throws {
            let p = Project()
            let help = try await p.flow("help", "help")
            #expect(help.status == 0 && help.stdout.contains("usage: flow help"), "\(help.stdout)\(help.stderr)")
            try p.workflow("w", "tasks:\n  a:\n    run: \"true\"\n  b:\n    needs: [a]\n    run: test -f go\n")
            #expect(try await p.flow("run", "w").status == 1)
            try p.dir.write("go", "")
            let resumed = try await p.flow("resume", "1")
            #expect(resumed.status == 0)
            #expect(resumed.stdout.contains("resuming run 1"))
            #expect(!resumed.stdout.contains("--fresh"), "\(resumed.stdout)")
            #expect(try await p.flow("resume", "1", "--fresh").status == 2)
        }

        @Test("the demo source refuses a window past two years instead of writing gigabytes")
        func demoWindow() async throws {
            let p = try Project.dailyUpdate()
            #expect(try await p.flow("run", "daily-update", env: ["FLOW_NOW": "2026-01-28T21:00:00Z"]).status == 0)
            let size = (try FileManager.default.attributesOfItem(atPath: p.root + "/data/market.db")[.size] as? NSNumber)?.intValue ?? 0
            let far = try await p.flow("run", "daily-update", env: ["FLOW_NOW": "9999-12-31T00:00:00Z"])
            #expect(far.status == 1)
            #expect(far.stdout.contains("the demo source makes at most 2 years of synthetic bars per run"), "\(far.stdout)")
            let after = (try FileManager.default.attributesOfItem(atPath: p.root + "/data/market.db")[.size] as? NSNumber)?.intValue ?? 0
            #expect(after < size * 2)
        }

        @Test("flow logs streams a large log in pieces, and stops when its reader does")
        func largeLog() async throws {
            let p = Project()
            try p.workflow("loud", "tasks:\n  a:\n    run: head -c 104857600 /dev/zero | tr '\\\\0' x\n")
            #expect(try await p.flow("run", "loud").status == 0)
            let measure = """
                import resource, subprocess, sys
                r = subprocess.run([sys.argv[1], "logs", "1"], stdout=subprocess.PIPE if False else open("/dev/null", "w"))
                print(r.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
                """
            let r = try await FlowBinary.runProgram("/usr/bin/env", ["python3", "-c", measure, FlowBinary.path], in: p.root)
            let fields = r.stdout.split(separator: " ").compactMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
            #expect(fields.first == 0, "\(r.stdout)\(r.stderr)")
            #expect((fields.last ?? .max) < 60_000, "flow logs of a 100 MB log peaked at \(fields.last ?? -1) KiB")
            let head = try await FlowBinary.runProgram("/bin/sh", ["-c", "'\(FlowBinary.path)' logs 1 | head -c 100 | wc -c"], in: p.root)
            #expect(head.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "100")
        }
    }
}
