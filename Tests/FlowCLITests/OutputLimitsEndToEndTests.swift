import Foundation
import FlowTestSupport
import Testing

extension EndToEnd {
    /// What a task hands back is bounded: a clear error naming the task and the limit, and never a wedged task.
    @Suite("output and checkpoint limits, end to end")
    struct OutputLimitsEndToEndTests {
        @Test("an output value over 1 MiB, or an output file over 10 MiB, fails the task naming it and the limit")
        func outputs() async throws {
            let p = Project()
            try p.workflow("big", """
                tasks:
                  value:
                    run: printf 'v=' >> "$FLOW_OUTPUT"; head -c 2097152 /dev/zero | tr '\\\\0' a >> "$FLOW_OUTPUT"; echo >> "$FLOW_OUTPUT"
                """)
            let value = try await p.flow("run", "big")
            #expect(value.status == 1)
            #expect(value.stdout.contains("output 'v' of task 'value' is 2097152 bytes, over the limit of 1 MiB (FLOW_MAX_OUTPUT_VALUE)"),
                    "\(value.stdout)")
            try p.workflow("huge", """
                tasks:
                  file:
                    run: head -c 20971520 /dev/zero | tr '\\\\0' a | fold -w 1000 | sed 's/^/k=/' >> "$FLOW_OUTPUT"
                """)
            let file = try await p.flow("run", "huge")
            #expect(file.status == 1)
            #expect(file.stdout.contains("task 'file' wrote more than 10 MiB to $FLOW_OUTPUT"), "\(file.stdout)")
            // Configurable: with a larger limit the same value is accepted.
            let raised = try await p.flow("run", "big", "--fresh", env: ["FLOW_MAX_OUTPUT_VALUE": "4M"])
            #expect(raised.status == 0, "\(raised.stdout)")
        }

        @Test("a sql result column over the output limit fails the task and commits nothing")
        func sqlOutput() async throws {
            let p = Project()
            try p.workflow("q", """
                tasks:
                  q:
                    uses: sql
                    with:
                      db: q.db
                      sql: CREATE TABLE t(x); INSERT INTO t VALUES (1); SELECT hex(zeroblob(1000000)) AS big
                """)
            let result = try await p.flow("run", "q")
            #expect(result.status == 1)
            #expect(result.stdout.contains("output 'big' of task 'q' is"), "\(result.stdout)")
            #expect(try await SQLiteFile.rows(p.root + "/q.db", "SELECT name FROM sqlite_master") == [])
        }

        @Test("a checkpoint of 100,000 keys, or one value over 128 KB, fails clearly and does not wedge the next attempt",
              arguments: ["keys", "value"])
        func checkpoints(_ kind: String) async throws {
            let p = Project()
            let write = kind == "keys"
                ? "seq 1 100000 | sed 's/^/k/; s/$/=1/' >> \"$FLOW_CHECKPOINT\""
                : "printf 'big=' >> \"$FLOW_CHECKPOINT\"; head -c 200000 /dev/zero | tr '\\\\0' a >> \"$FLOW_CHECKPOINT\"; echo >> \"$FLOW_CHECKPOINT\""
            try p.workflow("cp", """
                tasks:
                  work:
                    run: |
                      echo "step=1" >> "$FLOW_CHECKPOINT"
                      sleep 0.7
                      if [ "${FLOW_CHECKPOINT_STEP:-}" = 1 ] && [ -f second ]; then echo resumed > resumed.txt; exit 0; fi
                      \(write)
                      sleep 1
                """)
            let first = try await p.flow("run", "cp")
            #expect(first.status == 1)
            let expected = kind == "keys" ? "over the limit of 1000 (FLOW_MAX_CHECKPOINT_KEYS)" : "over the limit of 64 KiB (FLOW_MAX_CHECKPOINT_VALUE)"
            #expect(first.stdout.contains(expected), "\(first.stdout)")
            try p.dir.write("second", "")
            let resumed = try await p.flow("run", "cp")
            #expect(resumed.status == 0, "the next attempt was wedged: \(resumed.stdout)")
            #expect(p.dir.read("resumed.txt") == "resumed\n")
        }
    }
}
