/// A malformed, unsupported or unreadable GGUF file, or a bad request to the writer.
///
/// The message names the file, the byte offset where the problem was found (when there is one)
/// and the field, key or tensor involved, e.g.
/// `model.gguf: byte 4: unsupported GGUF version 4 (this reader reads versions 2 and 3)`.
public struct GGUFError: Error, CustomStringConvertible, Sendable {
    /// The file the error is about.
    public let path: String
    /// Absolute byte offset in the file where the problem was found, if it is about a position.
    public let offset: Int?
    /// What is wrong, naming the field, key or tensor.
    public let message: String

    /// An error about `path`, at byte `offset` if given.
    public init(_ path: String, offset: Int? = nil, _ message: String) {
        self.path = path
        self.offset = offset
        self.message = message
    }

    /// `path: byte offset: message`, or `path: message` without an offset.
    public var description: String {
        if let offset { return "\(path): byte \(offset): \(message)" }
        return "\(path): \(message)"
    }
}
