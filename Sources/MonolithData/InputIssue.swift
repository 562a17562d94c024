#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Why an input document was skipped (or, with `--strict`, rejected).
public enum InputIssueKind: String, Sendable, Codable, CaseIterable {
    /// Bytes that are not UTF-8; the offset points at the first bad byte.
    case invalidUTF8 = "invalid UTF-8"
    /// A JSONL line that is not one JSON object.
    case malformedJSON = "malformed JSON"
    /// A JSON object without the text field, or with a non-string one.
    case missingField = "missing text field"
    /// A document with no text (empty or whitespace only), blank JSONL lines included.
    case emptyDocument = "empty document"
}

/// One problem with one input document, located precisely enough to open the file at it.
public struct InputIssue: Sendable, Codable, Equatable, CustomStringConvertible {
    /// What is wrong.
    public var kind: InputIssueKind
    /// The file.
    public var path: String
    /// 1-based line, or 0 when the document is a whole file.
    public var line: Int
    /// Byte offset in the file of the offending byte (or of the document's start).
    public var byteOffset: Int
    /// Details.
    public var detail: String

    public var description: String {
        let place = line > 0 ? "\(path):\(line) (byte \(byteOffset))" : "\(path) (byte \(byteOffset))"
        return "\(place): \(kind.rawValue)\(detail.isEmpty ? "" : ": " + detail)"
    }
}

/// Counts every skipped document and prints the first few of each kind to standard error, so a
/// corpus with a million blank lines neither floods the log nor hides anything in the summary.
public final class IssueLog {
    /// Documents skipped, per kind.
    public private(set) var counts: [InputIssueKind: Int] = [:]
    /// The first `maxReports` issues of each kind.
    public private(set) var reported: [InputIssue] = []
    /// Whether the first issue is fatal.
    public let strict: Bool
    /// How many issues of each kind are printed.
    public let maxReports: Int
    private let printer: (String) -> Void

    /// A log that prints through `printer` (standard error by default).
    public init(strict: Bool, maxReports: Int = 20, printer: @escaping (String) -> Void = { printError($0) }) {
        self.strict = strict
        self.maxReports = maxReports
        self.printer = printer
    }

    /// Total skipped documents.
    public var total: Int { counts.values.reduce(0, +) }

    /// Records `issue`; throws `DataError.badInput` when the log is strict.
    public func record(_ issue: InputIssue) throws {
        if strict {
            let place = issue.line > 0 ? "line \(issue.line), byte \(issue.byteOffset)" : "byte \(issue.byteOffset)"
            throw DataError.badInput(path: issue.path, location: place,
                                     message: "\(issue.kind.rawValue)\(issue.detail.isEmpty ? "" : ": " + issue.detail) (rejected by --strict)")
        }
        let n = counts[issue.kind, default: 0]
        counts[issue.kind] = n + 1
        if n < maxReports {
            reported.append(issue)
            printer("skipped: \(issue)")
            if n + 1 == maxReports { printer("(further '\(issue.kind.rawValue)' skips are counted, not printed)") }
        }
    }

    /// One line per kind with a count, for the final summary.
    public func summaryLines() -> [String] {
        InputIssueKind.allCases.compactMap { kind in
            guard let n = counts[kind], n > 0 else { return nil }
            return "  skipped \(n) document\(n == 1 ? "" : "s"): \(kind.rawValue)"
        }
    }
}

/// Writes a line to standard error.
public func printError(_ line: String) {
    var text = line + "\n"
    text.withUTF8 { bytes in _ = write(2, bytes.baseAddress, bytes.count) }
}
