/// One valid document of a `DocumentCorpus`.
public struct CorpusDocument: Sendable {
    /// The text (UTF-8).
    public var text: ArraySlice<UInt8>
    /// The document's bytes as they sit in the input (a JSONL line or a text line), without newline.
    public var record: ArraySlice<UInt8>
    /// For JSONL, the span of the text's string literal in `record` (offsets from its first byte).
    public var valueRange: Range<Int>?
    /// Index of the input file.
    public var file: Int
    /// 1-based line in that file.
    public var line: Int
}

/// All documents of a set of line-oriented inputs, loaded for whole-corpus passes (dedup,
/// decontamination) that must see every document before writing any.
///
/// Inputs are JSONL (one document per line, text in `jsonKey`) or text files read one document
/// per line; all inputs must share one of the two formats so the output can use it too. Invalid
/// documents are skipped and counted in `log` exactly as in preprocessing.
public final class DocumentCorpus {
    /// Input paths.
    public let paths: [String]
    /// The common format of the inputs.
    public let format: InputFormat
    /// The valid documents, in input order.
    public private(set) var documents: [CorpusDocument] = []
    /// Skipped documents.
    public let log: IssueLog
    /// Documents found (valid + skipped).
    public private(set) var documentsIn = 0
    /// Input bytes.
    public private(set) var bytes = 0

    /// Reads `paths`. Throws for unreadable files, mixed formats, or (with `strict`) bad documents.
    public init(paths: [String], jsonKey: String = "text", strict: Bool = false, repairUTF8: Bool = false,
                maxReports: Int = 20, progressLabel: String? = nil) throws {
        guard !paths.isEmpty else { throw DataError.invalidArgument("no input files") }
        let formats = Set(paths.map(InputFormat.of))
        guard formats.count == 1 else {
            throw DataError.invalidArgument("inputs mix JSONL and text files; the output keeps the input format, so use one kind")
        }
        self.paths = paths
        format = formats.first!
        log = IssueLog(strict: strict, maxReports: maxReports)
        let decoder = DocumentDecoder(key: jsonKey, repairUTF8: repairUTF8, paths: paths)
        let meter = ProgressMeter(label: progressLabel ?? "read", enabled: progressLabel != nil)
        try DocumentReader.read(files: paths, splitLines: true) { batch in
            for doc in batch {
                documentsIn += 1
                bytes += doc.range.count + 1
                switch decoder.decode(doc) {
                case let .text(text, record, valueRange, _):
                    documents.append(CorpusDocument(text: text, record: record, valueRange: valueRange, file: doc.file, line: doc.line))
                case let .skip(issue):
                    try log.record(issue)
                }
            }
            meter.update(documents: documentsIn, bytes: bytes)
            return true
        }
        meter.finish()
    }

    /// `"path:line"` of document `i`.
    public func location(_ i: Int) -> String { "\(paths[documents[i].file]):\(documents[i].line)" }
}
