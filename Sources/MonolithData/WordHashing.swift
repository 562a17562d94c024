import MonolithKernels

/// Word segmentation and hashing shared by deduplication and decontamination.
///
/// A *word* is a maximal run of ASCII letters and digits or bytes ≥ 0x80 (so non-ASCII letters
/// stay inside words); everything else — spaces, punctuation — separates words. ASCII letters
/// are lowercased. Two texts that differ only in case, punctuation or spacing therefore have the
/// same words, which is the normalization both MinHash shingles and 13-gram matching want.
/// Non-ASCII text is compared byte for byte (no Unicode case folding or NFC).
public enum WordHashing {
    /// Byte ranges of the words of `text`.
    public static func wordSpans(_ text: UnsafeBufferPointer<UInt8>) -> [Range<Int>] {
        var spans: [Range<Int>] = []
        spans.reserveCapacity(text.count / 5)
        var i = 0
        let n = text.count
        while i < n {
            while i < n && !isWordByte(text[i]) { i += 1 }
            if i == n { break }
            let start = i
            while i < n && isWordByte(text[i]) { i += 1 }
            spans.append(start..<i)
        }
        return spans
    }

    /// The lowercased-word hash of every word of `text`, in order.
    public static func wordHashes(_ text: UnsafeBufferPointer<UInt8>) -> [UInt64] {
        var hashes: [UInt64] = []
        hashes.reserveCapacity(text.count / 5)
        var i = 0
        let n = text.count
        while i < n {
            while i < n && !isWordByte(text[i]) { i += 1 }
            if i == n { break }
            var h: UInt64 = 0xCBF2_9CE4_8422_2325
            while i < n && isWordByte(text[i]) {
                h = (h ^ UInt64(lower(text[i]))) &* 0x0000_0100_0000_01B3
                i += 1
            }
            hashes.append(SplitMix64.mix(h))  // FNV-1a, then a finalizer to spread its weak low bits
        }
        return hashes
    }

    /// Hash of the word `text[span]` (lowercased), equal to `wordHashes`' entry for it.
    public static func wordHash(_ text: UnsafeBufferPointer<UInt8>, _ span: Range<Int>) -> UInt64 {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for i in span { h = (h ^ UInt64(lower(text[i]))) &* 0x0000_0100_0000_01B3 }
        return SplitMix64.mix(h)
    }

    /// Hashes of every run of `n` consecutive words (a text with fewer words gives one hash of all
    /// of them, and an empty text none). Order-sensitive: `a b` and `b a` differ.
    public static func ngramHashes(_ words: [UInt64], n: Int) -> [UInt64] {
        if words.isEmpty { return [] }
        if words.count < n { return [combine(words[...])] }
        return (0...(words.count - n)).map { combine(words[$0..<$0 + n]) }
    }

    /// One hash for a sequence of word hashes; different `seed`s give independent hashes.
    @inline(__always)
    public static func combine(_ words: ArraySlice<UInt64>, seed: UInt64 = 0x9E37_79B9_7F4A_7C15) -> UInt64 {
        var h = seed
        for w in words { h = SplitMix64.mix(h ^ w) &+ 0x632B_E59B_D9B4_E019 }
        return SplitMix64.mix(h ^ UInt64(words.count))
    }

    @inline(__always)
    static func isWordByte(_ b: UInt8) -> Bool {
        b >= 0x80 || (b >= 48 && b <= 57) || ((b | 0x20) >= 97 && (b | 0x20) <= 122)
    }

    @inline(__always)
    static func lower(_ b: UInt8) -> UInt8 { (b >= 65 && b <= 90) ? b | 0x20 : b }
}
