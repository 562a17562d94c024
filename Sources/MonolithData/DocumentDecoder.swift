/// Turns a `RawDocument` into its text bytes, or the reason it must be skipped.
public struct DocumentDecoder: Sendable {
    /// The JSONL field holding the text.
    public let key: [UInt8]
    /// Replace invalid UTF-8 by U+FFFD instead of skipping the document.
    public let repairUTF8: Bool
    /// Input paths, to name files in issues.
    public let paths: [String]

    /// A decoder for JSONL field `key` (documents of text files need no key).
    public init(key: String = "text", repairUTF8: Bool = false, paths: [String]) {
        self.key = Array(key.utf8)
        self.repairUTF8 = repairUTF8
        self.paths = paths
    }

    /// A decoded document, or the issue that skips it.
    public enum Outcome: Sendable {
        /// The UTF-8 `text`; `record` is the document's bytes in the file (a JSONL line, with
        /// invalid UTF-8 replaced when `repaired`) and `valueRange` the span of the JSON string
        /// literal holding the text, as offsets from the record's first byte (JSONL only), for
        /// tools that rewrite the text.
        case text(ArraySlice<UInt8>, record: ArraySlice<UInt8>, valueRange: Range<Int>?, repaired: Bool)
        case skip(InputIssue)
    }

    /// Decodes `doc`: validates UTF-8, parses JSON and rejects empty text.
    public func decode(_ doc: RawDocument) -> Outcome {
        let bytes = doc.chunk.bytes
        var repaired = false
        var raw = bytes[doc.range]
        let bad = raw.withUnsafeBufferPointer { UTF8Validation.firstInvalidOffset($0) }
        if let bad {
            let issue = InputIssue(kind: .invalidUTF8, path: paths[doc.file], line: doc.line,
                                   byteOffset: doc.fileOffset + bad,
                                   detail: "byte 0x" + String(bytes[doc.range.lowerBound + bad], radix: 16, uppercase: true))
            guard repairUTF8 else { return .skip(issue) }
            raw = ArraySlice(Array(String(decoding: raw, as: UTF8.self).utf8))
            repaired = true
        }
        let text: ArraySlice<UInt8>
        var valueRange: Range<Int>?
        switch doc.format {
        case .text:
            text = raw
        case .jsonl:
            if raw.withUnsafeBufferPointer({ UTF8Validation.isBlank($0) }) {
                return .skip(issue(.emptyDocument, doc, detail: "blank line"))
            }
            let result = raw.withUnsafeBufferPointer { JSONLine.extract(key: key, from: $0) }
            switch result {
            case let .string(decoded, range): text = ArraySlice(decoded); valueRange = range
            case .missingKey:
                return .skip(issue(.missingField, doc, detail: "no \"\(String(decoding: key, as: UTF8.self))\" field"))
            case let .notAString(kind):
                return .skip(issue(.missingField, doc, detail: "\"\(String(decoding: key, as: UTF8.self))\" is \(kind), not a string"))
            case let .malformed(message, offset):
                return .skip(InputIssue(kind: .malformedJSON, path: paths[doc.file], line: doc.line,
                                        byteOffset: doc.fileOffset + offset, detail: message))
            }
        }
        if text.withUnsafeBufferPointer({ UTF8Validation.isBlank($0) }) {
            return .skip(issue(.emptyDocument, doc, detail: text.isEmpty ? "" : "whitespace only"))
        }
        return .text(text, record: raw, valueRange: valueRange, repaired: repaired)
    }

    private func issue(_ kind: InputIssueKind, _ doc: RawDocument, detail: String) -> InputIssue {
        InputIssue(kind: kind, path: paths[doc.file], line: doc.line, byteOffset: doc.fileOffset, detail: detail)
    }
}
