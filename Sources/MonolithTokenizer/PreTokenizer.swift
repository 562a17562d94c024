/// GPT-2's pre-tokenizer, written as a scanner over UTF-8 instead of a regular expression.
///
/// It splits text exactly as the pattern
/// `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`
/// does under leftmost-first alternation (tiktoken, Hugging Face), but an order of magnitude
/// faster: ASCII bytes are classified with a 128-entry table and only non-ASCII bytes are decoded
/// to scalars. BPE never merges across the pieces it returns.
///
/// The alternatives, in the order the pattern tries them at each position:
/// 1. the lowercase contractions after an ASCII apostrophe;
/// 2. – 4. an optional single U+0020 followed by a run of letters, of numbers, or of "other"
///    scalars (neither whitespace, letter nor number);
/// 5. a whitespace run that is followed by whitespace or the end: in practice the whole run at
///    the end of the text, else all of it but its last scalar, which the next piece takes
///    (a space then prefixes the following word);
/// 6. a lone whitespace scalar (a run of one followed by non-whitespace).
///
/// The input must be valid UTF-8 (every Swift `String` is) and must not end inside a scalar.
struct GPT2PreTokenizer: PieceScanner {
    let base: UnsafePointer<UInt8>
    let end: Int
    private(set) var position: Int
    private let ascii: UnsafePointer<UInt8>

    init(_ base: UnsafePointer<UInt8>, from start: Int, to end: Int) {
        self.base = base
        self.position = start
        self.end = end
        self.ascii = CharacterClass.ascii
    }

    /// The end of the next piece (which starts at the previous `position`), or nil at the end.
    @inline(__always)
    mutating func next() -> Int? {
        if position >= end { return nil }
        position = pieceEnd(from: position)
        return position
    }

    @inline(__always)
    private func decode(_ i: Int) -> (UInt32, Int) {
        let b0 = UInt32(base[i])
        if b0 < 0xE0 {
            return (((b0 & 0x1F) << 6) | (UInt32(base[i + 1]) & 0x3F), 2)
        }
        if b0 < 0xF0 {
            return (((b0 & 0x0F) << 12) | ((UInt32(base[i + 1]) & 0x3F) << 6) | (UInt32(base[i + 2]) & 0x3F), 3)
        }
        let v = ((b0 & 0x07) << 18) | ((UInt32(base[i + 1]) & 0x3F) << 12)
            | ((UInt32(base[i + 2]) & 0x3F) << 6) | (UInt32(base[i + 3]) & 0x3F)
        return (v, 4)
    }

    /// Class and byte length of the scalar at `i`.
    @inline(__always)
    private func classify(_ i: Int) -> (UInt8, Int) {
        let b = base[i]
        if b < 0x80 { return (ascii[Int(b)], 1) }
        let (v, n) = decode(i)
        return (CharacterClass.of(v), n)
    }

    @inline(__always)
    private func pieceEnd(from i: Int) -> Int {
        let b = base[i]
        let cls: UInt8, len: Int
        if b < 0x80 {
            cls = ascii[Int(b)]
            len = 1
            if b == 0x20 && i + 1 < end {
                // " ?X+" alternatives: the space joins a following non-whitespace run.
                let (next, nextLen) = classify(i + 1)
                if next != CharacterClass.space { return run(of: next, from: i + 1 + nextLen) }
            } else if b == 0x27, let e = contraction(at: i) {
                return e
            }
        } else {
            (cls, len) = classify(i)
        }
        if cls == CharacterClass.space { return whitespace(from: i) }
        return run(of: cls, from: i + len)
    }

    /// Extends a run of scalars of class `target` (letter, number, or 0 for "other").
    @inline(__always)
    private func run(of target: UInt8, from start: Int) -> Int {
        var j = start
        while j < end {
            let b = base[j]
            if b < 0x80 {
                if ascii[Int(b)] != target { return j }
                j += 1
            } else {
                let (v, n) = decode(j)
                if CharacterClass.of(v) != target { return j }
                j += n
            }
        }
        return j
    }

    private func whitespace(from i: Int) -> Int {
        var j = i, last = i
        while j < end {
            let (c, n) = classify(j)
            if c != CharacterClass.space { break }
            last = j
            j += n
        }
        if j == end { return j }
        // `\s+(?!\S)` backs off one scalar before non-whitespace; a run of one is matched by `\s+`.
        return last > i ? last : j
    }

    private func contraction(at i: Int) -> Int? {
        guard i + 1 < end else { return nil }
        switch base[i + 1] {
        case UInt8(ascii: "s"), UInt8(ascii: "t"), UInt8(ascii: "m"), UInt8(ascii: "d"):
            return i + 2
        case UInt8(ascii: "r"), UInt8(ascii: "v"):
            return i + 2 < end && base[i + 2] == UInt8(ascii: "e") ? i + 3 : nil
        case UInt8(ascii: "l"):
            return i + 2 < end && base[i + 2] == UInt8(ascii: "l") ? i + 3 : nil
        default:
            return nil
        }
    }
}
