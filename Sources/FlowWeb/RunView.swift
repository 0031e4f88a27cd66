import FlowCore
import FlowStore
import Foundation

/// One run as the pages show it: its record, each task with its state and needs (from the workflow file as it
/// is now; a task the file no longer has is shown without edges), and every attempt.
package struct RunView: Sendable {
    package struct TaskRow: Sendable {
        package var id: TaskID
        package var status: TaskStatus
        package var needs: [TaskID]
        package var attempts: Int
        package var reason: String?
        package var startedAt: Date?
        package var finishedAt: Date?
        package var outputs: [String: String]
    }

    package var run: RunRecord
    package var tasks: [TaskRow]
    /// The child runs its `uses: workflow` tasks started: (task, run, workflow).
    package var children: [(task: TaskID, run: RunID, workflow: String)] = []
    /// In the order they started.
    package var attempts: [AttemptRecord]

    /// `needs` by task id, from the workflow file (empty when it cannot be loaded); `order`: the file's task order.
    package init(run: RunRecord, states: [TaskID: TaskStateRecord], attempts: [AttemptRecord], needs: [TaskID: [TaskID]], order: [TaskID]) {
        self.run = run
        self.attempts = attempts.sorted { ($0.startedAt, $0.id) < ($1.startedAt, $1.id) }
        var ids = order.filter { states[$0] != nil || needs[$0] != nil }
        // A set, not `ids.contains`: a 10,000-task run made that 50 million comparisons.
        let listed = Set(ids)
        for id in states.keys.sorted() where !listed.contains(id) { ids.append(id) }
        tasks = ids.map { id in
            let state = states[id]
            return TaskRow(id: id, status: state?.status ?? .pending, needs: (needs[id] ?? []).filter { states[$0] != nil || needs[$0] != nil },
                           attempts: state?.attempts ?? 0, reason: state?.reason, startedAt: state?.startedAt,
                           finishedAt: state?.finishedAt, outputs: state?.outputs ?? [:])
        }
    }

    /// Tasks by status, for the summary line.
    package var counts: [(TaskStatus, Int)] {
        var counts: [TaskStatus: Int] = [:]
        for task in tasks { counts[task.status, default: 0] += 1 }
        return TaskStatus.allCases.compactMap { status in counts[status].map { (status, $0) } }
    }

    /// The task that failed the run first, if one did.
    package var failingTask: TaskRow? {
        tasks.filter { $0.status == .failed || $0.status == .timedOut }.min { ($0.finishedAt ?? .distantFuture) < ($1.finishedAt ?? .distantFuture) }
    }
}

/// A layered drawing of a task graph: each task in the column after its deepest need (longest path), rows in
/// file order within a column. Linear in tasks and edges, so a 10,000-task run lays out in milliseconds.
package struct GraphLayout: Sendable {
    package struct Node: Sendable {
        package var index: Int
        package var column: Int
        package var row: Int
    }

    package var nodes: [Node]
    package var edges: [(from: Int, to: Int)]
    package var columns: Int
    package var rows: Int

    package init(ids: [TaskID], needs: [[TaskID]]) {
        var position: [TaskID: Int] = [:]
        for (i, id) in ids.enumerated() { position[id] = i }
        var edges: [(from: Int, to: Int)] = []
        var dependencies = [[Int]](repeating: [], count: ids.count)
        var dependents = [[Int]](repeating: [], count: ids.count)
        for (i, list) in needs.enumerated() {
            for need in list {
                guard let j = position[need], j != i else { continue }
                edges.append((j, i))
                dependencies[i].append(j)
                dependents[j].append(i)
            }
        }
        // Kahn's order; a cycle (a file edited into one) leaves its tasks in column 0.
        var remaining = dependencies.map(\.count)
        var queue = (0..<ids.count).filter { remaining[$0] == 0 }
        var column = [Int](repeating: 0, count: ids.count)
        var head = 0
        while head < queue.count {
            let i = queue[head]
            head += 1
            for d in dependents[i] {
                column[d] = max(column[d], column[i] + 1)
                remaining[d] -= 1
                if remaining[d] == 0 { queue.append(d) }
            }
        }
        var rowsUsed: [Int: Int] = [:]
        var nodes: [Node] = []
        nodes.reserveCapacity(ids.count)
        for i in ids.indices {
            let row = rowsUsed[column[i], default: 0]
            rowsUsed[column[i]] = row + 1
            nodes.append(Node(index: i, column: column[i], row: row))
        }
        self.nodes = nodes
        self.edges = edges
        columns = (column.max() ?? 0) + 1
        rows = rowsUsed.values.max() ?? 0
    }
}
