/// Settings of `monolith data decontaminate`, after GPT-3 (Brown et al. 2020, appendix C) and
/// MT-NLG: training documents sharing an n-gram with evaluation data are cut around it.
public struct DecontaminationConfig: Codable, Sendable, Equatable {
    /// Words per n-gram (lowercased words, punctuation ignored; GPT-3 and MT-NLG used 13).
    public var ngram: Int = 13
    /// Characters removed on each side of a matching n-gram (GPT-3: 200).
    public var window: Int = 200
    /// Pieces shorter than this many characters are dropped (GPT-3: 200).
    public var minimumPieceLength: Int = 200
    /// A document with more than this many contaminated regions is dropped whole (GPT-3: split
    /// into more than 10 pieces; here regions are counted after merging overlapping windows).
    public var maximumSplits: Int = 10

    /// GPT-3's settings.
    public init() {}

    /// Checks the values.
    public func validate() throws {
        guard ngram >= 1 else { throw DataError.invalidArgument("--ngram must be at least 1, got \(ngram)") }
        guard window >= 0, minimumPieceLength >= 0, maximumSplits >= 0 else {
            throw DataError.invalidArgument("window, minimum piece length and maximum splits must not be negative")
        }
    }
}

/// What decontamination did to each affected document, and the totals.
public struct DecontaminationResult: Codable, Sendable {
    /// A document that shared at least one n-gram with the tasks.
    public struct Affected: Codable, Sendable {
        /// Index among the corpus's valid documents.
        public var document: Int
        /// `path:line`.
        public var location: String
        /// `split` (pieces kept), `dropped: too many splits`, or `dropped: all pieces too short`.
        public var action: String
        /// Contaminated regions (merged removal windows).
        public var regions: Int
        /// The first matching n-gram, as it appears in the document.
        public var firstMatch: String
        /// Characters removed, short pieces included.
        public var charactersRemoved: Int
        /// Pieces written.
        public var piecesKept: Int
    }

    /// N-grams collected from the task files.
    public var taskNgrams = 0
    /// Task items shorter than one n-gram (they cannot match and are ignored).
    public var shortTaskItems = 0
    /// Valid documents examined.
    public var documents = 0
    /// Documents without any match, written unchanged.
    public var unchanged = 0
    /// Documents cut into pieces.
    public var split = 0
    /// Documents dropped whole.
    public var dropped = 0
    /// Pieces written for split documents.
    public var piecesWritten = 0
    /// Characters removed from the corpus.
    public var charactersRemoved = 0
    /// Every affected document.
    public var affected: [Affected] = []
    /// Per valid document, the byte ranges of its text to write (one range: unchanged).
    public var pieces: [[Range<Int>]] = []
}
