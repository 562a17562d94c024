/// Settings of `monolith data preprocess`: text or JSONL in, a Megatron `.bin/.idx` pair out.
public struct PreprocessConfig: Codable, Sendable, Equatable {
    /// Input files: `.jsonl`/`.json`/`.ndjson` are JSONL (one document per line), anything else text.
    public var inputs: [String]
    /// Output path prefix; writes `PREFIX.bin` and `PREFIX.idx`.
    public var outputPrefix: String
    /// The JSONL field holding each document's text.
    public var jsonKey: String = "text"
    /// Treat each line of a text file as one document (default: one document per file).
    public var splitLines: Bool = false
    /// Append the tokenizer's end-of-document id to every document (Megatron's `--append-eod`),
    /// which GPT training needs to see document boundaries in its concatenated samples.
    public var appendEOD: Bool = false
    /// Threads that tokenize (`nil`: the shared worker pool's size).
    public var workers: Int? = nil
    /// Stop at the first bad document instead of skipping it.
    public var strict: Bool = false
    /// Replace invalid UTF-8 bytes by U+FFFD instead of skipping the document.
    public var repairUTF8: Bool = false
    /// Bytes of input per pipeline batch: large enough to amortize dispatch, small enough that
    /// reading, tokenizing and writing overlap.
    public var batchBytes: Int = 1 << 20
    /// Issues of each kind printed before only counting.
    public var maxReports: Int = 20
    /// Print progress lines on standard error.
    public var progress: Bool = true

    /// A configuration for `inputs` → `outputPrefix`, other fields at their defaults.
    public init(inputs: [String], outputPrefix: String) {
        self.inputs = inputs
        self.outputPrefix = outputPrefix
    }

    /// Checks the values before any file is touched.
    public func validate() throws {
        guard !inputs.isEmpty else { throw DataError.invalidArgument("preprocess needs at least one --input file") }
        guard !outputPrefix.isEmpty else { throw DataError.invalidArgument("--output must name a path prefix") }
        guard !outputPrefix.hasSuffix(".bin") && !outputPrefix.hasSuffix(".idx") else {
            throw DataError.invalidArgument("--output is a prefix: '\(outputPrefix)' would write '\(outputPrefix).bin'; drop the extension")
        }
        guard !jsonKey.isEmpty else { throw DataError.invalidArgument("--json-key must not be empty") }
        if let w = workers, w < 1 { throw DataError.invalidArgument("--workers must be at least 1, got \(w)") }
        guard batchBytes >= 1024 else { throw DataError.invalidArgument("batchBytes must be at least 1024") }
        guard maxReports >= 0 else { throw DataError.invalidArgument("maxReports must not be negative") }
    }
}

/// What a preprocessing run did; every input document is either written or counted in `skipped`.
public struct PreprocessSummary: Codable, Sendable, Equatable {
    /// Input files read.
    public var files = 0
    /// Documents found in the input (written + skipped).
    public var documentsIn = 0
    /// Documents written.
    public var documentsOut = 0
    /// Tokens written (end-of-document ids included).
    public var tokens: Int64 = 0
    /// Input bytes processed.
    public var bytes: Int64 = 0
    /// Skipped documents per issue kind (raw value of `InputIssueKind`).
    public var skipped: [String: Int] = [:]
    /// Documents whose invalid UTF-8 was replaced (with `repairUTF8`).
    public var repaired = 0
    /// Token dtype of the output.
    public var dtype: TokenDType = .uint16
    /// Wall-clock seconds.
    public var seconds = 0.0

    /// Human-readable lines for the end of a run.
    public func lines(prefix: String) -> [String] {
        var out = [
            "wrote \(prefix).bin and \(prefix).idx (\(dtype) tokens)",
            "  documents in: \(documentsIn), out: \(documentsOut), skipped: \(skipped.values.reduce(0, +))",
            "  tokens: \(tokens) (\(ProgressMeter.format(Double(tokens) / Double(max(documentsOut, 1)), 1)) per document)",
            "  input: \(ProgressMeter.format(Double(bytes) / 1e6, 2)) MB from \(files) file\(files == 1 ? "" : "s") in "
                + "\(ProgressMeter.format(seconds, 2)) s = \(ProgressMeter.format(Double(bytes) / 1e6 / max(seconds, 1e-9), 2)) MB/s, "
                + "\(ProgressMeter.format(Double(documentsIn) / max(seconds, 1e-9), 0)) docs/s",
        ]
        for kind in InputIssueKind.allCases {
            if let n = skipped[kind.rawValue], n > 0 { out.append("  skipped \(n): \(kind.rawValue)") }
        }
        if repaired > 0 { out.append("  repaired invalid UTF-8 in \(repaired) documents (U+FFFD)") }
        return out
    }
}
