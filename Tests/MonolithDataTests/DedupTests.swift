import Foundation
import MonolithKernels
import Testing
@testable import MonolithData

/// Deduplication on real text with planted near-duplicates of known similarity.
///
/// Targets (issue 4): recall ≥ 0.95 for planted pairs at Jaccard ≥ 0.85 and precision ≥ 0.95,
/// where a removal is correct if the removed document truly has Jaccard ≥ the 0.8 threshold with
/// the document it was matched to, by the independent reference implementation.
@Suite("Deduplication")
struct DedupTests {
    static let levels = [1.0, 0.95, 0.9, 0.85, 0.7, 0.5, 0.3]
    static let planted = try! PlantedCorpus(baseDocuments: 1200, plantsPerLevel: 40, levels: levels, seed: 2024)

    static func corpus(_ texts: [String], in dir: TemporaryDirectory) throws -> DocumentCorpus {
        var lines = ""
        for t in texts { lines += "{\"text\": " + JSONString.quoted(t) + "}\n" }
        return try DocumentCorpus(paths: [dir.write("docs.jsonl", lines)])
    }

    @Test("recall ≥ 0.95 at Jaccard ≥ 0.85 and precision ≥ 0.95", arguments: DedupConfig.Verification.allCases)
    func precisionAndRecall(verification: DedupConfig.Verification) throws {
        let dir = TemporaryDirectory()
        let corpus = try Self.corpus(Self.planted.documents, in: dir)
        var config = DedupConfig()
        config.verification = verification
        let result = try Deduplicator.run(corpus, config: config)
        var cluster = [Int](repeating: -1, count: corpus.documents.count)
        for (c, cl) in result.clusters.enumerated() { for m in [cl.kept] + cl.removed { cluster[m.document] = c } }
        let positives = Self.planted.plants.filter { $0.jaccard >= 0.85 }
        let found = positives.filter { cluster[$0.source] >= 0 && cluster[$0.source] == cluster[$0.copy] }
        let recall = Double(found.count) / Double(positives.count)
        let removed = result.clusters.flatMap(\.removed)
        let correct = removed.filter {
            ReferenceShingles.jaccard(ReferenceShingles.set(Self.planted.documents[$0.document]),
                                      ReferenceShingles.set(Self.planted.documents[$0.matchedWith])) >= config.threshold
        }
        let precision = removed.isEmpty ? 1 : Double(correct.count) / Double(removed.count)
        #expect(positives.count >= 120)
        print("dedup (\(verification)): recall \(found.count)/\(positives.count) at J ≥ 0.85, precision \(correct.count)/\(removed.count), \(result.candidatePairs) candidate pairs for \(corpus.documents.count) documents")
        #expect(recall >= 0.95, "recall \(recall) (\(found.count)/\(positives.count))")
        #expect(precision >= 0.95, "precision \(precision) (\(correct.count)/\(removed.count))")
        // Below-threshold plants must survive (they are the precision test's hard negatives).
        let negatives = Self.planted.plants.filter { $0.jaccard < 0.75 }
        let merged = negatives.filter { cluster[$0.copy] >= 0 && cluster[$0.copy] == cluster[$0.source] }
        #expect(Double(merged.count) <= 0.05 * Double(negatives.count), "\(merged.count) of \(negatives.count) dissimilar plants merged")
        #expect(result.candidatePairs < corpus.documents.count * 4, "LSH produced \(result.candidatePairs) candidates: not near-linear")
    }

    @Test("exact duplicates differ only in case, punctuation and spacing; the first copy is kept")
    func exactDuplicates() throws {
        let dir = TemporaryDirectory()
        let texts = ["The cat sat on the mat.", "a different text entirely", "the CAT, sat on -- the mat", "The cat sat on the mat"]
        var config = DedupConfig()
        config.fuzzy = false
        let result = try Deduplicator.run(try Self.corpus(texts, in: dir), config: config)
        #expect(result.keep == [true, true, false, false])
        #expect(result.exactRemoved == 2 && result.clusters.count == 1 && result.clusters[0].kind == "exact")
        #expect(result.clusters[0].removed.map(\.location) == [dir.file("docs.jsonl") + ":3", dir.file("docs.jsonl") + ":4"])
    }

    @Test("MinHash estimates Jaccard within 4σ; signatures agree with the reference shingles")
    func minhashEstimate() throws {
        let plants = Self.planted.plants.filter { $0.jaccard < 1 }.prefix(60)
        let minhash = MinHash(permutations: 128, seed: 1)
        var x = [UInt32](repeating: 0, count: 128), y = x
        for p in plants {
            for (doc, out) in [(p.source, 0), (p.copy, 1)] {
                let words = Array(Self.planted.documents[doc].utf8).withUnsafeBufferPointer { WordHashing.wordHashes($0) }
                let set = Deduplicator.shingleSet(words, 5)
                #expect(set.count == ReferenceShingles.set(Self.planted.documents[doc]).count)
                if out == 0 { minhash.signature(of: set, into: &x) } else { minhash.signature(of: set, into: &y) }
            }
            let estimate = MinHash.estimatedJaccard(x, y, count: 128)
            let sigma = (p.jaccard * (1 - p.jaccard) / 128).squareRoot()
            #expect(abs(estimate - p.jaccard) <= 4 * sigma + 0.01, "J \(p.jaccard) estimated \(estimate)")
        }
    }

    @Test("the default banding for 0.8 and 128 permutations is 16 × 8")
    func banding() {
        let b = LSHParameters.optimal(threshold: 0.8, permutations: 128)
        #expect(b == LSHParameters(bands: 16, rows: 8))
        #expect(b.candidateProbability(0.85) > 0.99)
    }
}
