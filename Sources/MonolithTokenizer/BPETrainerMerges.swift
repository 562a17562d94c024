extension TrainerState {
    /// The merge loop (step 5 of Hugging Face's `BpeTrainer::do_train`).
    mutating func mergeLoop() {
        var touched: [Int32] = []
        var members: [(pair: Int32, word: Int32)] = []
        while vocabularyCount < options.vocabularySize && !queue.isEmpty {
            var top = queue.pop()
            let (current, _) = pairIndex.index(top.pair)
            let count = pairCount[Int(current)]
            if top.count != count {
                top.count = count
                queue.push(top)
                continue
            }
            if count < 1 || count < options.minFrequency { break }
            let a = Int32(truncatingIfNeeded: top.pair >> 32), b = Int32(truncatingIfNeeded: top.pair & 0xFFFF_FFFF)
            let spelling = Array(spellings.key(Int(a))) + Array(spellings.key(Int(b)))
            let merged = addToken(spelling: spelling, bytes: tokenBytes[Int(a)] + tokenBytes[Int(b)])
            merges.append((a, b))
            let list = Int(top.list)
            for k in listStart[list]..<(listStart[list] + Int(listLength[list])) {
                mergeWord(Int(listArena[k]), a, b, merged, &touched, &members)
            }
            flush(touched: &touched, members: &members)
        }
    }

    /// Replaces every non-overlapping `a b` in word `w` (left to right) with `merged`, and
    /// applies the pair-count changes: for each occurrence, `(prev, a)` and `(b, next)` lose the
    /// word's frequency, `(prev, merged)` and `(merged, next)` gain it.
    @inline(__always)
    mutating func mergeWord(_ w: Int, _ a: Int32, _ b: Int32, _ merged: Int32,
                            _ touched: inout [Int32], _ members: inout [(pair: Int32, word: Int32)]) {
        let s = start[w], len = Int(length[w])
        let f = frequency[w]
        var r = 0, out = 0
        while r < len {
            let c = symbols[s + r]
            if c == a && r + 1 < len && symbols[s + r + 1] == b {
                if out > 0 {
                    let prev = symbols[s + out - 1]
                    pairCount[pairID(prev, a)] -= f
                    gain(pairID(prev, merged), f, w, &touched, &members)
                }
                if r + 2 < len {
                    let next = symbols[s + r + 2]
                    pairCount[pairID(b, next)] -= f
                    gain(pairID(merged, next), f, w, &touched, &members)
                }
                symbols[s + out] = merged
                out += 1
                r += 2
            } else {
                symbols[s + out] = c
                out += 1
                r += 1
            }
        }
        length[w] = Int32(out)
    }

    @inline(__always)
    mutating func gain(_ p: Int, _ f: Int64, _ w: Int, _ touched: inout [Int32],
                       _ members: inout [(pair: Int32, word: Int32)]) {
        pairCount[p] += f
        if lastWord[p] != Int32(w) {
            lastWord[p] = Int32(w)
            if group[p] < 0 { group[p] = 1; touched.append(Int32(p)) }
            members.append((Int32(p), Int32(w)))
        }
    }

    func result() -> TrainedBPE {
        var spellingsByID: [String] = []
        for id in 0..<spellings.count {
            spellingsByID.append(String(decoding: spellings.key(id), as: UTF8.self))
        }
        return TrainedBPE(spellings: spellingsByID, tokenBytes: tokenBytes, merges: merges,
                          specialTokens: options.specialTokens.filter { !$0.isEmpty })
    }
}
