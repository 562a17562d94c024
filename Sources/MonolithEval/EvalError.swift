/// A problem with an evaluation's input or run: a task file, a data record, a request that does
/// not fit the model. The message names the file and line (or the option) and says what was
/// expected, e.g. `piqa_valid.sample.jsonl:12: field "sol2": expected a string, got 3`.
public struct EvalError: Error, CustomStringConvertible, Sendable {
    public let description: String

    /// An error with a complete message.
    public init(_ description: String) { self.description = description }

    /// An error located at `file` (and `line`, 1-based, when known).
    public init(file: String, line: Int? = nil, _ message: String) {
        description = file + (line.map { ":\($0)" } ?? "") + ": " + message
    }
}
