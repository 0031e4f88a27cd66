import FlowCore
import Foundation
import Testing

@Suite("durations")
struct DurationTests {
    @Test("parses", arguments: [
        ("500ms", 500), ("5s", 5000), ("30m", 1_800_000), ("2h", 7_200_000), ("1d", 86_400_000),
        ("1h30m", 5_400_000), ("1.5s", 1500), ("0s", 0),
    ])
    func parses(_ text: String, _ millis: Int64) {
        #expect(DurationFormat.parse(text) == .milliseconds(millis))
        #expect(DurationFormat.parse(" \t\(text)\u{00A0} ") == .milliseconds(millis), "surrounding blanks are ignored")
    }

    @Test("trimming blanks gives what Foundation's trimming of .whitespaces gives")
    func trimmingBlanks() {
        let pieces = ["", " ", "\t", "\u{00A0}", "\u{2003}", "\n", "\r\n", "a", "é", "5s", "a b", "\u{1F600}", "e\u{301}"]
        var checked = 0
        for a in pieces {
            for b in pieces {
                for c in pieces {
                    let text = a + b + c
                    #expect(text.trimmingBlanks == text.trimmingCharacters(in: .whitespaces), "\(text.unicodeScalars.map { $0.value })")
                    checked += 1
                }
            }
        }
        #expect(checked == 2197)
    }

    @Test("rejects", arguments: ["", "5", "s", "5x", "30 minutes", "-1s", "1e9999s", "400d"])
    func rejects(_ text: String) {
        #expect(DurationFormat.parse(text) == nil)
    }

    @Test("formats for humans")
    func formats() {
        #expect(DurationFormat.format(.milliseconds(850)) == "850ms")
        #expect(DurationFormat.format(.milliseconds(4200)) == "4.2s")
        #expect(DurationFormat.format(.seconds(185)) == "3m05s")
        #expect(DurationFormat.format(.seconds(3720)) == "1h02m")
    }
}

@Suite("retry backoff")
struct RetryPolicyTests {
    @Test("doubles from retry_delay and is capped")
    func doubling() {
        let policy = RetryPolicy(retries: 5, delay: .seconds(2), maxDelay: .seconds(10))
        #expect(policy.delay(beforeAttempt: 2, jitter: 0) == .seconds(2))
        #expect(policy.delay(beforeAttempt: 3, jitter: 0) == .seconds(4))
        #expect(policy.delay(beforeAttempt: 4, jitter: 0) == .seconds(8))
        #expect(policy.delay(beforeAttempt: 5, jitter: 0) == .seconds(10))
        #expect(policy.delay(beforeAttempt: 40, jitter: 0) == .seconds(10))
    }

    @Test("jitter stays within 20 percent")
    func jitter() {
        let policy = RetryPolicy(retries: 1, delay: .seconds(10))
        #expect(policy.delay(beforeAttempt: 2, jitter: 1) == .seconds(12))
        #expect(policy.delay(beforeAttempt: 2, jitter: -1) == .seconds(8))
        #expect(policy.delay(beforeAttempt: 2, jitter: 7) == .seconds(12))
    }
}

@Suite("SHA-256")
struct SHA256Tests {
    @Test("matches the FIPS 180-4 test vectors", arguments: [
        ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        ("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        ("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"),
    ])
    func vectors(_ input: String, _ digest: String) {
        #expect(SHA256.hex(input) == digest)
    }

    @Test("a million 'a's fed in pieces of every size from 1 to 200 bytes, as bytes and as strings")
    func millionA() {
        var h = SHA256()
        var fed = 0
        var size = 1
        while fed < 1_000_000 {
            let n = min(size, 1_000_000 - fed)
            if size % 2 == 0 { h.update(String(repeating: "a", count: n)) } else { h.update(repeatElement(UInt8(ascii: "a"), count: n)) }
            fed += n
            size = size % 200 + 1
        }
        #expect(h.finalize() == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    @Test("a multi-block message fed in pieces")
    func multiBlock() {
        var h = SHA256()
        h.update("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmn")
        h.update("hijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu")
        #expect(h.finalize() == "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1")
    }
}

@Suite("task graph")
struct TaskGraphTests {
    func workflow(_ edges: [String: [String]], order: [String]) -> Workflow {
        let loc = SourceLocation(file: "t", line: 1, column: 1)
        return Workflow(name: "t", path: "t", tasks: order.map { id in
            TaskSpec(id: TaskID(id), location: loc, needs: (edges[id] ?? []).map(TaskID.init), uses: "shell")
        })
    }

    @Test("topological order respects needs and breaks ties by file order")
    func order() throws {
        let wf = workflow(["c": ["a"], "b": ["c"], "d": []], order: ["b", "c", "a", "d"])
        let order = try #require(TaskGraph(wf).topologicalOrder()).map { wf.tasks[$0].id.rawValue }
        // Ready: a (3rd in file) and d (4th); a goes first, which readies c (2nd in file), then b (1st), then d.
        #expect(order == ["a", "c", "b", "d"])
    }

    @Test("finds a cycle and returns its whole path")
    func cycle() throws {
        let wf = workflow(["a": ["b"], "b": ["c"], "c": ["a"], "d": ["a"]], order: ["d", "a", "b", "c"])
        let graph = TaskGraph(wf)
        #expect(graph.topologicalOrder() == nil)
        let path = try #require(graph.findCycle()).map { wf.tasks[$0].id.rawValue }
        #expect(path.first == path.last)
        #expect(Set(path) == ["a", "b", "c"])
        #expect(path.count == 4)
    }

    @Test("a 10,000-task chain needs no deep recursion")
    func longChain() {
        let ids = (0..<10_000).map { "t\($0)" }
        var edges: [String: [String]] = [:]
        for i in 1..<ids.count { edges[ids[i]] = [ids[i - 1]] }
        let graph = TaskGraph(workflow(edges, order: ids))
        #expect(graph.findCycle() == nil)
        #expect(graph.topologicalOrder()?.count == 10_000)
        #expect(graph.downstream(of: 0).count == 9_999)
    }

    @Test("the min-heap pops in ascending order")
    func heap() {
        var heap = MinHeap()
        for v in [5, 3, 9, 1, 7, 1, 0] { heap.push(v) }
        var out: [Int] = []
        while let v = heap.pop() { out.append(v) }
        #expect(out == [0, 1, 1, 3, 5, 7, 9])
    }
}

@Suite("suggestions")
struct SuggestionTests {
    @Test("suggests close names only")
    func closest() {
        #expect(Suggestion.closest(to: "need", in: ["needs", "run", "uses"]) == "needs")
        #expect(Suggestion.closest(to: "timout", in: ["timeout", "retries"]) == "timeout")
        #expect(Suggestion.closest(to: "banana", in: ["needs", "run"]) == nil)
    }
}

@Suite("fingerprint")
struct FingerprintTests {
    @Test("a task's fingerprint is pinned: a change to its bytes would make every stored run re-run its tasks on resume")
    func pinned() {
        let task = TaskSpec(id: TaskID("build"), location: SourceLocation(file: "w.yaml", line: 1, column: 1), uses: "shell",
                            with: [("run", Template(literal: "make all")), ("shell", Template(literal: "bash"))],
                            env: [("MODE", Template(literal: "release")), ("É", Template(literal: "ü"))],
                            workingDirectory: Template(literal: "src"))
        let fingerprint = Fingerprint.of(task, workflowEnv: [("GLOBAL", Template(literal: "1"))], actionVersion: "1",
                                         scope: EvaluationScope(params: [:], runID: 1))
        // The same bytes hashed by Python's hashlib from the documented format ("LEN:NAME=LEN:VALUE\n" per field, with and env sorted).
        #expect(fingerprint == "35994ee2e01f170b1735f0ea06a3bb7bfa2ffdf1dcdab74e0c3e87e5fa9e27ee")
    }
}
