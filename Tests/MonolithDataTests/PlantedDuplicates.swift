import Foundation
@testable import MonolithData
import MonolithTestSupport

/// A corpus with planted near-duplicates of known Jaccard similarity, built from the real texts
/// in `../shared/data` (Gutenberg books and WikiText-2, cut into ~2 KB documents).
///
/// Each planted copy starts from a base document and applies a random script of word edits
/// (substitutions by words from elsewhere in the corpus, deletions, insertions); the prefix of
/// the script that brings the similarity closest to a target level is kept, and the copy's true
/// similarity is measured with `ReferenceShingles` — a deliberately naive implementation on
/// `Set<String>`, independent of the hashing code under test.
struct PlantedCorpus {
    struct Plant { var source: Int; var copy: Int; var jaccard: Double }
    var documents: [String] = []
    var plants: [Plant] = []

    init(baseDocuments: Int, plantsPerLevel: Int, levels: [Double], seed: UInt64) throws {
        var rng = SeededGenerator(seed: seed)
        let files = ["gutenberg/austen-emma.txt", "gutenberg/austen-persuasion.txt", "gutenberg/chesterton-thursday.txt",
                     "gutenberg/milton-paradise.txt", "gutenberg/whitman-leaves.txt", "gutenberg/austen-sense.txt",
                     "wikitext-2/valid.txt"]
        var words: [String] = []
        for f in files {
            let data = try Data(contentsOf: URL(fileURLWithPath: Paths.shared + "/" + f))
            words += String(decoding: data, as: UTF8.self).split(whereSeparator: { $0.isWhitespace }).map(String.init)
        }
        // ~330 words ≈ 2 KB per document, from disjoint stretches of text.
        let perDoc = 330
        let step = words.count / baseDocuments
        precondition(step >= perDoc, "not enough text for \(baseDocuments) documents")
        var base: [[String]] = (0..<baseDocuments).map { Array(words[($0 * step)..<($0 * step + perDoc)]) }
        documents = base.map { $0.joined(separator: " ") }
        for level in levels {
            for _ in 0..<plantsPerLevel {
                let source = rng.int(0..<baseDocuments)
                let (text, j) = Self.plant(base[source], target: level, vocabulary: words, rng: &rng)
                plants.append(Plant(source: source, copy: documents.count, jaccard: j))
                documents.append(text)
                base.append([])  // keep indices aligned; copies are never sources
            }
        }
        // Shuffle positions so copies are not all at the end (the kept document is the first).
        var order = Array(documents.indices)
        for i in stride(from: order.count - 1, to: 0, by: -1) { order.swapAt(i, rng.int(0..<(i + 1))) }
        var position = [Int](repeating: 0, count: order.count)
        for (p, d) in order.enumerated() { position[d] = p }
        documents = order.map { documents[$0] }
        plants = plants.map { Plant(source: position[$0.source], copy: position[$0.copy], jaccard: $0.jaccard) }
    }

    static func plant(_ base: [String], target: Double, vocabulary: [String], rng: inout SeededGenerator) -> (String, Double) {
        // Level 1.0: an exact duplicate after normalization (case and punctuation changed).
        if target >= 1 { return (base.map { $0.uppercased() }.joined(separator: "  ") + " !", 1) }
        var script: [(kind: Int, position: Int, word: String)] = []
        for _ in 0..<base.count {
            script.append((rng.int(0..<4), rng.int(0..<base.count), vocabulary[rng.int(0..<vocabulary.count)]))
        }
        func apply(_ k: Int) -> [String] {
            var w = base
            for e in script.prefix(k) {
                let p = min(e.position, max(0, w.count - 1))
                switch e.kind {
                case 0: if !w.isEmpty { w.remove(at: p) }      // deletion
                case 1: w.insert(e.word, at: p)                // insertion
                default: if !w.isEmpty { w[p] = e.word }       // substitution (twice as likely)
                }
            }
            return w
        }
        let reference = ReferenceShingles.set(base.joined(separator: " "))
        var lo = 0, hi = script.count
        while lo < hi {   // smallest prefix whose similarity is at or below the target
            let mid = (lo + hi) / 2
            if ReferenceShingles.jaccard(reference, ReferenceShingles.set(apply(mid).joined(separator: " "))) <= target { hi = mid } else { lo = mid + 1 }
        }
        let candidates = [max(0, lo - 1), lo].map { k -> (String, Double) in
            let text = apply(k).joined(separator: " ")
            return (text, ReferenceShingles.jaccard(reference, ReferenceShingles.set(text)))
        }
        return candidates.min { abs($0.1 - target) < abs($1.1 - target) }!
    }
}

/// Word 5-shingles the slow, obvious way: the same word definition as `WordHashing` (runs of
/// ASCII letters/digits or non-ASCII characters, ASCII lowercased), on `String`s and `Set`s.
enum ReferenceShingles {
    static func words(_ text: String) -> [String] {
        var out: [String] = [], current = ""
        for scalar in text.unicodeScalars {
            let v = scalar.value
            if v >= 0x80 || (v >= 48 && v <= 57) || (v >= 65 && v <= 90) || (v >= 97 && v <= 122) {
                current.unicodeScalars.append(v >= 65 && v <= 90 ? Unicode.Scalar(v + 32)! : scalar)
            } else if !current.isEmpty { out.append(current); current = "" }
        }
        if !current.isEmpty { out.append(current) }
        return out
    }

    static func set(_ text: String, n: Int = 5) -> Set<String> {
        let w = words(text)
        if w.isEmpty { return [] }
        if w.count < n { return [w.joined(separator: " ")] }
        return Set((0...(w.count - n)).map { w[$0..<$0 + n].joined(separator: " ") })
    }

    static func jaccard(_ a: Set<String>, _ b: Set<String>) -> Double {
        if a.isEmpty && b.isEmpty { return 1 }
        return Double(a.intersection(b).count) / Double(a.union(b).count)
    }
}
