import FlowCore
import FlowSpec
import FlowTasks
import MarketData
import Testing

@Suite("matrix expansion")
struct MatrixTests {
    let loader = WorkflowLoaderTests()

    @Test("include and exclude follow GitHub Actions' rules (the example in its documentation)")
    func githubExample() throws {
        let wf = try loader.load("""
            tasks:
              t:
                matrix:
                  fruit: [apple, pear]
                  animal: [cat, dog]
                  include:
                    - color: green
                    - color: pink
                      animal: cat
                    - fruit: apple
                      shape: circle
                    - fruit: banana
                    - fruit: banana
                      animal: cat
                run: "true"
            """)
        #expect(wf.tasks.map(\.id.rawValue) == [
            "t[fruit=apple,animal=cat,color=pink,shape=circle]", "t[fruit=apple,animal=dog,color=green,shape=circle]",
            "t[fruit=pear,animal=cat,color=pink]", "t[fruit=pear,animal=dog,color=green]",
            "t[fruit=banana]", "t[fruit=banana,animal=cat]",
        ])
        #expect(wf.tasks.allSatisfy { $0.group == TaskID("t") })
    }

    @Test("matrix values become literals per instance; needs on the matrix task wait for every instance")
    func substitution() throws {
        let wf = try loader.load("""
            tasks:
              prep:
                run: "true"
              b:
                needs: [prep]
                matrix:
                  s: [x, y]
                  exclude: [{ s: y }]
                  include: [{ s: z }]
                max_parallel: 1
                env: { S: "got ${{ matrix.s }}", P: "${{ tasks.prep.outputs.k }}" }
                if: ${{ matrix.s != 'never' }}
                run: echo "$S"
              c:
                needs: [b]
                env: { ALL: "${{ tasks.b.outputs.n }}" }
                run: echo "$ALL"
            """)
        #expect(wf.tasks.map(\.id.rawValue) == ["prep", "b[s=x]", "b[s=z]", "c"])
        let scope = EvaluationScope(params: [:], outputs: [TaskID("prep"): ["k": "v"], TaskID("b[s=x]"): ["n": "1"]])
        let x = try #require(wf.task(TaskID("b[s=x]")))
        #expect(x.env.first { $0.name == "S" }?.value.render(in: scope) == "got x")
        #expect(x.condition?.evaluate(in: scope).isTruthy == true && x.groupMaxParallel == 1 && x.needs == [TaskID("prep")])
        let c = try #require(wf.task(TaskID("c")))
        #expect(c.needs == [TaskID("b[s=x]"), TaskID("b[s=z]")])
        #expect(c.env.first?.value.render(in: scope) == #"{"s=x":"1","s=z":null}"#, "an instance without the output is null")
        #expect(c.outputDependencies == [TaskID("b[s=x]"), TaskID("b[s=z]")])
    }

    @Test("display names and instance keys")
    func names() {
        let id = TaskID.instance(of: TaskID("backfill"), [("symbol", "MGC"), ("tf", "1m")])
        #expect(id.rawValue == "backfill[symbol=MGC,tf=1m]" && id.instanceKey == "symbol=MGC,tf=1m")
        #expect(id.displayName == "backfill (symbol=MGC, tf=1m)" && TaskID("plain").displayName == "plain")
        #expect(TaskID.isValidReference(id.rawValue) && !TaskID.isValidReference("x[a/b]") && !TaskID.isValidReference("X[a=1]"))
    }
}
