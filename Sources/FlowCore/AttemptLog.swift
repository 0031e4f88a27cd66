/// The log of one attempt, as an action sees it: a file that the attempt's processes write to directly (its
/// `path`), and that flow and in-process actions append lines to. The process module owns the real one.
package protocol AttemptLog: Sendable {
    var path: String { get }
    /// Appends `line` (a newline is added if missing) as one write, so lines of concurrent writers never mix.
    func write(_ line: String)
}
