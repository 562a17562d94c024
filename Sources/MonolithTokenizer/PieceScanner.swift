/// A pre-tokenizer as the encoder drives it: it walks `base[start..<end]` and returns the end of
/// each piece in turn; BPE never merges across the pieces.
///
/// One type per pattern (``GPT2PreTokenizer``, ``DigitsThenGPT2PreTokenizer``,
/// ``Llama3PreTokenizer``), each a hand-written scanner equal to its regular expression. The
/// encoder is generic over this protocol and specialised per type, so the GPT-2 loop compiles to
/// what it was before other patterns existed.
protocol PieceScanner {
    /// A scanner over `base[start..<end]`, valid UTF-8 that does not end inside a scalar.
    init(_ base: UnsafePointer<UInt8>, from start: Int, to end: Int)
    /// The end of the next piece (which starts where the previous one ended), or nil at the end.
    mutating func next() -> Int?
}

/// Decoding and classifying scalars for the scanners.
extension CharacterClass {
    /// The scalar value and byte length of the non-ASCII scalar at `base[i]`.
    @inline(__always)
    static func decode(_ base: UnsafePointer<UInt8>, _ i: Int) -> (UInt32, Int) {
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

    /// The class and byte length of the scalar at `base[i]`.
    @inline(__always)
    static func classify(_ base: UnsafePointer<UInt8>, _ i: Int) -> (UInt8, Int) {
        let b = base[i]
        if b < 0x80 { return (ascii[Int(b)], 1) }
        let (v, n) = decode(base, i)
        return (of(v), n)
    }
}
