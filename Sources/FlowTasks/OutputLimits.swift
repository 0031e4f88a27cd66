import FlowCore

/// Bounds on what a task hands back through `$FLOW_OUTPUT` and `$FLOW_CHECKPOINT`, so that a runaway task can
/// neither fill flow's memory nor wedge itself: checkpoint values come back to the task as environment
/// variables, and Linux refuses an `exec` whose one variable exceeds 128 KiB or whose whole environment is too
/// large (E2BIG) — a checkpoint past those would fail every retry and resume.
///
/// Defaults; each can be set by an environment variable of flow (bytes, or with K/M suffix):
/// `FLOW_MAX_OUTPUT_VALUE`, `FLOW_MAX_OUTPUT_BYTES`, `FLOW_MAX_CHECKPOINT_VALUE`, `FLOW_MAX_CHECKPOINT_BYTES`,
/// `FLOW_MAX_CHECKPOINT_KEYS`.
package struct OutputLimits: Sendable, Equatable {
    /// One `$FLOW_OUTPUT` value.
    package var outputValue = 1 << 20
    /// The whole `$FLOW_OUTPUT` file of one attempt.
    package var outputFile = 10 << 20
    /// One checkpoint value (it becomes one environment variable).
    package var checkpointValue = 64 << 10
    /// A task's whole checkpoint, keys and values (all of it becomes environment variables).
    package var checkpointTotal = 512 << 10
    /// Keys in a task's checkpoint.
    package var checkpointKeys = 1_000

    package init() {}

    package static func fromEnvironment() -> OutputLimits {
        var limits = OutputLimits()
        func read(_ name: String, _ keyPath: WritableKeyPath<OutputLimits, Int>, cap: Int) {
            guard let text = HostEnvironment.value(name), let n = bytes(text), n > 0 else { return }
            limits[keyPath: keyPath] = min(n, cap)
        }
        read("FLOW_MAX_OUTPUT_VALUE", \.outputValue, cap: 1 << 30)
        read("FLOW_MAX_OUTPUT_BYTES", \.outputFile, cap: 1 << 30)
        read("FLOW_MAX_CHECKPOINT_VALUE", \.checkpointValue, cap: 120 << 10)
        read("FLOW_MAX_CHECKPOINT_BYTES", \.checkpointTotal, cap: 1 << 20)
        read("FLOW_MAX_CHECKPOINT_KEYS", \.checkpointKeys, cap: 100_000)
        return limits
    }

    /// `4096`, `64K`, `1M`.
    static func bytes(_ text: String) -> Int? {
        let upper = text.uppercased()
        if upper.hasSuffix("K"), let n = Int(upper.dropLast()) { return n << 10 }
        if upper.hasSuffix("M"), let n = Int(upper.dropLast()) { return n << 20 }
        return Int(upper)
    }

    static func size(_ n: Int) -> String {
        n >= 1 << 20 && n % (1 << 20) == 0 ? "\(n >> 20) MiB" : n >= 1 << 10 && n % (1 << 10) == 0 ? "\(n >> 10) KiB" : "\(n) bytes"
    }
}
