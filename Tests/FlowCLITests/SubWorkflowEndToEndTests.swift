import Foundation
import FlowTestSupport
import Testing

extension EndToEnd {
    /// `uses: workflow` with the built binary: a child run linked to its parent, resumed with it.
    @Suite("sub-workflows, end to end")
    struct SubWorkflowEndToEndTests {
        static let parent = """
            params:
              day: "1"
            tasks:
              prep:
                run: echo prep >> work.txt
              load:
                needs: [prep]
                uses: workflow
                with:
                  workflow: child
                  params:
                    day: ${{ params.day }}
              after:
                needs: [load]
                env:
                  ROWS: ${{ tasks.load.outputs.count.rows }}
                  CHILD: ${{ tasks.load.outputs.run_id }}
                run: echo "after rows=$ROWS child=$CHILD" >> work.txt
            """
        static let child = """
            params:
              day: "0"
            tasks:
              fetch:
                env: { DAY: "${{ params.day }}" }
                run: |
                  echo "fetch $DAY" >> work.txt
                  echo "parent variable: ${FLOW_PARENT:-none}" >> work.txt
              count:
                needs: [fetch]
                run: |
                  test ! -f fail-count
                  echo count >> work.txt
                  echo "rows=4$DAY" >> "$FLOW_OUTPUT"
                env: { DAY: "${{ params.day }}" }
            """

        @Test("the child runs as its own run, linked both ways; its tasks' outputs are the task's; a resumed parent resumes its child")
        func childRunResumes() async throws {
            let p = Project()
            try p.workflow("parent", Self.parent)
            try p.workflow("child", Self.child)
            try p.dir.write("fail-count", "")
            let failed = try await p.flow("run", "parent", "-p", "day=5", "--plain")
            #expect(failed.status == 1, "\(failed.stdout)\(failed.stderr)")
            #expect(failed.stdout.contains("workflow 'child' (run 2) failed"), "\(failed.stdout)")
            #expect(p.lines("work.txt") == ["prep", "fetch 5", "parent variable: none"], "the child's own tasks are no child runs")
            try FileManager.default.removeItem(atPath: p.root + "/fail-count")
            try p.dir.write("work.txt", "")
            let resumed = try await p.flow("run", "parent", "-p", "day=5")
            #expect(resumed.status == 0, "\(resumed.stdout)\(resumed.stderr)")
            #expect(p.lines("work.txt") == ["count", "after rows=45 child=2"], "prep and the child's fetch are not redone")

            let child = try await p.flow("status", "--run", "2", "--json")
            let childDoc = try #require(try JSONSerialization.jsonObject(with: Data(child.stdout.utf8)) as? [String: Any])
            let childRun = try #require(childDoc["run"] as? [String: Any])
            #expect(childRun["parent"] as? String == "1/load" && childRun["resumes"] as? Int == 1 && childRun["status"] as? String == "succeeded")
            let parentDoc = try await p.statusJSON("parent")
            let children = try #require((parentDoc["run"] as? [String: Any])?["children"] as? [[String: Any]])
            #expect(children.count == 1 && children[0]["run"] as? Int == 2 && children[0]["task"] as? String == "load")
            let load = (parentDoc["tasks"] as? [[String: Any]])?.first { $0["id"] as? String == "load" }
            #expect((load?["outputs"] as? [String: String]) == ["run_id": "2", "status": "succeeded", "count.rows": "45"], "\(String(describing: load))")
            let text = try await p.flow("status", "parent")
            #expect(text.stdout.contains("child run: task 'load' → run 2 of 'child' (succeeded)"), "\(text.stdout)")
            let history = try await p.flow("history", "child")
            #expect(history.stdout.contains("child of 1/load"), "\(history.stdout)")

            let server = try await WebServer(p)
            let parentPage = try await server.get("/runs/1")
            #expect(parentPage.body?.contains("<a href=\"/runs/2\">run 2</a> of child") == true)
            let childPage = try await server.get("/runs/2")
            #expect(childPage.body?.contains("<b>child of</b><a href=\"/runs/1\">run 1</a> (task load)") == true)

            // A changed child is other work: a resumed parent runs its task again (the child then resumes or not
            // by its own fingerprints), though the task's own inputs did not change.
            try p.workflow("parent", Self.parent.replacingOccurrences(of: "    run: echo \"after", with: "    run: test -f go && echo \"after"))
            #expect(try await p.flow("run", "parent", "-p", "day=5", "--fresh").status == 1)
            try p.workflow("child", Self.child + "\n  extra:\n    needs: [count]\n    run: echo extra >> work.txt\n")
            try p.dir.write("go", "")
            try p.dir.write("work.txt", "")
            let changed = try await p.flow("run", "parent", "-p", "day=5")
            #expect(changed.status == 0, "\(changed.stdout)\(changed.stderr)")
            #expect(p.lines("work.txt").contains("extra"), "the changed child ran: \(p.lines("work.txt"))")
            try p.workflow("parent", Self.parent)
            try p.workflow("child", Self.child)

            // A run of the child on its own is another run: it never takes over the parent's.
            try p.dir.write("fail-count", "")
            #expect(try await p.flow("run", "parent", "--fresh").status == 1)
            let alone = try await p.flow("run", "child")
            #expect(alone.stdout.contains("not resuming run 7: it is a child run of run 6 (task 'load'), which resumes it"), "\(alone.stdout)")
        }

        @Test("a cycle between workflows is a validation error naming the chain; an unknown child, param or computed name too")
        func callsAreChecked() async throws {
            let p = Project()
            let call = { (child: String, extra: String) in
                "tasks:\n  call:\n    uses: workflow\n    with:\n      workflow: \(child)\n\(extra)"
            }
            try p.workflow("a", call("b", ""))
            try p.workflow("b", "tasks:\n  first:\n    run: \"true\"\n" + call("c", "").replacingOccurrences(of: "tasks:\n", with: ""))
            try p.workflow("c", call("a", ""))
            let cycle = try await p.flow("validate", "a")
            #expect(cycle.status == 65 && cycle.stderr.contains("error: workflow cycle: a -> b -> c -> a"), "\(cycle.stderr)")
            #expect(cycle.stderr.contains("c.yaml:5:17"), "the call that closes the cycle, at file:line:col: \(cycle.stderr)")
            let run = try await p.flow("run", "a")
            #expect(run.status == 65 && !p.dir.exists(".flow/logs"), "nothing runs")
            try p.workflow("c", "params:\n  day: \"1\"\ntasks:\n  t:\n    run: \"true\"\n")
            try p.workflow("d", call("nosuch", ""))
            let unknown = try await p.flow("validate", "d")
            #expect(unknown.status == 65 && unknown.stderr.contains("runs workflow 'nosuch', which is not in"), "\(unknown.stderr)")
            try p.workflow("e", call("c", "      params:\n        dya: x\n"))
            let param = try await p.flow("validate", "e")
            #expect(param.status == 65 && param.stderr.contains("workflow 'c' has no parameter 'dya'") && param.stderr.contains("did you mean 'day'?"),
                    "\(param.stderr)")
            try p.workflow("f", call("${{ params.w }}", "").replacingOccurrences(of: "tasks:", with: "params:\n  w: c\ntasks:"))
            let computed = try await p.flow("validate", "f")
            #expect(computed.status == 65 && computed.stderr.contains("is written out, not computed"), "\(computed.stderr)")
            for hostile in ["../outside/x.yaml", "-p", "/etc/passwd", "a b"] {
                try p.workflow("g", call("'\(hostile)'", ""))
                let refused = try await p.flow("validate", "g")
                #expect(refused.status == 65 && refused.stderr.contains("is not a workflow name"), "\(hostile): \(refused.stderr)")
            }
            #expect(try await p.flow("run", "a").status == 0, "a -> b -> c is no cycle now")
        }
    }
}
