import FlowCore
import Foundation

/// Turns a foreach task's list — known once the upstream outputs it reads exist — into items. A run goes in
/// parts: the tasks that wait for no list, then each foreach whose upstream has ended becomes its instances
/// (the workflow is loaded again from the text the run started with) and the run goes on, a resume of itself.
enum ForeachExpansion {
    /// The lists of the foreach tasks of `workflow` whose needs and read tasks all ended well (`ready`:
    /// succeeded or skipped), from `scope`'s outputs; or the first task whose list is not a JSON array of
    /// strings or objects.
    static func lists(in workflow: Workflow, ready: Set<TaskID>, scope: EvaluationScope)
        -> (lists: [TaskID: [ForeachItem]], failure: (task: TaskID, error: String)?) {
        var lists: [TaskID: [ForeachItem]] = [:]
        for task in workflow.tasks {
            guard let template = task.foreach else { continue }
            let reads = task.needs + template.references.flatMap(\.outputTasks)
            guard reads.allSatisfy(ready.contains) else { continue }
            switch items(template.render(in: scope)) {
            case .success(let items): lists[task.id] = items
            case .failure(let message):
                return (lists, (task.id, "foreach: \(template) \(message)"))
            }
        }
        return (lists, nil)
    }

    /// A JSON array of strings (numbers and booleans as their text) or flat objects; empty text is no items
    /// (an upstream task that was skipped left no output).
    static func items(_ text: String) -> Result<[ForeachItem], ForeachError> {
        if text.trimmingBlanks.isEmpty { return .success([]) }
        guard let json = try? JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed]),
              let array = json as? [Any] else {
            return .failure(ForeachError("is not a JSON array: '\(text.prefix(80))'"))
        }
        guard array.count <= ForeachItem.limit else {
            return .failure(ForeachError("has \(array.count) items, more than \(ForeachItem.limit)"))
        }
        var items: [ForeachItem] = []
        for (index, element) in array.enumerated() {
            if let scalar = scalarText(element) {
                items.append(.text(scalar))
            } else if let object = element as? [String: Any] {
                var fields: [String: String] = [:]
                for (key, value) in object {
                    guard let text = scalarText(value) else {
                        return .failure(ForeachError("item \(index) has a field '\(key.prefix(40))' that is not a string, number or boolean"))
                    }
                    fields[key] = text
                }
                items.append(.object(fields))
            } else {
                return .failure(ForeachError("item \(index) is not a string, number, boolean or object of those"))
            }
        }
        return .success(items)
    }

    private static func scalarText(_ value: Any) -> String? {
        if let text = value as? String { return text }
        if let number = value as? NSNumber {
            // JSON's true/false arrive as NSNumber too, of type "c" (a C char).
            if String(cString: number.objCType) == "c" { return number.boolValue ? "true" : "false" }
            return number.stringValue
        }
        return nil
    }
}

struct ForeachError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
