/// The dependency graph of a workflow by task index: topological order, cycles, reachability.
///
/// It lives in FlowCore because both the validator (FlowSpec, for cycle errors) and the planner
/// (FlowPlan) need it, and neither may import the other.
package struct TaskGraph: Sendable {
    /// `dependencies[i]`: the indices task `i` needs. Unknown names are left out.
    package let dependencies: [[Int]]
    /// `dependents[i]`: the indices that need task `i`.
    package let dependents: [[Int]]

    package var count: Int { dependencies.count }

    package init(_ workflow: Workflow) {
        var dependencies = [[Int]](repeating: [], count: workflow.tasks.count)
        var dependents = [[Int]](repeating: [], count: workflow.tasks.count)
        // lastNeededBy[j] == i: task i already listed j. One array for all tasks instead of a set per task.
        var lastNeededBy = [Int](repeating: -1, count: workflow.tasks.count)
        for (i, task) in workflow.tasks.enumerated() {
            dependencies[i].reserveCapacity(task.needs.count)
            for case let j? in workflow.needIndices[i] {
                guard j != i, lastNeededBy[j] != i else { continue }
                lastNeededBy[j] = i
                dependencies[i].append(j)
                dependents[j].append(i)
            }
        }
        self.dependencies = dependencies
        self.dependents = dependents
    }

    /// Kahn's algorithm; ties go to the task that comes first in the file. `nil` when there is a cycle.
    package func topologicalOrder() -> [Int]? {
        var remaining = dependencies.map(\.count)
        var ready = MinHeap()
        for i in 0..<count where remaining[i] == 0 { ready.push(i) }
        var order: [Int] = []
        order.reserveCapacity(count)
        while let i = ready.pop() {
            order.append(i)
            for d in dependents[i] {
                remaining[d] -= 1
                if remaining[d] == 0 { ready.push(d) }
            }
        }
        return order.count == count ? order : nil
    }

    /// One dependency cycle as a path `a -> b -> ... -> a` (first task repeated at the end), if any.
    package func findCycle() -> [Int]? {
        // 0 = unvisited, 1 = on the stack, 2 = done. Iterative so a 10,000-task chain cannot overflow the stack.
        var state = [UInt8](repeating: 0, count: count)
        for root in 0..<count where state[root] == 0 {
            var stack: [(node: Int, next: Int)] = [(root, 0)]
            state[root] = 1
            while let top = stack.last {
                let deps = dependencies[top.node]
                if top.next < deps.count {
                    stack[stack.count - 1].next += 1
                    let child = deps[top.next]
                    if state[child] == 1 {
                        let path = stack.map(\.node)
                        guard let start = path.firstIndex(of: child) else { return [child, child] }
                        return Array(path[start...]) + [child]
                    }
                    if state[child] == 0 {
                        state[child] = 1
                        stack.append((child, 0))
                    }
                } else {
                    state[top.node] = 2
                    stack.removeLast()
                }
            }
        }
        return nil
    }

    /// Every task that `index` transitively needs.
    package func upstream(of index: Int) -> Set<Int> { closure(from: index, edges: dependencies) }

    /// Every task that transitively needs `index`.
    package func downstream(of index: Int) -> Set<Int> { closure(from: index, edges: dependents) }

    private func closure(from index: Int, edges: [[Int]]) -> Set<Int> {
        var seen = Set<Int>()
        var stack = edges[index]
        while let next = stack.popLast() {
            if seen.insert(next).inserted { stack.append(contentsOf: edges[next]) }
        }
        return seen
    }
}

/// A binary min-heap of task indices: the ready queue, so the lowest file position starts first.
package struct MinHeap: Sendable {
    private var items: [Int] = []

    package init() {}

    package var isEmpty: Bool { items.isEmpty }
    package var count: Int { items.count }

    package mutating func push(_ value: Int) {
        items.append(value)
        var child = items.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard items[child] < items[parent] else { break }
            items.swapAt(child, parent)
            child = parent
        }
    }

    package mutating func pop() -> Int? {
        guard let first = items.first else { return nil }
        let last = items.removeLast()
        if !items.isEmpty {
            items[0] = last
            var parent = 0
            while true {
                let left = 2 * parent + 1, right = left + 1
                var smallest = parent
                if left < items.count, items[left] < items[smallest] { smallest = left }
                if right < items.count, items[right] < items[smallest] { smallest = right }
                if smallest == parent { break }
                items.swapAt(parent, smallest)
                parent = smallest
            }
        }
        return first
    }
}
