/// Settings of `monolith data dedup`.
public struct DedupConfig: Codable, Sendable, Equatable {
    /// How candidate pairs are confirmed.
    public enum Verification: String, Codable, Sendable, CaseIterable {
        /// Exact Jaccard of the two shingle sets (recomputed from the texts): no estimator noise
        /// at the threshold, at the price of re-shingling both documents.
        case exact
        /// Fraction of equal MinHash values (σ ≈ √(J(1−J)/permutations) ≈ 0.035 at J = 0.8).
        case estimated
    }

    /// Remove documents whose normalized text (lowercased words) equals an earlier document's.
    public var exact: Bool = true
    /// Remove near-duplicates by MinHash + LSH.
    public var fuzzy: Bool = true
    /// Jaccard similarity of word-shingle sets at or above which two documents are duplicates
    /// (MT-NLG used 0.8).
    public var threshold: Double = 0.8
    /// Words per shingle.
    public var shingleSize: Int = 5
    /// MinHash permutations (a multiple of 8).
    public var permutations: Int = 128
    /// LSH banding; `nil` picks `LSHParameters.optimal` for the threshold.
    public var banding: LSHParameters? = nil
    /// How candidates are verified.
    public var verification: Verification = .exact
    /// Seed of the MinHash permutations.
    public var seed: UInt64 = 42
    /// At most this many earlier members of an LSH bucket are compared with each document, so a
    /// bucket of thousands of unrelated short texts cannot go quadratic.
    public var maxComparisonsPerBucket: Int = 16

    /// Defaults: exact then fuzzy at Jaccard 0.8, 5-word shingles, 128 permutations.
    public init() {}

    /// Checks the values.
    public func validate() throws {
        guard exact || fuzzy else { throw DataError.invalidArgument("dedup needs exact or fuzzy matching (or both)") }
        guard threshold > 0 && threshold <= 1 else { throw DataError.invalidArgument("--threshold must be in (0, 1], got \(threshold)") }
        guard shingleSize >= 1 else { throw DataError.invalidArgument("--shingle-size must be at least 1") }
        guard permutations >= 8 && permutations % 8 == 0 else {
            throw DataError.invalidArgument("--num-perm must be a positive multiple of 8, got \(permutations)")
        }
        if let b = banding {
            guard b.bands >= 1 && b.rows >= 1 && b.bands * b.rows <= permutations else {
                throw DataError.invalidArgument("\(b.bands) bands × \(b.rows) rows need more than the \(permutations) permutations")
            }
        }
        guard maxComparisonsPerBucket >= 1 else { throw DataError.invalidArgument("maxComparisonsPerBucket must be at least 1") }
    }

    /// The banding in use.
    public var effectiveBanding: LSHParameters {
        banding ?? LSHParameters.optimal(threshold: threshold, permutations: permutations)
    }
}
