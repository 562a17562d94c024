/// What deduplication decided: which documents stay, and the clusters it removed.
public struct DedupResult: Codable, Sendable {
    /// A document of a duplicate cluster.
    public struct Member: Codable, Sendable, Equatable {
        /// Index among the corpus's valid documents.
        public var document: Int
        /// `path:line`.
        public var location: String
        /// The document it was matched with (for the kept document, itself).
        public var matchedWith: Int
        /// Similarity of that match: 1 for exact duplicates, else the verified Jaccard similarity.
        public var similarity: Double
        /// MinHash estimate of the Jaccard similarity to the cluster's kept document (fuzzy only).
        public var estimatedSimilarityToKept: Double?
    }

    /// A set of duplicates: the first in input order is kept.
    public struct Cluster: Codable, Sendable {
        /// `exact` (same normalized text) or `fuzzy` (near-duplicates, possibly with exact ones).
        public var kind: String
        /// The kept document.
        public var kept: Member
        /// The removed documents.
        public var removed: [Member]
    }

    /// Valid documents examined.
    public var documents = 0
    /// Documents kept.
    public var kept = 0
    /// Removed as exact duplicates (same lowercased words).
    public var exactRemoved = 0
    /// Removed as near-duplicates.
    public var fuzzyRemoved = 0
    /// Distinct candidate pairs from LSH that were verified.
    public var candidatePairs = 0
    /// Candidate pairs at or above the threshold.
    public var confirmedPairs = 0
    /// The LSH banding used.
    public var banding: LSHParameters?
    /// The clusters, ordered by their kept document.
    public var clusters: [Cluster] = []
    /// Per valid document: kept or not.
    public var keep: [Bool] = []
}
