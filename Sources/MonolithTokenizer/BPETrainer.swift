/// Settings of a byte-level BPE training run.
public struct BPETrainingOptions: Sendable {
    /// Final vocabulary size: special tokens + 256 byte tokens + merges.
    public var vocabularySize: Int
    /// Special tokens, given the first ids in this order (as Hugging Face's `BpeTrainer`).
    public var specialTokens: [String]
    /// Pairs seen fewer times than this are never merged (Hugging Face's `min_frequency`).
    public var minFrequency: Int64

    /// Options for a vocabulary of `vocabularySize` tokens; `<|endoftext|>` is the default special token.
    public init(vocabularySize: Int, specialTokens: [String] = ["<|endoftext|>"], minFrequency: Int64 = 0) {
        self.vocabularySize = vocabularySize
        self.specialTokens = specialTokens
        self.minFrequency = minFrequency
    }
}

/// Byte-level BPE training that reproduces Hugging Face's `BpeTrainer` (tokenizers 0.23) merge
/// for merge, given its ByteLevel alphabet as `initial_alphabet`.
///
/// - Ids: special tokens first, then the 256 byte tokens in the order of their byte-level
///   spellings' scalar values (`!` = 33 first, `Ń` = U+0143 last), then merged tokens as created.
/// - Each step merges the pair with the highest count over all words (count × frequency of the
///   word). **Ties go to the smallest pair of ids `(left, right)`**, compared left first — the
///   order of Hugging Face's `Merge` heap. Because ids follow creation order, this prefers pairs
///   of older tokens, and among byte tokens the lower scalar of the byte-level spelling.
/// - Counts are updated incrementally: merging a pair in a word subtracts the pairs it breaks and
///   adds the pairs it forms, and only the words that contained the pair are visited. Stale queue
///   entries are re-queued with their current count when they surface (lazy deletion), exactly as
///   Hugging Face does, including its quirks: the merged pair's own count is not decremented, and a
///   merge that re-creates an existing token string adds a merge rule but no vocabulary entry.
/// - Training stops at `vocabularySize` tokens, when no pair is left, or when the best count falls
///   below `minFrequency`.
public enum BPETrainer {
    /// Learns merges from pre-token counts until the vocabulary has `options.vocabularySize` tokens.
    /// - Throws: `TokenizerError` if the size cannot hold the special and byte tokens.
    public static func train(_ counts: PreTokenCounts, options: BPETrainingOptions) throws -> TrainedBPE {
        var state = TrainerState(counts: counts, options: options)
        try state.checkOptions()
        state.buildWords()
        state.countPairs()
        state.mergeLoop()
        return state.result()
    }
}

/// The mutable state of one training run.
struct TrainerState {
    let counts: PreTokenCounts
    let options: BPETrainingOptions

    // Tokens: vocabulary spelling (UTF-8 of the byte-level string, or a special token's text) → id.
    var spellings = ByteStringTable(capacity: 1 << 12)
    var tokenBytes: [[UInt8]] = []
    var merges: [(Int32, Int32)] = []

    // Words: symbols of word w are symbols[start[w] ..< start[w] + length[w]].
    var symbols: [Int32] = []
    var start: [Int] = []
    var length: [Int32] = []
    var frequency: [Int64] = []

    // Pairs, by dense index.
    let pairIndex = PairIndexTable(capacity: 1 << 16)
    var pairKeys: [UInt64] = []
    var pairCount: [Int64] = []
    var lastWord: [Int32] = []
    var group: [Int32] = []

    // Word lists of queue entries, stored back to back.
    var listArena: [Int32] = []
    var listStart: [Int] = []
    var listLength: [Int32] = []
    var queue = MergeQueue()

    init(counts: PreTokenCounts, options: BPETrainingOptions) {
        self.counts = counts
        self.options = options
    }

    func checkOptions() throws {
        let base = Set(options.specialTokens).count + 256
        guard options.vocabularySize >= base else {
            throw TokenizerError("vocabulary size \(options.vocabularySize) is smaller than the \(base) special and byte tokens")
        }
        if options.specialTokens.contains("") { throw TokenizerError("a special token is empty") }
    }

    var vocabularyCount: Int { spellings.count }

    /// Adds a token unless its spelling exists; returns its id.
    @discardableResult
    mutating func addToken(spelling: [UInt8], bytes: [UInt8]) -> Int32 {
        let (id, inserted) = spellings.insert(spelling)
        if inserted { tokenBytes.append(bytes) }
        return id
    }

    mutating func buildWords() {
        for s in options.specialTokens { addToken(spelling: Array(s.utf8), bytes: Array(s.utf8)) }
        var byteID = [Int32](repeating: 0, count: 256)
        for b in ByteLevel.alphabetInScalarOrder {
            byteID[Int(b)] = addToken(spelling: Array(ByteLevel.encode([b]).utf8), bytes: [b])
        }
        let n = counts.distinct
        start.reserveCapacity(n)
        length.reserveCapacity(n)
        frequency.reserveCapacity(n)
        symbols.reserveCapacity(counts.words.keyBytes)
        for w in 0..<n {
            let (bytes, count) = counts.word(w)
            start.append(symbols.count)
            length.append(Int32(bytes.count))
            frequency.append(count)
            for b in bytes { symbols.append(byteID[Int(b)]) }
        }
    }

    @inline(__always)
    static func key(_ a: Int32, _ b: Int32) -> UInt64 { UInt64(UInt32(a)) << 32 | UInt64(UInt32(b)) }

    @inline(__always)
    mutating func pairID(_ a: Int32, _ b: Int32) -> Int {
        let (id, inserted) = pairIndex.index(TrainerState.key(a, b))
        if inserted {
            pairKeys.append(TrainerState.key(a, b))
            pairCount.append(0)
            lastWord.append(-1)
            group.append(-1)
        }
        return Int(id)
    }

    /// Initial counts, and one queue entry per pair listing every word that holds it.
    mutating func countPairs() {
        var touched: [Int32] = []
        var members: [(pair: Int32, word: Int32)] = []
        for w in 0..<start.count {
            let s = start[w], len = Int(length[w])
            guard len >= 2 else { continue }
            for i in s..<(s + len - 1) {
                let p = pairID(symbols[i], symbols[i + 1])
                pairCount[p] += frequency[w]
                if lastWord[p] != Int32(w) {
                    lastWord[p] = Int32(w)
                    if group[p] < 0 { group[p] = 1; touched.append(Int32(p)) }
                    members.append((Int32(p), Int32(w)))
                }
            }
        }
        flush(touched: &touched, members: &members)
    }

    /// Turns the (pair, word) memberships of one step into word lists and queue entries, and
    /// resets the per-pair scratch.
    mutating func flush(touched: inout [Int32], members: inout [(pair: Int32, word: Int32)]) {
        // Counting sort of the memberships by pair, keeping word order within a pair.
        for (g, p) in touched.enumerated() { group[Int(p)] = Int32(g) }
        var sizes = [Int32](repeating: 0, count: touched.count)
        for m in members { sizes[Int(group[Int(m.pair)])] += 1 }
        var offsets = [Int](repeating: 0, count: touched.count)
        var at = listArena.count
        for g in 0..<touched.count {
            offsets[g] = at
            at += Int(sizes[g])
        }
        let base = listArena.count
        listArena.append(contentsOf: repeatElement(0, count: at - base))
        var fill = offsets
        for m in members {
            let g = Int(group[Int(m.pair)])
            listArena[fill[g]] = m.word
            fill[g] += 1
        }
        for (g, p) in touched.enumerated() {
            let pid = Int(p)
            group[pid] = -1
            lastWord[pid] = -1
            let count = pairCount[pid]
            if count > 0 {
                listStart.append(offsets[g])
                listLength.append(sizes[g])
                queue.push(count: count, pair: pairKeys[pid], list: Int32(listStart.count - 1))
            }
        }
        touched.removeAll(keepingCapacity: true)
        members.removeAll(keepingCapacity: true)
    }
}
