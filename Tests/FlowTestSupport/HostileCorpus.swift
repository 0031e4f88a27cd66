import Foundation

/// Malformed workflow files for the fault suite: mutations of a valid workflow plus hand-made hostile
/// shapes. Deterministic (seeded), so a failure names a reproducible case.
package enum HostileCorpus {
    package struct Case: Sendable {
        package var name: String
        package var bytes: [UInt8]
    }

    static let base = """
        name: corpus
        params:
          db: data/market.db
          symbols: MGC
        env:
          TZ: Australia/Brisbane
        defaults:
          retries: 2
          retry_delay: 5s
        tasks:
          check:
            uses: sql
            with:
              db: ${{ params.db }}
              sql: SELECT 1 AS one
          fetch:
            needs: [check]
            env:
              SYMBOLS: ${{ params.symbols }}
            run: echo "$SYMBOLS"
          report:
            needs: [fetch]
            if: ${{ tasks.check.outputs.one == 1 }}
            run: echo done

        """

    /// At least `count` cases.
    package static func cases(count: Int = 240, seed: UInt64 = 42) -> [Case] {
        var out: [Case] = []
        let lines = base.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        func add(_ name: String, _ text: String) { out.append(Case(name: name, bytes: Array(text.utf8))) }
        for (i, line) in lines.enumerated() where !line.isEmpty {
            var copy = lines
            copy[i] = "\t" + line
            add("tab-\(i)", copy.joined(separator: "\n"))
            copy = lines
            copy[i] = line.replacingOccurrences(of: ":", with: "")
            add("no-colon-\(i)", copy.joined(separator: "\n"))
            copy = lines
            copy.insert(line, at: i)
            add("duplicate-\(i)", copy.joined(separator: "\n"))
            copy = lines
            copy[i] = line + " ["
            add("open-bracket-\(i)", copy.joined(separator: "\n"))
        }
        let bytes = Array(base.utf8)
        for cut in stride(from: 7, to: bytes.count, by: 23) {
            out.append(Case(name: "truncated-\(cut)", bytes: Array(bytes[..<cut]) + Array("\n  {".utf8)))
        }
        var state = seed
        func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        for k in 0..<60 {
            var mutated = bytes
            for _ in 0..<4 { mutated[Int(next() % UInt64(mutated.count))] = UInt8(truncatingIfNeeded: next()) }
            out.append(Case(name: "flipped-\(k)", bytes: mutated))
        }
        add("alias-bomb", (["a: &a [x,x,x,x,x,x,x,x,x,x]"] + (1...9).map { i in
            let prev = String(UnicodeScalar(UInt8(96 + i))), name = String(UnicodeScalar(UInt8(97 + i)))
            return "\(name): &\(name) [" + Array(repeating: "*\(prev)", count: 10).joined(separator: ",") + "]"
        }).joined(separator: "\n") + "\ntasks:\n  t:\n    run: x\n")
        add("deep-flow", "tasks: " + String(repeating: "[", count: 5000) + String(repeating: "]", count: 5000) + "\n")
        add("deep-block", "tasks:\n" + (0..<300).map { String(repeating: " ", count: $0 + 1) + "k\($0):" }.joined(separator: "\n") + "\n")
        add("deep-dashes", "tasks: " + String(repeating: "- ", count: 3000) + "x\n")
        add("huge", "tasks:\n  a:\n    run: echo a\n# " + String(repeating: "x", count: 2_000_000) + "\n")
        out.append(Case(name: "binary", bytes: (0..<4096).map { _ in UInt8(truncatingIfNeeded: next()) }))
        out.append(Case(name: "invalid-utf8", bytes: Array("tasks:\n  a:\n    run: echo ".utf8) + [0xC3, 0x28, 0xA0, 0xA1] + [10]))
        out.append(Case(name: "bom-then-garbage", bytes: [0xEF, 0xBB, 0xBF] + Array("tasks: [:\n".utf8)))
        add("crlf-broken", base.replacingOccurrences(of: "\n", with: "\r\n").replacingOccurrences(of: "needs: [check]", with: "needs: [chek]"))
        add("empty", "")
        add("only-comment", "# nothing here\n")
        add("scalar-root", "just a string\n")
        add("null-tasks", "tasks:\n")
        add("task-null", "tasks:\n  a:\n")
        add("numbers-as-keys", "tasks:\n  1: {run: x}\n")
        add("long-line", "tasks:\n  a:\n    run: " + String(repeating: "${{ ", count: 2000) + "\n")
        while out.count < count {
            var mutated = bytes
            mutated.insert(UInt8(truncatingIfNeeded: next() % 128), at: Int(next() % UInt64(mutated.count)))
            out.append(Case(name: "inserted-\(out.count)", bytes: mutated))
        }
        return out
    }
}
