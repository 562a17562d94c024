import MonolithKernels
import Synchronization

/// Finds task n-grams in training documents and removes them with a window around each.
public enum Decontaminator {
    /// Hashes of every `n`-gram of the task texts; also returns how many texts were too short.
    public static func taskNgrams(_ texts: [ArraySlice<UInt8>], n: Int) -> (Set<UInt64>, short: Int) {
        var set = Set<UInt64>()
        var short = 0
        for t in texts {
            let words = t.withUnsafeBufferPointer { WordHashing.wordHashes($0) }
            if words.count < n { short += 1; continue }
            for i in 0...(words.count - n) { set.insert(WordHashing.combine(words[i..<i + n])) }
        }
        return (set, short)
    }

    /// Decontaminates `corpus` against the n-grams of `tasks`.
    public static func run(_ corpus: DocumentCorpus, tasks: [ArraySlice<UInt8>], config: DecontaminationConfig,
                           pool: WorkerPool = .shared) throws -> DecontaminationResult {
        try config.validate()
        var result = DecontaminationResult()
        let (grams, short) = taskNgrams(tasks, n: config.ngram)
        result.taskNgrams = grams.count
        result.shortTaskItems = short
        let docs = corpus.documents
        result.documents = docs.count
        var outcomes = [Outcome](repeating: .unchanged, count: docs.count)
        let next = Atomic<Int>(0)
        outcomes.withUnsafeMutableBufferPointer { out in
            pool.run { _ in
                while true {
                    let i = next.wrappingAdd(1, ordering: .relaxed).oldValue
                    if i >= docs.count { break }
                    out[i] = docs[i].text.withUnsafeBufferPointer { examine($0, grams: grams, config: config) }
                }
            }
        }
        for (i, outcome) in outcomes.enumerated() {
            let count = docs[i].text.count
            switch outcome {
            case .unchanged:
                result.unchanged += 1
                result.pieces.append([0..<count])
            case let .cut(regions, kept, firstMatch, removed, tooMany):
                let keptPieces = tooMany ? [] : kept
                let action = tooMany ? "dropped: too many splits" : (kept.isEmpty ? "dropped: all pieces too short" : "split")
                if keptPieces.isEmpty { result.dropped += 1 } else { result.split += 1 }
                result.piecesWritten += keptPieces.count
                let text = docs[i].text
                let removedChars = tooMany ? scalarCount(text, 0..<count) : removed
                result.charactersRemoved += removedChars
                result.pieces.append(keptPieces)
                result.affected.append(.init(
                    document: i, location: corpus.location(i), action: action, regions: regions,
                    firstMatch: String(decoding: text[(text.startIndex + firstMatch.lowerBound)..<(text.startIndex + firstMatch.upperBound)], as: UTF8.self),
                    charactersRemoved: removedChars, piecesKept: keptPieces.count))
            }
        }
        return result
    }

    enum Outcome: Sendable {
        case unchanged
        case cut(regions: Int, kept: [Range<Int>], firstMatch: Range<Int>, removed: Int, tooMany: Bool)
    }

    static func examine(_ text: UnsafeBufferPointer<UInt8>, grams: Set<UInt64>, config: DecontaminationConfig) -> Outcome {
        let n = config.ngram
        let spans = WordHashing.wordSpans(text)
        guard spans.count >= n, !grams.isEmpty else { return .unchanged }
        let words = spans.map { WordHashing.wordHash(text, $0) }
        var windows: [Range<Int>] = []
        var firstMatch: Range<Int>?
        for i in 0...(spans.count - n) where grams.contains(WordHashing.combine(words[i..<i + n])) {
            let match = spans[i].lowerBound..<spans[i + n - 1].upperBound
            if firstMatch == nil { firstMatch = match }
            var lo = max(0, match.lowerBound - config.window), hi = min(text.count, match.upperBound + config.window)
            // Widen to whole UTF-8 characters so the pieces stay valid UTF-8.
            while lo > 0 && text[lo] & 0xC0 == 0x80 { lo -= 1 }
            while hi < text.count && text[hi] & 0xC0 == 0x80 { hi += 1 }
            if let last = windows.last, lo <= last.upperBound {
                windows[windows.count - 1] = last.lowerBound..<max(last.upperBound, hi)
            } else {
                windows.append(lo..<hi)
            }
        }
        guard let firstMatch else { return .unchanged }
        var pieces: [Range<Int>] = []
        var start = 0
        for w in windows { pieces.append(start..<w.lowerBound); start = w.upperBound }
        pieces.append(start..<text.count)
        let slice = ArraySlice(text)
        let kept = pieces.filter { !$0.isEmpty && scalarCount(slice, $0) >= config.minimumPieceLength }
        let removed = scalarCount(slice, 0..<text.count) - kept.reduce(0) { $0 + scalarCount(slice, $1) }
        return .cut(regions: windows.count, kept: kept, firstMatch: firstMatch, removed: removed,
                    tooMany: windows.count > config.maximumSplits)
    }

    /// Unicode scalars in `text[range]` (range offsets from the slice start): bytes that do not
    /// continue a UTF-8 sequence.
    static func scalarCount(_ text: ArraySlice<UInt8>, _ range: Range<Int>) -> Int {
        var n = 0
        for b in text[(text.startIndex + range.lowerBound)..<(text.startIndex + range.upperBound)] where b & 0xC0 != 0x80 { n += 1 }
        return n
    }
}
