import MonolithKernels
import Synchronization

/// Exact and MinHash-LSH fuzzy deduplication, never comparing all pairs.
///
/// 1. **Exact**: each document's lowercased word sequence is hashed (128 bits); later documents
///    with the hash of an earlier one are removed.
/// 2. **Fuzzy**: each remaining document's word `shingleSize`-grams are MinHashed
///    (`permutations` values); signatures are cut into LSH bands, and documents sharing any band
///    value become candidates. Per bucket, each document is compared with at most
///    `maxComparisonsPerBucket` earlier members and stops at the first match — pairs already in
///    one cluster are skipped — so cost stays near-linear even for large buckets. Candidates are
///    verified (exact shingle Jaccard by default), confirmed pairs are merged with union-find,
///    and each cluster keeps its first document.
///
/// Signatures and band keys are computed on the worker pool; verification is serial but only
/// touches candidate pairs.
public enum Deduplicator {
    /// Deduplicates `corpus`.
    public static func run(_ corpus: DocumentCorpus, config: DedupConfig, pool: WorkerPool = .shared,
                           progress: Bool = false) throws -> DedupResult {
        try config.validate()
        let docs = corpus.documents
        let n = docs.count
        let perm = config.permutations
        let minhash = MinHash(permutations: perm, seed: config.seed)
        var exactKeys = [SIMD2<UInt64>](repeating: .zero, count: n)
        let signatures = UnsafeMutablePointer<UInt32>.allocate(capacity: max(1, n * perm))
        defer { signatures.deallocate() }
        let meter = ProgressMeter(label: "dedup signatures", enabled: progress)
        let next = Atomic<Int>(0), done = Atomic<Int>(0), doneBytes = Atomic<Int>(0)
        exactKeys.withUnsafeMutableBufferPointer { keys in
            pool.run { t in
                while true {
                    let i = next.wrappingAdd(1, ordering: .relaxed).oldValue
                    if i >= n { break }
                    let words = docs[i].text.withUnsafeBufferPointer { WordHashing.wordHashes($0) }
                    keys[i] = SIMD2(WordHashing.combine(words[...]), WordHashing.combine(words[...], seed: 0x2545_F491_4F6C_DD1D))
                    if config.fuzzy {
                        minhash.signature(of: shingleSet(words, config.shingleSize), into: signatures + i * perm)
                    }
                    let d = done.wrappingAdd(1, ordering: .relaxed).newValue
                    let b = doneBytes.wrappingAdd(docs[i].text.count, ordering: .relaxed).newValue
                    if t == 0 { meter.update(documents: d, bytes: b) }
                }
            }
        }
        meter.finish()

        var result = DedupResult()
        result.documents = n
        var sets = UnionFind(count: n)
        var edge = [(partner: Int, similarity: Double)?](repeating: nil, count: n)
        var alive = [Bool](repeating: true, count: n)
        var exactCluster = [Bool](repeating: false, count: n)
        if config.exact {
            var first: [SIMD2<UInt64>: Int] = [:]
            first.reserveCapacity(n)
            for i in 0..<n {
                if let j = first[exactKeys[i]] {
                    sets.union(j, i)
                    edge[i] = (j, 1)
                    alive[i] = false
                    exactCluster[j] = true
                    result.exactRemoved += 1
                } else {
                    first[exactKeys[i]] = i
                }
            }
        }
        if config.fuzzy {
            let banding = config.effectiveBanding
            result.banding = banding
            let candidates = bandBuckets(signatures: signatures, alive: alive, permutations: perm, banding: banding, pool: pool)
            var checked = Set<UInt64>()
            var shingleCache: [Int: [UInt64]] = [:]
            func shingles(_ i: Int) -> [UInt64] {
                if let s = shingleCache[i] { return s }
                let words = docs[i].text.withUnsafeBufferPointer { WordHashing.wordHashes($0) }
                let s = shingleSet(words, config.shingleSize)
                shingleCache[i] = s
                return s
            }
            for bucket in candidates {
                for j in 1..<bucket.count {
                    let doc = bucket[j]
                    for i in 0..<min(j, config.maxComparisonsPerBucket) {
                        let other = bucket[i]
                        if sets.find(other) == sets.find(doc) { break }
                        let key = UInt64(min(other, doc)) << 32 | UInt64(max(other, doc))
                        if !checked.insert(key).inserted { continue }
                        result.candidatePairs += 1
                        let similarity = config.verification == .exact
                            ? exactJaccard(shingles(other), shingles(doc))
                            : MinHash.estimatedJaccard(signatures + other * perm, signatures + doc * perm, count: perm)
                        if similarity >= config.threshold {
                            result.confirmedPairs += 1
                            sets.union(other, doc)
                            if edge[doc] == nil { edge[doc] = (other, similarity) } else if edge[other] == nil { edge[other] = (doc, similarity) }
                            break
                        }
                    }
                }
            }
        }
        // Clusters: every set of two or more documents keeps its first member.
        var members: [Int: [Int]] = [:]
        for i in 0..<n { members[sets.find(i), default: []].append(i) }
        result.keep = [Bool](repeating: true, count: n)
        for group in members.values where group.count > 1 {
            let kept = group[0]
            let fuzzy = group.contains { alive[$0] && $0 != kept }
            func member(_ d: Int) -> DedupResult.Member {
                let e = edge[d] ?? (d, 1)
                return DedupResult.Member(document: d, location: corpus.location(d), matchedWith: e.partner, similarity: e.similarity,
                                          estimatedSimilarityToKept: config.fuzzy && fuzzy
                                              ? MinHash.estimatedJaccard(signatures + d * perm, signatures + kept * perm, count: perm) : nil)
            }
            for d in group.dropFirst() {
                result.keep[d] = false
                if alive[d] { result.fuzzyRemoved += 1 }
            }
            result.clusters.append(DedupResult.Cluster(kind: fuzzy ? "fuzzy" : "exact", kept: member(kept),
                                                       removed: group.dropFirst().map(member)))
        }
        result.clusters.sort { $0.kept.document < $1.kept.document }
        result.kept = result.keep.filter { $0 }.count
        return result
    }

    /// Sorted distinct shingle hashes of a word sequence.
    static func shingleSet(_ words: [UInt64], _ k: Int) -> [UInt64] {
        var s = WordHashing.ngramHashes(words, n: k)
        s.sort()
        var out = 0
        for v in s where out == 0 || s[out - 1] != v { s[out] = v; out += 1 }
        s.removeLast(s.count - out)
        return s
    }

    /// Groups of two or more alive documents sharing a band value, over all bands, each group
    /// sorted by document index.
    static func bandBuckets(signatures: UnsafeMutablePointer<UInt32>, alive: [Bool], permutations: Int,
                            banding: LSHParameters, pool: WorkerPool) -> [[Int]] {
        let ids = alive.indices.filter { alive[$0] }
        let perBand = UnsafeMutablePointer<[[Int]]>.allocate(capacity: banding.bands)
        perBand.initialize(repeating: [], count: banding.bands)
        defer { perBand.deinitialize(count: banding.bands); perBand.deallocate() }
        let next = Atomic<Int>(0)
        pool.run { _ in
            while true {
                let band = next.wrappingAdd(1, ordering: .relaxed).oldValue
                if band >= banding.bands { break }
                var keyed = [(UInt64, Int32)]()
                keyed.reserveCapacity(ids.count)
                for i in ids {
                    var h: UInt64 = 0x9E37_79B9_7F4A_7C15 &* UInt64(band + 1)
                    let row = signatures + i * permutations + band * banding.rows
                    for r in 0..<banding.rows { h = SplitMix64.mix(h ^ UInt64(row[r])) }
                    keyed.append((h, Int32(i)))
                }
                keyed.sort { $0.0 != $1.0 ? $0.0 < $1.0 : $0.1 < $1.1 }
                var groups: [[Int]] = []
                var start = 0
                while start < keyed.count {
                    var end = start + 1
                    while end < keyed.count && keyed[end].0 == keyed[start].0 { end += 1 }
                    if end - start > 1 { groups.append(keyed[start..<end].map { Int($0.1) }) }
                    start = end
                }
                perBand[band] = groups
            }
        }
        return (0..<banding.bands).flatMap { perBand[$0] }
    }
}
