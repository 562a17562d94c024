/// An error reading tokenizer files or text, naming the file and, where it helps, the line.
///
/// ```
/// merges.txt:17: expected two tokens separated by one space, got "Ġt"
/// input.txt: invalid UTF-8 at byte offset 1234
/// ```
public struct TokenizerError: Error, CustomStringConvertible, Equatable {
    /// The file involved, as the user named it (nil for in-memory input).
    public let file: String?
    /// 1-based line number, for line-oriented files (merges, rank files) and JSON.
    public let line: Int?
    /// What is wrong.
    public let message: String

    /// An error about `file` (and `line`), or about in-memory input when `file` is nil.
    public init(file: String? = nil, line: Int? = nil, _ message: String) {
        self.file = file
        self.line = line
        self.message = message
    }

    /// `file:line: message`, `file: message`, or the message alone.
    public var description: String {
        switch (file, line) {
        case let (f?, l?): return "\(f):\(l): \(message)"
        case let (f?, nil): return "\(f): \(message)"
        default: return message
        }
    }
}
