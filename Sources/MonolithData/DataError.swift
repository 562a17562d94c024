/// Errors of the data pipeline. Every case names the file it concerns, so a message read in a
/// training log points straight at the input to fix.
public enum DataError: Error, CustomStringConvertible, Equatable {
    /// A file could not be opened, read, written or renamed.
    case io(path: String, message: String)
    /// A `.bin`/`.idx` pair (or a cached index) is internally inconsistent or truncated.
    case corrupt(path: String, message: String)
    /// Input text that the pipeline was told to reject (`--strict`), with its location.
    case badInput(path: String, location: String, message: String)
    /// A configuration value or argument that cannot work.
    case invalidArgument(String)

    public var description: String {
        switch self {
        case let .io(path, message): return "\(path): \(message)"
        case let .corrupt(path, message): return "\(path): corrupt or truncated: \(message)"
        case let .badInput(path, location, message): return "\(path):\(location): \(message)"
        case let .invalidArgument(message): return message
        }
    }
}
