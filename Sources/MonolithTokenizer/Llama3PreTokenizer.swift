/// Llama 3's pre-tokenizer (`tokenizer.ggml.pre` = `llama-bpe`, `llama3`, `llama-v3`), written as
/// a scanner over UTF-8 like ``GPT2PreTokenizer``.
///
/// It splits text exactly as the pattern of Meta's `tokenizer.json` (Hugging Face's `Split`, with
/// Oniguruma) does:
///
///     (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
///
/// At each position the first alternative that matches wins:
/// 1. a contraction after an ASCII apostrophe, in any case. Case folding also makes `'ſ` (long s,
///    U+017F) a contraction, as Hugging Face's regex engine does; llama.cpp's rewrite of the
///    pattern (`'[sS]`) does not, so the two differ on that one scalar;
/// 2. a run of letters, with one scalar before it that is neither CR, LF, a letter nor a number
///    (a space, a tab, punctuation: `" word"`, `"\tword"`, `".word"`);
/// 3. one to three numbers (`12345` is `123`, `45`);
/// 4. an optional space, a run of "other" scalars (neither whitespace, letter nor number), and
///    the CRs and LFs right after it;
/// 5. a whitespace run up to and including its last CR or LF (`\s*[\r\n]+` backtracks to it);
/// 6. a whitespace run without CR/LF: all of it at the end of the text, else all but its last
///    scalar (`\s+(?!\S)`), or the single scalar when the run has one (`\s+`).
struct Llama3PreTokenizer: PieceScanner {
    private let base: UnsafePointer<UInt8>
    private let end: Int
    private var position: Int

    init(_ base: UnsafePointer<UInt8>, from start: Int, to end: Int) {
        self.base = base
        self.end = end
        position = start
    }

    mutating func next() -> Int? {
        if position >= end { return nil }
        position = pieceEnd(from: position)
        return position
    }

    private static let letter = CharacterClass.letter, number = CharacterClass.number, space = CharacterClass.space
    private static let other: UInt8 = 0

    @inline(__always)
    private func isNewline(_ i: Int) -> Bool { base[i] == 0x0A || base[i] == 0x0D }

    private func pieceEnd(from i: Int) -> Int {
        if base[i] == 0x27, let e = contraction(at: i) { return e }
        let (cls, n) = CharacterClass.classify(base, i)
        if cls == Self.letter { return run(of: Self.letter, from: i + n) }
        if cls != Self.number && !isNewline(i) && i + n < end {
            let (next, m) = CharacterClass.classify(base, i + n)
            if next == Self.letter { return run(of: Self.letter, from: i + n + m) }
        }
        if cls == Self.number {
            var j = i + n, count = 1
            while count < 3 && j < end {
                let (c, m) = CharacterClass.classify(base, j)
                if c != Self.number { break }
                j += m
                count += 1
            }
            return j
        }
        var start = -1
        if cls == Self.other {
            start = i + n
        } else if base[i] == 0x20 && i + 1 < end {
            let (next, m) = CharacterClass.classify(base, i + 1)
            if next == Self.other { start = i + 1 + m }
        }
        if start >= 0 {
            var j = run(of: Self.other, from: start)
            while j < end && isNewline(j) { j += 1 }
            return j
        }
        return whitespace(from: i)
    }

    /// Extends a run of scalars of class `target`.
    private func run(of target: UInt8, from start: Int) -> Int {
        var j = start
        while j < end {
            let (c, m) = CharacterClass.classify(base, j)
            if c != target { return j }
            j += m
        }
        return j
    }

    /// Alternatives 5 to 7 at the whitespace scalar `i`.
    private func whitespace(from i: Int) -> Int {
        var j = i, last = i, lastNewline = -1
        while j < end {
            let (c, m) = CharacterClass.classify(base, j)
            if c != Self.space { break }
            if isNewline(j) { lastNewline = j }
            last = j
            j += m
        }
        if lastNewline >= 0 { return lastNewline + 1 }
        if j == end { return j }
        return last > i ? last : j
    }

    /// The end of a contraction at the apostrophe `i`, matched case-insensitively.
    private func contraction(at i: Int) -> Int? {
        guard let (c1, n1) = foldedLetter(at: i + 1) else { return nil }
        let after = i + 1 + n1
        switch c1 {
        case UInt8(ascii: "s"), UInt8(ascii: "t"), UInt8(ascii: "m"), UInt8(ascii: "d"):
            return after
        case UInt8(ascii: "r"), UInt8(ascii: "v"):
            if let (c2, n2) = foldedLetter(at: after), c2 == UInt8(ascii: "e") { return after + n2 }
            return nil
        case UInt8(ascii: "l"):
            if let (c2, n2) = foldedLetter(at: after), c2 == UInt8(ascii: "l") { return after + n2 }
            return nil
        default:
            return nil
        }
    }

    /// The lowercase ASCII letter the scalar at `j` folds to, and its byte length: ASCII letters,
    /// and `ſ` (U+017F, bytes C5 BF), whose simple case folding is `s`.
    private func foldedLetter(at j: Int) -> (UInt8, Int)? {
        guard j < end else { return nil }
        let b = base[j]
        if b >= UInt8(ascii: "A") && b <= UInt8(ascii: "Z") { return (b | 0x20, 1) }
        if b >= UInt8(ascii: "a") && b <= UInt8(ascii: "z") { return (b, 1) }
        if b == 0xC5 && j + 1 < end && base[j + 1] == 0xBF { return (UInt8(ascii: "s"), 2) }
        return nil
    }
}
