/// The three character classes GPT-2's pre-tokenizer pattern distinguishes, as bit flags.
///
/// `\p{L}` is general category L*, `\p{N}` is N*, `\s` is the White_Space property, exactly as
/// the Rust `regex` crate that tiktoken uses defines them. "Other" (class 0) is everything else.
enum CharacterClass {
    static let letter: UInt8 = 1
    static let number: UInt8 = 2
    static let space: UInt8 = 4

    /// Classes of the 128 ASCII bytes, read on every byte of the fast path.
    nonisolated(unsafe) static let ascii: UnsafePointer<UInt8> = {
        let p = UnsafeMutablePointer<UInt8>.allocate(capacity: 128)
        for b in 0..<128 { p[b] = compute(UInt32(b)) }
        return UnsafePointer(p)
    }()

    /// Classes of the Basic Multilingual Plane. Built on first use (about 5 ms) because the
    /// stdlib's property lookups cost tens of nanoseconds each, too much per scalar of CJK text.
    nonisolated(unsafe) static let bmp: UnsafePointer<UInt8> = {
        let p = UnsafeMutablePointer<UInt8>.allocate(capacity: 0x10000)
        for v in 0..<0x10000 { p[v] = compute(UInt32(v)) }
        return UnsafePointer(p)
    }()

    @inline(__always)
    static func of(_ scalar: UInt32) -> UInt8 {
        if scalar < 0x10000 { return bmp[Int(scalar)] }
        return compute(scalar)
    }

    static func compute(_ value: UInt32) -> UInt8 {
        guard let scalar = Unicode.Scalar(value) else { return 0 }
        let p = scalar.properties
        var c: UInt8 = 0
        switch p.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter:
            c = letter
        case .decimalNumber, .letterNumber, .otherNumber:
            c = number
        default:
            break
        }
        if p.isWhitespace { c |= space }
        return c
    }
}
