/// The name of a task inside a workflow: `[a-z][a-z0-9_-]*`.
package struct TaskID: Sendable, Hashable, Comparable, CustomStringConvertible, Codable {
    package let rawValue: String

    package init(_ rawValue: String) { self.rawValue = rawValue }

    package var description: String { rawValue }

    /// A matrix instance's id, `backfill[symbol=MGC,tf=1m]`: made by flow from a task id and values.
    package static func instance(of group: TaskID, _ values: [(name: String, value: String)]) -> TaskID {
        TaskID(group.rawValue + "[" + values.map { "\($0.name)=\($0.value)" }.joined(separator: ",") + "]")
    }

    /// `symbol=MGC,tf=1m` of a matrix instance's id; nil for a task of its own.
    package var instanceKey: String? {
        // A byte compare first: every progress line asks, and almost every task is no instance.
        guard rawValue.utf8.last == UInt8(ascii: "]"), let open = rawValue.firstIndex(of: "[") else { return nil }
        return String(rawValue[rawValue.index(after: open)..<rawValue.index(before: rawValue.endIndex)])
    }

    /// Whether this is an instance of the matrix or foreach task `group`.
    package func isInstance(of group: TaskID) -> Bool { rawValue.hasPrefix(group.rawValue + "[") }

    /// The instances of this (matrix or foreach) task among `ids`, sorted: how a run's task states show a
    /// task the workflow file names once.
    package func instances(among ids: some Sequence<TaskID>) -> [TaskID] {
        ids.filter { $0.isInstance(of: self) }.sorted()
    }

    /// How output shows a task: a matrix instance as `backfill (symbol=MGC, tf=1m)`.
    package var displayName: String {
        guard rawValue.utf8.last == UInt8(ascii: "]"), let key = instanceKey, let open = rawValue.firstIndex(of: "[") else { return rawValue }
        return String(rawValue[..<open]) + " (" + key.split(separator: ",").joined(separator: ", ") + ")"
    }

    package static func < (lhs: TaskID, rhs: TaskID) -> Bool { lhs.rawValue < rhs.rawValue }

    package init(from decoder: any Decoder) throws {
        rawValue = try decoder.singleValueContainer().decode(String.self)
    }

    package func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }

    /// Whether `name` is a valid task id; kept strict so ids are safe in file names and log paths.
    /// A task id, or a matrix instance's (`backfill[symbol=MGC]`): what a command line may name.
    package static func isValidReference(_ name: String) -> Bool {
        guard name.hasSuffix("]"), let open = name.firstIndex(of: "[") else { return isValid(name) }
        let key = name[name.index(after: open)..<name.index(before: name.endIndex)]
        return isValid(String(name[..<open])) && !key.isEmpty && key.utf8.count <= 4096
            && !key.unicodeScalars.contains { $0 == "/" || $0.properties.generalCategory == .control }
    }

    package static func isValid(_ name: String) -> Bool {
        guard let first = name.utf8.first, (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(first) else { return false }
        guard name.utf8.count <= 64 else { return false }
        return name.utf8.allSatisfy { byte in
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
                || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-")
        }
    }
}

/// The identifier of a run in the state database.
package typealias RunID = Int64
