import MonolithKernels

/// The data of a byte-level BPE vocabulary and the merge loop over one pre-token.
///
/// Two merge semantics meet here and agree on GPT-2's files:
/// - merges files (OpenAI `vocab.bpe`, Hugging Face `merges.txt` / `tokenizer.json`): a pair of
///   adjacent tokens merges if it is listed; its rank is its line number;
/// - tiktoken rank files: a pair merges if the concatenation of its bytes is a token; its rank is
///   that token's rank. The loader lists every split of every token as a pair, so both become one
///   table, and tiktoken's shortcut (a pre-token that is itself a token is that token) is enabled.
///
/// Either way the merge applied next is the lowest-ranked pair, leftmost among equals, as in
/// tiktoken's `_byte_pair_merge` and Hugging Face's `Word::merge_all`.
final class BPEModel: @unchecked Sendable {
    /// Number of ids (one more than the largest id).
    let size: Int
    /// Bytes of each token, concatenated; token `i` is `tokenBytes[tokenOffsets[i]..<tokenOffsets[i+1]]`.
    let tokenBytes: [UInt8]
    let tokenOffsets: [Int]
    /// The token of each single byte.
    let byteToken: UnsafeMutablePointer<Int32>
    let pairs: PairTable
    /// Token bytes → id, for the whole-word shortcut and lookups by bytes.
    let vocabulary: ByteStringTable
    let vocabularyIDs: [Int32]
    /// Whether a pre-token that is itself a token encodes as that token without merging
    /// (tiktoken's rule; Hugging Face's `ignore_merges`).
    let wholeWordShortcut: Bool
    /// Per id, 1 if a pre-token spelled like the token encodes to that single token. Under merge
    /// semantics this is checked at load by running BPE on every token (≈ 20 ms of CPU for GPT-2,
    /// spread over the pool). It lets a word the cache has not seen skip the merge loop, as
    /// tiktoken's shortcut does, without changing any result: more than half the distinct words
    /// of English prose are tokens.
    let encodesToItself: UnsafeMutablePointer<UInt8>
    let specials: SpecialTokenMatcher
    let specialTokens: [(String, Int32)]
    /// The special tokens matched in text even when special tokens are not parsed (GGUF's
    /// user-defined tokens, as llama.cpp and Hugging Face's non-special added tokens).
    let alwaysMatched: SpecialTokenMatcher
    let alwaysMatchedTokens: [(String, Int32)]
    /// Ids whose bytes are literal text that neither BPE nor the special-token matcher produces
    /// (GGUF's unknown and unused tokens).
    let literalIDs: Set<Int32>
    /// How text is cut into pieces before BPE.
    let preTokenizer: PreTokenizerKind
    /// The merges in rank order as pairs of ids, when the model was built from a merge list
    /// (empty for tiktoken's ranks, which have none); the Hugging Face export writes them.
    let mergeList: [(Int32, Int32)]
    /// Whether some byte has no token (`byteToken` is -1 for it). Such a byte never merges, keeps
    /// its neighbours apart, and is dropped from the output, as llama.cpp does: SmolLM2's
    /// vocabulary has no token for 21 bytes (0x04, 0x06, …, and the bytes UTF-8 never uses).
    let hasMissingBytes: Bool

    /// Builds the model from token bytes by id, merge table and special tokens. `file` names the
    /// vocabulary in errors. `alwaysMatched` is a subset of `specialTokens`; `literalIDs` are kept
    /// out of the BPE vocabulary like special tokens, but never matched in text.
    init(tokens: [[UInt8]?], pairs: PairTable, specialTokens: [(String, Int32)], wholeWordShortcut: Bool,
         file: String, preTokenizer: PreTokenizerKind = .gpt2, alwaysMatched: [(String, Int32)] = [],
         literalIDs: Set<Int32> = [], mergeList: [(Int32, Int32)] = [], allowsMissingBytes: Bool = false) throws {
        size = tokens.count
        var bytes: [UInt8] = []
        var offsets = [0]
        offsets.reserveCapacity(tokens.count + 1)
        let specialIDs = Set(specialTokens.map(\.1)).union(literalIDs)
        let table = ByteStringTable(capacity: tokens.count)
        var ids: [Int32] = []
        byteToken = .allocate(capacity: 256)
        byteToken.initialize(repeating: -1, count: 256)
        for (id, t) in tokens.enumerated() {
            if let t {
                bytes.append(contentsOf: t)
                if !specialIDs.contains(Int32(id)) {
                    let (entry, inserted) = table.insert(t)
                    if inserted { ids.append(Int32(id)) } else { ids[Int(entry)] = min(ids[Int(entry)], Int32(id)) }
                    if t.count == 1 && byteToken[Int(t[0])] < 0 { byteToken[Int(t[0])] = Int32(id) }
                }
            }
            offsets.append(bytes.count)
        }
        for b in 0..<256 where byteToken[b] < 0 && !allowsMissingBytes {
            byteToken.deallocate()
            throw TokenizerError(file: file, "the vocabulary has no token for the byte 0x\(String(b, radix: 16, uppercase: true)), so not every text can be encoded")
        }
        var missing = false
        for b in 0..<256 where byteToken[b] < 0 { missing = true }
        hasMissingBytes = missing
        tokenBytes = bytes
        tokenOffsets = offsets
        vocabulary = table
        vocabularyIDs = ids
        self.pairs = pairs
        self.wholeWordShortcut = wholeWordShortcut
        self.specialTokens = specialTokens
        specials = SpecialTokenMatcher(specialTokens)
        alwaysMatchedTokens = alwaysMatched
        self.alwaysMatched = SpecialTokenMatcher(alwaysMatched)
        self.literalIDs = literalIDs
        self.preTokenizer = preTokenizer
        self.mergeList = mergeList
        encodesToItself = .allocate(capacity: max(1, size))
        encodesToItself.initialize(repeating: 0, count: max(1, size))
        findSelfEncodingTokens(specialIDs)
    }

    deinit {
        byteToken.deallocate()
        encodesToItself.deallocate()
    }

    private func findSelfEncodingTokens(_ specialIDs: Set<Int32>) {
        let flags = encodesToItself
        WorkerPool.shared.parallelFor(size) { range in
            let ws = EncoderWorkspace()
            tokenBytes.withUnsafeBufferPointer { tb in
                for id in range where !specialIDs.contains(Int32(id)) {
                    let lo = tokenOffsets[id], n = tokenOffsets[id + 1] - lo
                    guard n >= 2 else { continue }
                    if wholeWordShortcut { flags[id] = 1; continue }
                    ws.reserve(n)
                    let p = tb.baseAddress! + lo
                    let count = n <= 48 ? mergeShort(p, n, ws) : mergeLong(p, n, ws)
                    if count == 1 && ws.symbols[0] == Int32(id) { flags[id] = 1 }
                }
            }
        }
    }

    /// The id of the (non-special) token with these bytes.
    func id(of bytes: [UInt8]) -> Int32? {
        let e = vocabulary.find(bytes)
        return e >= 0 ? vocabularyIDs[Int(e)] : nil
    }

    /// Appends the tokens of the pre-token `p[0..<n]` to `out`.
    @inline(__always)
    func encodeWord(_ p: UnsafePointer<UInt8>, _ n: Int, _ ws: EncoderWorkspace, _ out: inout [Int32]) {
        if n == 1 { out.append(byteToken[Int(p[0])]); return }
        let e = vocabulary.find(p, n)
        if e >= 0 {
            let id = vocabularyIDs[Int(e)]
            if encodesToItself[Int(id)] != 0 { out.append(id); return }
        }
        ws.reserve(n)
        let count = n <= 48 ? mergeShort(p, n, ws) : mergeLong(p, n, ws)
        out.append(contentsOf: UnsafeBufferPointer(start: ws.symbols, count: count))
    }

    /// Merges by rescanning all pairs after each merge: O(n²), the fastest for short words.
    /// Returns the number of tokens, left in `ws.symbols`.
    private func mergeShort(_ p: UnsafePointer<UInt8>, _ n: Int, _ ws: EncoderWorkspace) -> Int {
        let sym = ws.symbols, m = ws.merges
        for k in 0..<n { sym[k] = byteToken[Int(p[k])] }
        for k in 0..<(n - 1) { m[k] = pairs.merge(sym[k], sym[k + 1]) }
        var count = n
        while count > 1 {
            var best = 0
            var bestRank = m[0].rank
            var k = 1
            while k < count - 1 {
                if m[k].rank < bestRank { bestRank = m[k].rank; best = k }
                k += 1
            }
            if bestRank == UInt32.max { break }
            sym[best] = m[best].token
            // Drop symbol best+1 and the pair that started at it.
            k = best + 1
            while k < count - 1 { sym[k] = sym[k + 1]; k += 1 }
            k = best + 1
            while k < count - 2 { m[k] = m[k + 1]; k += 1 }
            count -= 1
            if best > 0 { m[best - 1] = pairs.merge(sym[best - 1], sym[best]) }
            if best < count - 1 { m[best] = pairs.merge(sym[best], sym[best + 1]) }
        }
        return count
    }

    /// Merges with a min-heap of (rank, position) over a linked list of symbols: O(n log n) for
    /// long pre-tokens such as runs of whitespace or digits. Applies the same merges in the same
    /// order as `mergeShort`.
    private func mergeLong(_ p: UnsafePointer<UInt8>, _ n: Int, _ ws: EncoderWorkspace) -> Int {
        let sym = ws.symbols, prev = ws.previous, next = ws.next, heap = ws.heap
        var heapCount = 0
        func push(_ v: UInt64) {
            var i = heapCount
            heapCount += 1
            while i > 0 {
                let parent = (i - 1) >> 1
                if heap[parent] <= v { break }
                heap[i] = heap[parent]
                i = parent
            }
            heap[i] = v
        }
        func pop() -> UInt64 {
            let top = heap[0]
            heapCount -= 1
            let v = heap[heapCount]
            var i = 0
            while true {
                var c = 2 * i + 1
                if c >= heapCount { break }
                if c + 1 < heapCount && heap[c + 1] < heap[c] { c += 1 }
                if v <= heap[c] { break }
                heap[i] = heap[c]
                i = c
            }
            heap[i] = v
            return top
        }
        func pushPair(_ at: Int) {
            let r = pairs.merge(sym[at], sym[Int(next[at])]).rank
            if r != UInt32.max { push(UInt64(r) << 32 | UInt64(at)) }
        }
        for k in 0..<n {
            sym[k] = byteToken[Int(p[k])]
            prev[k] = Int32(k - 1)
            next[k] = Int32(k + 1)
        }
        for k in 0..<(n - 1) { pushPair(k) }
        while heapCount > 0 {
            let top = pop()
            let at = Int(top & 0xFFFF_FFFF)
            let rank = UInt32(top >> 32)
            if sym[at] < 0 { continue }
            let right = Int(next[at])
            if right >= n { continue }
            let merge = pairs.merge(sym[at], sym[right])
            if merge.rank != rank { continue }  // stale: a neighbour merged first
            sym[at] = merge.token
            sym[right] = -1
            next[at] = next[right]
            if Int(next[right]) < n { prev[Int(next[right])] = Int32(at) }
            if prev[at] >= 0 { pushPair(Int(prev[at])) }
            if Int(next[at]) < n { pushPair(at) }
        }
        var count = 0
        for k in 0..<n where sym[k] >= 0 {
            sym[count] = sym[k]
            count += 1
        }
        return count
    }

    /// Appends the tokens of `base[start..<end]`, text without special tokens, using the
    /// workspace's word cache.
    func encodeOrdinary(_ base: UnsafePointer<UInt8>, _ start: Int, _ end: Int, _ ws: EncoderWorkspace,
                        _ out: inout [Int32]) {
        // One switch per stretch of text; each case runs the loop specialised for its scanner.
        switch preTokenizer {
        case .gpt2:
            var scanner = GPT2PreTokenizer(base, from: start, to: end)
            encodePieces(&scanner, base, start, ws, &out)
        case .digitsThenGPT2:
            var scanner = DigitsThenGPT2PreTokenizer(base, from: start, to: end)
            encodePieces(&scanner, base, start, ws, &out)
        case .llama3:
            var scanner = Llama3PreTokenizer(base, from: start, to: end)
            encodePieces(&scanner, base, start, ws, &out)
        }
    }

    /// Appends the tokens of the pieces `scanner` cuts from `base[start...]`.
    @inline(__always)
    private func encodePieces<Scanner: PieceScanner>(_ scanner: inout Scanner, _ base: UnsafePointer<UInt8>,
                                                     _ start: Int, _ ws: EncoderWorkspace, _ out: inout [Int32]) {
        var s = start
        let cache = ws.cache
        while let e = scanner.next() {
            let p = base + s
            let n = e - s
            s = e
            if n == 1 { out.append(byteToken[Int(p[0])]); continue }
            if n > EncoderWorkspace.maxCachedLength { encodeWord(p, n, ws, &out); continue }
            let h = ByteHash.hash(p, n)
            let entry = cache.find(p, n, hash: h)
            if entry >= 0 {
                let v = ws.values[Int(entry)]
                if v >= 0 {
                    out.append(v)
                } else {
                    let k = Int(-1 - v)
                    out.append(contentsOf: UnsafeBufferPointer(start: ws.multi + k + 1, count: Int(ws.multi[k])))
                }
                continue
            }
            let before = out.count
            encodeWord(p, n, ws, &out)
            out.withUnsafeBufferPointer { all in
                ws.remember(p, n, hash: h, ids: UnsafeBufferPointer(rebasing: all[before...]))
            }
        }
    }

    /// Appends the tokens of `base[start..<end]`, special tokens included; with `parseSpecial`
    /// off only the always-matched ones (llama.cpp's `parse_special`).
    func encode(_ base: UnsafePointer<UInt8>, _ start: Int, _ end: Int, _ ws: EncoderWorkspace,
                _ out: inout [Int32], parseSpecial: Bool = true) {
        let specials = parseSpecial ? self.specials : alwaysMatched
        let first = out.count
        defer {
            // Bytes without a token came out as -1 (the word cache keeps them, in several-id entries only).
            if hasMissingBytes {
                var kept = first
                for r in first..<out.count where out[r] >= 0 {
                    out[kept] = out[r]
                    kept += 1
                }
                out.removeSubrange(kept...)
            }
        }
        var p = start
        while p < end {
            guard let hit = specials.next(in: base, from: p, end: end) else {
                encodeOrdinary(base, p, end, ws, &out)
                return
            }
            if hit.start > p { encodeOrdinary(base, p, hit.start, ws, &out) }
            out.append(hit.id)
            p = hit.start + hit.length
        }
    }

    /// The concatenated bytes of `ids`; ids outside the vocabulary are skipped and counted.
    func bytes(of ids: [Int32]) -> (bytes: [UInt8], unknown: Int) {
        var out: [UInt8] = []
        out.reserveCapacity(ids.count * 4)
        var unknown = 0
        tokenBytes.withUnsafeBufferPointer { tb in
            for id in ids {
                guard id >= 0 && Int(id) < size else { unknown += 1; continue }
                let lo = tokenOffsets[Int(id)], hi = tokenOffsets[Int(id) + 1]
                out.append(contentsOf: UnsafeBufferPointer(rebasing: tb[lo..<hi]))
            }
        }
        return (out, unknown)
    }
}
