import Foundation
import FlowTestSupport
import Testing

extension EndToEnd {
    /// `foreach:` with the built binary: a fan-out over an upstream output, checkpointed per instance.
    @Suite("foreach, end to end")
    struct ForeachEndToEndTests {
        static let fanOut = """
            tasks:
              list:
                run: |
                  echo "list" >> work.txt
                  cat items.json | tr -d '\\n' | sed 's/^/items=/' >> "$FLOW_OUTPUT"
              check:
                always_run: true
                run: echo check >> work.txt
              each:
                needs: [list]
                foreach: ${{ fromJSON(tasks.list.outputs.items) }}
                max_parallel: 2
                env:
                  ITEM: ${{ foreach.item }}
                  INDEX: ${{ foreach.index }}
                run: |
                  test ! -f "fail-$ITEM"
                  echo "each $INDEX $ITEM" >> work.txt
                  echo "done=$ITEM" >> "$FLOW_OUTPUT"
              after:
                needs: [each]
                env: { ALL: "${{ tasks.each.outputs.done }}" }
                run: echo "after $ALL" >> work.txt
            """

        @Test("instances are made from the upstream output, named by item; a resume reruns only the instances that did not succeed")
        func fansOutAndResumes() async throws {
            let p = Project()
            try p.workflow("w", Self.fanOut)
            try p.dir.write("items.json", #"["MGC", "GC", "SI"]"#)
            try p.dir.write("fail-GC", "")
            let first = try await p.flow("run", "w", "--plain")
            #expect(first.status == 1, "\(first.stdout)\(first.stderr)")
            #expect(Project.unstamped(first.stdout).contains("foreach: each (3 items); 4 more tasks"), "\(first.stdout)")
            #expect(p.lines("work.txt").contains("each 0 MGC") && !p.lines("work.txt").contains("each 1 GC"))
            let statuses = try await p.taskStatuses("w")
            #expect(statuses["each[item=MGC]"] == "succeeded" && statuses["each[item=GC]"] == "failed", "\(statuses)")
            #expect(statuses["each"] == nil, "the foreach task is shown as its instances: \(statuses)")
            try FileManager.default.removeItem(atPath: p.root + "/fail-GC")
            try p.dir.write("work.txt", "")
            let resumed = try await p.flow("run", "w", "--plain")
            #expect(resumed.status == 0 && resumed.stdout.contains("resuming run 1"), "\(resumed.stdout)\(resumed.stderr)")
            let work = p.lines("work.txt")
            #expect(!work.contains("list") && !work.contains("each 0 MGC"), "list and the MGC instance are reused: \(work)")
            #expect(work.contains("each 1 GC") && work.contains("check"), "GC runs again, check is always_run: \(work)")
            #expect(work.filter { $0 == "check" }.count == 1, "always_run runs once per invocation, not once per part")
            #expect(work.last == #"after {"item=GC":"GC","item=MGC":"MGC","item=SI":"SI"}"#, "\(work)")
            // The web graph draws the instances in the foreach task's place: list → 3 instances → after.
            let server = try await WebServer(p)
            let page = try #require(try await server.get("/runs/1").body)
            let graph = page.components(separatedBy: "</svg>").first ?? ""
            #expect(graph.contains(#"data-task="each[item=GC]""#) && !graph.contains(#"data-task="each""#), "\(graph.prefix(400))")
            #expect(graph.components(separatedBy: "class=\"edge\"").count - 1 == 6, "3 edges from list into the instances, 3 from them into after")
        }

        @Test("object items, items that cannot name an instance (by index), an empty list, and lists that are not JSON arrays")
        func itemShapes() async throws {
            let p = Project()
            try p.workflow("w", """
                tasks:
                  list:
                    run: cat items.json | tr -d '\\n' | sed 's/^/items=/' >> "$FLOW_OUTPUT"
                  each:
                    needs: [list]
                    foreach: ${{ fromJSON(tasks.list.outputs.items) }}
                    env: { S: "${{ foreach.item.symbol }}", W: "${{ foreach.item }}" }
                    run: echo "$S|$W" >> work.txt
                  after:
                    needs: [each]
                    run: echo after >> work.txt
                """)
            try p.dir.write("items.json", #"[{"symbol": "MGC", "days": 3}, {"symbol": "GC/2", "ok": true}]"#)
            #expect(try await p.flow("run", "w").status == 0)
            #expect(Set(p.lines("work.txt")) == [#"MGC|{"days":"3","symbol":"MGC"}"#, #"GC/2|{"ok":"true","symbol":"GC/2"}"#, "after"])
            #expect(try await p.taskStatuses("w")["each[index=1]"] == "succeeded")
            try p.dir.write("items.json", "[]")
            try p.dir.write("work.txt", "")
            #expect(try await p.flow("run", "w", "--fresh").status == 0)
            #expect(p.lines("work.txt") == ["after"], "no instance; what needs the foreach still runs")
            #expect(try await p.taskStatuses("w")["each"] == "skipped")
            for bad in [#"{"not": "a list"}"#, "[[1, 2]]", "not json"] {
                try p.dir.write("items.json", bad)
                let run = try await p.flow("run", "w", "--fresh")
                #expect(run.status == 1 && run.stderr.contains("task 'each' failed: foreach"), "\(bad): \(run.stderr)")
                #expect(try await p.taskStatuses("w")["each"] == "failed")
            }
        }

        @Test("--keep-going: a failure elsewhere does not hold a foreach back; a failed upstream does, and the run fails")
        func keepGoing() async throws {
            let p = Project()
            try p.workflow("w", """
                tasks:
                  list:
                    run: echo 'items=["a","b"]' >> "$FLOW_OUTPUT"
                  broken:
                    run: exit 3
                  each:
                    needs: [list]
                    foreach: ${{ fromJSON(tasks.list.outputs.items) }}
                    env: { I: "${{ foreach.item }}" }
                    run: echo "each $I" >> work.txt
                  bad-list:
                    needs: [broken]
                    run: echo 'items=["x"]' >> "$FLOW_OUTPUT"
                  never:
                    needs: [bad-list]
                    foreach: ${{ fromJSON(tasks.bad-list.outputs.items) }}
                    run: echo never >> work.txt
                """)
            let run = try await p.flow("run", "w", "--keep-going")
            #expect(run.status == 1, "\(run.stdout)\(run.stderr)")
            #expect(Set(p.lines("work.txt")) == ["each a", "each b"], "each ran; never did not")
            let statuses = try await p.taskStatuses("w")
            #expect(statuses["broken"] == "failed" && statuses["each[item=a]"] == "succeeded" && statuses["bad-list"] == "skipped", "\(statuses)")
        }

        @Test("more items than the limit fail the task, naming the limit")
        func limit() async throws {
            let p = Project()
            try p.workflow("w", """
                tasks:
                  list:
                    run: |
                      printf 'items=[' >> "$FLOW_OUTPUT"
                      seq 0 10000 | sed 's/.*/"&"/' | paste -sd, - | tr -d '\\n' >> "$FLOW_OUTPUT"
                      echo ']' >> "$FLOW_OUTPUT"
                  each:
                    needs: [list]
                    foreach: ${{ fromJSON(tasks.list.outputs.items) }}
                    run: "true"
                """)
            let run = try await p.flow("run", "w")
            #expect(run.status == 1 && run.stderr.contains("has 10001 items, more than 10000"), "\(run.stderr)")
        }
    }
}
