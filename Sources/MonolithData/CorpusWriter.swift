import MonolithKernels

extension DocumentCorpus {
    /// What to write for one document.
    public enum Output {
        /// Nothing (removed).
        case drop
        /// The record exactly as read (other JSONL fields and formatting preserved).
        case verbatim
        /// Pieces of the text (byte ranges of `text`), one output record each. For JSONL each piece
        /// replaces the text field's value in a copy of the original line, so other fields survive.
        case pieces([Range<Int>])
    }

    /// Writes the documents in input order, in the input format, to `path` (atomically).
    /// Returns the number of records written.
    @discardableResult
    public func write(to path: String, output: (Int) -> Output) throws -> Int {
        let file = try FileWriter(path: path, bufferSize: 4 << 20)
        var written = 0
        var line: [UInt8] = []
        for (i, doc) in documents.enumerated() {
            switch output(i) {
            case .drop:
                continue
            case .verbatim:
                try doc.record.withUnsafeBytes { try file.write($0) }
                try file.write([0x0A])
                written += 1
            case let .pieces(ranges):
                for r in ranges {
                    line.removeAll(keepingCapacity: true)
                    let piece = doc.text[(doc.text.startIndex + r.lowerBound)..<(doc.text.startIndex + r.upperBound)]
                    if let value = doc.valueRange {
                        let start = doc.record.startIndex
                        line += doc.record[start..<(start + value.lowerBound)]
                        piece.withUnsafeBufferPointer { JSONString.appendQuoted($0, to: &line) }
                        line += doc.record[(start + value.upperBound)...]
                    } else {
                        line += piece
                    }
                    line.append(0x0A)
                    try file.write(line)
                    written += 1
                }
            }
        }
        try file.commit()
        return written
    }
}
